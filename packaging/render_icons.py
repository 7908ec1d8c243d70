"""Render the app icon's PNG sizes (and optionally .ico / .icns) from its SVG.

Usage::

    python packaging/render_icons.py                 # rewrite the committed PNGs
    python packaging/render_icons.py --check         # exit 1 if a PNG is missing or stale
    python packaging/render_icons.py --ico build/icons/sscq-desktop.ico \
        --icns build/icons/sscq-desktop.icns         # Windows / macOS bundle icons

The source is ``resources/icons/hicolor/scalable/apps/<APP_ID>.svg`` (drawn by hand);
the PNGs go to ``resources/icons/hicolor/<N>x<N>/apps/<APP_ID>.png`` for N in `SIZES`.
Rendering uses Qt's SVG renderer (``PySide6.QtSvg``) offscreen, so it needs no display.
``--check`` compares pixels, allowing a small per-channel difference (another Qt version
may antialias a little differently).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage
    from PySide6.QtGui import QGuiApplication, QImage

ROOT = Path(__file__).resolve().parents[1]
APP_ID = "io.github.sscq_desktop.SSCQDesktop"
ICON_DIR = ROOT / "resources" / "icons" / "hicolor"
SVG_PATH = ICON_DIR / "scalable" / "apps" / f"{APP_ID}.svg"
SIZES = (16, 32, 48, 64, 128, 256)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
ICNS_SIZES = (16, 32, 64, 128, 256, 512, 1024)
CHECK_TOLERANCE = 8  # max per-channel difference (0-255) that --check accepts


def png_path(size: int) -> Path:
    """Where the committed PNG of `size` x `size` pixels lives."""
    return ICON_DIR / f"{size}x{size}" / "apps" / f"{APP_ID}.png"


def _qt_app() -> QGuiApplication:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication([sys.argv[0]])
    assert isinstance(app, QGuiApplication)
    return app


def render(svg: Path, size: int) -> QImage:
    """The SVG drawn into a transparent ``size`` x ``size`` ARGB QImage."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"render_icons: cannot parse {svg}")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
    renderer.render(painter)
    painter.end()
    return image.convertToFormat(QImage.Format.Format_ARGB32)


def _to_pillow(image: QImage) -> PILImage:
    """A QImage as a Pillow RGBA image."""
    from PIL import Image
    from PySide6.QtGui import QImage

    rgba = image.convertToFormat(QImage.Format.Format_RGBA8888)
    data = bytes(rgba.constBits())[: rgba.sizeInBytes()]
    return Image.frombuffer(
        "RGBA",
        (rgba.width(), rgba.height()),
        data,
        "raw",
        "RGBA",
        rgba.bytesPerLine(),
        1,
    ).copy()


def write_pngs(svg: Path) -> list[Path]:
    """Render every size in `SIZES` to its committed place; returns the paths."""
    written = []
    for size in SIZES:
        out = png_path(size)
        out.parent.mkdir(parents=True, exist_ok=True)
        # Saved through Pillow (optimised, no timestamps) so reruns give identical files.
        _to_pillow(render(svg, size)).save(out, format="PNG", optimize=True)
        written.append(out)
    return written


def check_pngs(svg: Path) -> list[str]:
    """Problems with the committed PNGs (missing, wrong size, stale); empty when fine."""
    from PIL import Image, ImageChops

    problems = []
    for size in SIZES:
        path = png_path(size)
        if not path.is_file():
            problems.append(f"{path.relative_to(ROOT)}: missing")
            continue
        with Image.open(path) as im:
            committed = im.convert("RGBA")
        if committed.size != (size, size):
            problems.append(f"{path.relative_to(ROOT)}: {committed.size}, not {size}")
            continue
        fresh = _to_pillow(render(svg, size))
        diff = ImageChops.difference(committed, fresh)
        worst = max(
            cast("tuple[int, int]", band.getextrema())[1] for band in diff.split()
        )
        if worst > CHECK_TOLERANCE:
            problems.append(
                f"{path.relative_to(ROOT)}: differs from the SVG by up to {worst}/255; "
                "rerun packaging/render_icons.py"
            )
    return problems


def write_ico(svg: Path, out: Path) -> None:
    """A Windows .ico holding `ICO_SIZES`, each rendered from the SVG."""
    images = [_to_pillow(render(svg, s)) for s in ICO_SIZES]
    out.parent.mkdir(parents=True, exist_ok=True)
    images[-1].save(
        out, format="ICO", sizes=[(s, s) for s in ICO_SIZES], append_images=images[:-1]
    )


def write_icns(svg: Path, out: Path) -> None:
    """A macOS .icns holding `ICNS_SIZES`, each rendered from the SVG."""
    images = [_to_pillow(render(svg, s)) for s in ICNS_SIZES]
    out.parent.mkdir(parents=True, exist_ok=True)
    images[-1].save(out, format="ICNS", append_images=images[:-1])


def main(argv: list[str] | None = None) -> int:
    """Command line; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--svg", type=Path, default=SVG_PATH, help="source SVG")
    parser.add_argument(
        "--check", action="store_true", help="verify the committed PNGs, write nothing"
    )
    parser.add_argument("--ico", type=Path, help="also write a Windows .ico here")
    parser.add_argument("--icns", type=Path, help="also write a macOS .icns here")
    parser.add_argument(
        "--no-png", action="store_true", help="leave the committed PNGs alone"
    )
    args = parser.parse_args(argv)
    _app = _qt_app()  # QSvgRenderer and QPainter need a (headless) Qt application
    if args.check:
        problems = check_pngs(args.svg)
        for line in problems:
            print(f"render_icons: {line}", file=sys.stderr)
        if not problems:
            print(f"render_icons: {len(SIZES)} PNGs match {args.svg.name}")
        return 1 if problems else 0
    if not args.no_png:
        for path in write_pngs(args.svg):
            print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size} bytes)")
    if args.ico is not None:
        write_ico(args.svg, args.ico)
        print(f"wrote {args.ico}")
    if args.icns is not None:
        write_icns(args.svg, args.icns)
        print(f"wrote {args.icns}")
    del _app
    return 0


if __name__ == "__main__":
    sys.exit(main())
