"""Packaging: the wheel's contents and entry points, the desktop file, AppStream, icons.

The wheel is built once per module from a copy of the checkout (``pip wheel --no-deps
--no-build-isolation``: offline, a few seconds) and inspected with zipfile. The default
model is checked in the wheel when ``resources/default_model.onnx`` exists; before it
does, the test checks that the package-data patterns would ship it, and says so.
The bundle itself (PyInstaller) is built by ``packaging/build_bundle.sh`` and checked by
``packaging/smoke_test_bundle.sh``, not here: it takes minutes.
"""

from __future__ import annotations

import configparser
import fnmatch
import io
import os
import re
import shutil
import subprocess
import sys
import tomllib
import warnings
import xml.etree.ElementTree as ET
import zipfile
from datetime import date
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RESOURCES = ROOT / "resources"
APP_ID = "io.github.sscq_desktop.SSCQDesktop"
RESOURCE_PACKAGE = "sscq_desktop_resources"
DESKTOP_FILE = RESOURCES / f"{APP_ID}.desktop"
METAINFO_FILE = RESOURCES / f"{APP_ID}.metainfo.xml"
ICON_SIZES = (16, 32, 48, 64, 128, 256)
SVG_ICON = f"icons/hicolor/scalable/apps/{APP_ID}.svg"
DEFAULT_MODEL = "default_model.onnx"
DEFAULT_CHECKPOINT = "default_model.pt"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SHELL_SCRIPTS = (
    "packaging/build_bundle.sh",
    "packaging/smoke_test_bundle.sh",
    "packaging/linux/install-desktop-entry.sh",
)


def _png_icon(size: int) -> str:
    return f"icons/hicolor/{size}x{size}/apps/{APP_ID}.png"


def _build_source_copy(dest: Path) -> Path:
    """What an sdist would hold: pyproject, README and the package folders."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    dest.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, dest / name)
    for name in ("sscq_desktop", "training", "resources"):
        shutil.copytree(ROOT / name, dest / name, ignore=ignore)
    return dest


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    tmp = tmp_path_factory.mktemp("wheel")
    src = _build_source_copy(tmp / "src")
    out = tmp / "dist"
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(src), "--no-deps"]
        + ["--no-build-isolation", "-q", "-w", str(out)],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    wheels = list(out.glob("sscq_desktop-*.whl"))
    assert len(wheels) == 1, wheels
    with zipfile.ZipFile(wheels[0]) as archive:
        data = io.BytesIO(wheels[0].read_bytes())
        assert archive.testzip() is None
    return zipfile.ZipFile(data)


def _dist_info_file(wheel: zipfile.ZipFile, name: str) -> str:
    matches = [
        n for n in wheel.namelist() if re.fullmatch(rf"[^/]+\.dist-info/{name}", n)
    ]
    assert len(matches) == 1, matches
    return wheel.read(matches[0]).decode("utf-8")


# --- the wheel -------------------------------------------------------------------------


def test_wheel_ships_the_resources_icons_and_py_typed(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    expected = {
        "sscq_desktop/py.typed",
        f"{RESOURCE_PACKAGE}/__init__.py",
        f"{RESOURCE_PACKAGE}/{APP_ID}.desktop",
        f"{RESOURCE_PACKAGE}/{APP_ID}.metainfo.xml",
        f"{RESOURCE_PACKAGE}/{SVG_ICON}",
        *(f"{RESOURCE_PACKAGE}/{_png_icon(s)}" for s in ICON_SIZES),
    }
    assert expected <= names, sorted(expected - names)
    # Shipped bytes are the checkout's bytes.
    for name in expected - {"sscq_desktop/py.typed"}:
        rel = name.removeprefix(f"{RESOURCE_PACKAGE}/")
        assert wheel.read(name) == (RESOURCES / rel).read_bytes(), name


def test_wheel_ships_the_default_model_when_the_checkout_has_it(
    wheel: zipfile.ZipFile,
) -> None:
    patterns = PYPROJECT["tool"]["setuptools"]["package-data"][RESOURCE_PACKAGE]
    # Whether or not the file exists yet, the package data must cover it.
    for filename in (DEFAULT_MODEL, DEFAULT_CHECKPOINT):
        assert any(fnmatch.fnmatch(filename, p) for p in patterns), (filename, patterns)
    names = set(wheel.namelist())
    for filename in (DEFAULT_MODEL, DEFAULT_CHECKPOINT):
        in_checkout = (RESOURCES / filename).is_file()
        in_wheel = f"{RESOURCE_PACKAGE}/{filename}" in names
        assert in_wheel == in_checkout, (filename, in_checkout, in_wheel)
        if not in_checkout:
            warnings.warn(
                f"resources/{filename} does not exist yet: checked only that the "
                f"package-data patterns {patterns} cover it",
                UserWarning,
                stacklevel=1,
            )


def test_wheel_declares_both_entry_points(wheel: zipfile.ZipFile) -> None:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(_dist_info_file(wheel, "entry_points.txt"))
    assert parser["console_scripts"]["sscq-desktop"] == "sscq_desktop.cli:main"
    assert parser["gui_scripts"]["sscq-desktop-gui"] == "sscq_desktop.app:main"
    assert "sscq-desktop-gui" not in parser["console_scripts"]


def test_wheel_holds_every_listed_package_and_no_clutter(
    wheel: zipfile.ZipFile,
) -> None:
    names = wheel.namelist()
    for package in PYPROJECT["tool"]["setuptools"]["packages"]:
        assert f"{package.replace('.', '/')}/__init__.py" in names, package
    clutter = [
        n for n in names if "__pycache__" in n or n.startswith(("tests/", "packaging/"))
    ]
    assert clutter == []
    metadata = _dist_info_file(wheel, "METADATA")
    assert f"Version: {PYPROJECT['project']['version']}" in metadata


# --- the desktop file ------------------------------------------------------------------


def _desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(DESKTOP_FILE, encoding="utf-8")
    return parser["Desktop Entry"]


def test_desktop_file_launches_the_gui_on_images() -> None:
    entry = _desktop_entry()
    assert entry["Type"] == "Application"
    assert entry["Name"] == "SSCQ Desktop"
    assert entry["Exec"] == "sscq-desktop-gui %F"
    assert entry["Exec"].split()[0] in PYPROJECT["project"]["gui-scripts"]
    assert entry["Icon"] == APP_ID
    assert "image/*" in entry["MimeType"].split(";")
    assert entry["Categories"] == "Graphics;Photography;Viewer;"
    assert entry["Terminal"] == "false"


@pytest.mark.skipif(
    shutil.which("desktop-file-validate") is None,
    reason="desktop-file-validate (desktop-file-utils) is not installed",
)
def test_desktop_file_passes_desktop_file_validate() -> None:
    done = subprocess.run(
        ["desktop-file-validate", str(DESKTOP_FILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and not done.stdout.strip(), done.stdout + done.stderr


# --- AppStream -------------------------------------------------------------------------


def _text(root: ET.Element, path: str) -> str:
    node = root.find(path)
    assert node is not None and node.text and node.text.strip(), path
    return node.text.strip()


def test_metainfo_has_the_required_structure() -> None:
    root = ET.parse(METAINFO_FILE).getroot()
    assert root.tag == "component"
    assert root.get("type") == "desktop-application"
    assert _text(root, "id") == APP_ID
    assert _text(root, "metadata_license") in {"CC0-1.0", "FSFAP", "MIT", "CC-BY-3.0"}
    assert _text(root, "project_license") == PYPROJECT["project"]["license"]["text"]
    assert _text(root, "name") == _desktop_entry()["Name"]
    summary = _text(root, "summary")
    assert len(summary) <= 100 and not summary.endswith(".")
    description = root.find("description")
    assert description is not None and description.findall("p"), "description <p>"
    launchable = root.find("launchable")
    assert launchable is not None and launchable.get("type") == "desktop-id"
    assert launchable.text == DESKTOP_FILE.name
    binaries = {b.text for b in root.findall("provides/binary")}
    scripts = (
        PYPROJECT["project"]["scripts"].keys()
        | PYPROJECT["project"]["gui-scripts"].keys()
    )
    assert binaries == scripts == {"sscq-desktop", "sscq-desktop-gui"}
    rating = root.find("content_rating")
    assert rating is not None and rating.get("type", "").startswith("oars-")
    releases = root.findall("releases/release")
    assert releases, "at least one <release>"
    newest = releases[0]
    assert newest.get("version") == PYPROJECT["project"]["version"]
    date.fromisoformat(newest.get("date", ""))
    for screenshot in root.findall("screenshots/screenshot"):  # optional
        image = screenshot.find("image")
        assert image is not None and (image.text or "").startswith("https://")


@pytest.mark.skipif(
    shutil.which("appstreamcli") is None, reason="appstreamcli is not installed"
)
def test_metainfo_passes_appstreamcli_validate() -> None:
    done = subprocess.run(
        ["appstreamcli", "validate", "--no-net", str(METAINFO_FILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


# --- icons -----------------------------------------------------------------------------


def test_icons_exist_at_every_size_with_transparent_corners() -> None:
    from PIL import Image

    svg = ET.parse(RESOURCES / SVG_ICON).getroot()
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    assert svg.get("viewBox") == "0 0 256 256"
    for size in ICON_SIZES:
        with Image.open(RESOURCES / _png_icon(size)) as im:
            assert im.format == "PNG" and im.size == (size, size), size
            alpha = im.convert("RGBA").getchannel("A")
            assert alpha.getpixel((0, 0)) == 0, f"{size}: opaque corner"
            assert alpha.getpixel((size // 2, size // 2)) == 255, f"{size}: hole"


def test_icon_pngs_match_the_svg() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "packaging" / "render_icons.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


# --- scripts ---------------------------------------------------------------------------


@pytest.mark.parametrize("script", SHELL_SCRIPTS)
def test_shell_scripts_are_executable_and_parse(script: str) -> None:
    path = ROOT / script
    assert os.access(path, os.X_OK), f"{script} is not executable"
    done = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_bundle_spec_leaves_torch_and_the_trainer_out() -> None:
    spec = (ROOT / "packaging" / "sscq-desktop.spec").read_text(encoding="utf-8")
    excludes = re.search(r"EXCLUDES = \[(.*?)\]", spec, re.S)
    assert excludes is not None
    for module in ("torch", "training", "kornia"):
        assert f'"{module}"' in excludes.group(1), module
    for exe in ('name="sscq-desktop"', 'name="sscq-desktop-gui"'):
        assert exe in spec


def test_install_desktop_entry_installs_and_uninstalls(tmp_path: Path) -> None:
    data = tmp_path / "share"
    script = ROOT / "packaging" / "linux" / "install-desktop-entry.sh"
    env = {**os.environ, "XDG_DATA_HOME": str(data), "HOME": str(tmp_path)}
    exe = "/opt/SSCQ Desktop/sscq-desktop-gui"
    done = subprocess.run(
        ["bash", str(script), "--exec", exe],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    installed = [
        data / "applications" / DESKTOP_FILE.name,
        data / "metainfo" / METAINFO_FILE.name,
        data / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg",
        *(
            data / "icons" / "hicolor" / f"{s}x{s}" / "apps" / f"{APP_ID}.png"
            for s in ICON_SIZES
        ),
    ]
    for path in installed:
        assert path.is_file(), path
    desktop = installed[0].read_text(encoding="utf-8")
    assert f'Exec="{exe}" %F' in desktop.splitlines()
    assert f"TryExec={exe}" in desktop.splitlines()
    done = subprocess.run(
        ["bash", str(script), "--uninstall"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert not any(path.exists() for path in installed)
