"""Write the README screenshots: the gallery, a results view, near duplicates, retraining.

Usage: python packaging/screenshots.py [--out OUT_DIR]   (default: docs/screenshots)

Runs offscreen against a throwaway app home with generated photos and the shipped default
model (or, in a checkout without it, the tiny test model). Nothing touches the user's files.
"""

from __future__ import annotations

import math
import os
import random
import shutil
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]


def make_photos(folder: Path, n: int, seed: int) -> list[Path]:
    """Colourful generated 'photos': skies, suns, hills; every fifth has a resized copy."""
    from PIL import Image, ImageDraw, ImageFilter

    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        w, h = 640, 480
        sky = [rng.randint(40, 255) for _ in range(3)]
        ground = [rng.randint(20, 200) for _ in range(3)]
        im = Image.new("RGB", (w, h), tuple(sky))
        d = ImageDraw.Draw(im)
        for y in range(h // 2):
            f = y / (h / 2)
            d.line([(0, y), (w, y)], fill=tuple(int(c * (1 - 0.5 * f)) for c in sky))
        cx, cy, r = rng.randint(80, 560), rng.randint(40, 200), rng.randint(25, 70)
        d.ellipse(
            [cx - r, cy - r, cx + r, cy + r], fill=(255, rng.randint(180, 240), 90)
        )
        pts = (
            [(0, h)]
            + [
                (x, int(h * 0.55 + 40 * math.sin(x / rng.randint(40, 120) + i)))
                for x in range(0, w + 20, 20)
            ]
            + [(w, h)]
        )
        d.polygon(pts, fill=tuple(ground))
        im = im.filter(ImageFilter.GaussianBlur(1.2))
        path = folder / f"IMG_{seed:02d}{i:03d}.jpg"
        im.save(path, quality=88)
        out.append(path)
        if i % 5 == 0:
            im.resize((320, 240)).save(
                folder / f"IMG_{seed:02d}{i:03d}_small.jpg", quality=85
            )
    return out


def parse_out_dir(args: list[str]) -> Path:
    """The folder the screenshots go to, from ``--out DIR`` (or a bare ``DIR``)."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="screenshots.py",
        description="Write the README screenshots (offscreen, generated photos).",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder for main_window.png, results.png, duplicates.png and retrain_dialog.png "
        "(default: docs/screenshots)",
    )
    parser.add_argument("out_dir", nargs="?", type=Path, help=argparse.SUPPRESS)
    ns = parser.parse_args(args)
    out: Path | None = ns.out or ns.out_dir
    return out if out is not None else ROOT / "docs" / "screenshots"


def main(argv: list[str]) -> int:
    """Write the three screenshots to ``--out`` (or docs/screenshots); print their paths."""
    out_dir = parse_out_dir(argv[1:])
    out_dir.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="sscq-shots-"))
    os.environ["SSCQ_DESKTOP_HOME"] = str(home / "home")
    sys.path.insert(0, str(ROOT))

    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from sscq_desktop.library.library import Library
    from sscq_desktop.library.progress import Progress
    from sscq_desktop.model.trainer_events import StartEvent, StepEvent
    from sscq_desktop.paths import app_paths, default_model_path
    from sscq_desktop.ui.main_window import MainWindow
    from sscq_desktop.ui.retrain_dialog import RetrainDialog
    from sscq_desktop.ui.settings import AppSettings
    from sscq_desktop.ui.tasks import TaskRunner

    _app = QApplication(argv[:1])  # kept alive for the whole run
    paths = app_paths().ensure()
    library = Library(paths)
    if library.active_model_id is None:
        sys.path.append(str(ROOT / "tests"))
        from tiny_model import make_tiny_artifact

        size = 64 if not default_model_path().is_file() else 32
        tiny = make_tiny_artifact(
            home / "demo-model.onnx", model_id="demo-default", size=size
        )
        model = library.import_model(tiny.path)
        library.switch_model(model.model_id)  # nothing indexed yet: done at once
    holidays = home / "Pictures" / "Holidays"
    garden = home / "Pictures" / "Garden"
    make_photos(holidays, 40, seed=1)
    make_photos(garden, 24, seed=2)

    def settle(ms: int = 300) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    def wait(predicate: object, timeout_s: float = 60) -> None:
        for _ in range(int(timeout_s * 20)):
            if predicate():  # type: ignore[operator]
                return
            settle(50)
        raise TimeoutError("the window did not get there in time")

    runner = TaskRunner()
    window = MainWindow(
        library, runner, AppSettings(first_run_done=True, thumbnail_size=128)
    )
    window.resize(1280, 820)
    window.show()
    finished: list[bool] = []
    window.ingest_did_finish.connect(lambda: finished.append(True))
    window.add_folder(holidays)
    wait(lambda: finished)
    finished.clear()
    window.add_folder(garden)
    wait(lambda: finished)
    wait(lambda: runner.active_count == 0)
    settle(1500)  # thumbnails
    window.grab().save(str(out_dir / "main_window.png"))

    ready: list[bool] = []
    window.results_panel.results_ready.connect(lambda _: ready.append(True))
    window.find_similar(
        next(p for p in window.gallery_model.photos if p.path.name == "IMG_01010.jpg")
    )
    wait(lambda: ready)
    settle(1500)
    window.grab().save(str(out_dir / "results.png"))

    groups: list[bool] = []
    window.duplicates_view.groups_ready.connect(lambda _: groups.append(True))
    window.show_duplicates()
    wait(lambda: groups)
    settle(1500)
    window.grab().save(str(out_dir / "duplicates.png"))

    dialog = RetrainDialog(
        library, runner, photo_count=window.gallery_model.rowCount(), parent=window
    )
    dialog.resize(640, 560)
    dialog.show()
    dialog._set_running(True)
    total = 1200
    start = StartEvent(total_steps=total, config={"optim": {"batch_size": 128}})
    dialog._on_task_progress(Progress("retrain", 0, total, event=start))
    for step in range(1, 540, 10):
        loss = 3.2 * math.exp(-step / 180) + 0.9 + 0.05 * math.sin(step / 7)
        event = StepEvent(
            step=step,
            total_steps=total,
            losses={"total": loss, "ic_z": loss * 0.45, "cc": loss * 0.3},
            eta_s=(total - step) * 0.42,
            images_per_s=310.0,
            codeword_usage=[0.94, 0.88, 0.97, 0.91],
        )
        dialog._on_task_progress(Progress("retrain", step, total, event=event))
    settle(300)
    dialog.grab().save(str(out_dir / "retrain_dialog.png"))
    dialog._set_running(False)
    dialog.close()
    window.close()
    library.close()
    shutil.rmtree(home, ignore_errors=True)
    for name in (
        "main_window.png",
        "results.png",
        "duplicates.png",
        "retrain_dialog.png",
    ):
        print(out_dir / name)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
