"""Shared fixtures: offscreen Qt, an isolated app home, --runslow, a tiny generated model."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# Before anything imports Qt: tests never need a display.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from tiny_model import make_tiny_artifact

from sscq_desktop.model.artifact import ModelArtifact


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--runslow",
        action="store_true",
        default=False,
        help="also run tests marked slow",
    )


def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    run_slow = config.getoption("--runslow")
    skip_slow = pytest.mark.skip(reason="slow: run with --runslow")
    for item in items:
        if "qtbot" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.gui)
        if "slow" in item.keywords and not run_slow:
            item.add_marker(skip_slow)


@pytest.fixture(autouse=True)
def app_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """Every test gets its own SSCQ_DESKTOP_HOME: nothing touches the user's real folders."""
    home = tmp_path_factory.mktemp("sscq_home")
    monkeypatch.setenv("SSCQ_DESKTOP_HOME", str(home))
    # Tests choose their model; `shipped_default_model` opts in to the real one.
    monkeypatch.setenv(
        "SSCQ_DESKTOP_DEFAULT_MODEL", str(home / "no-default-model.onnx")
    )
    yield home


DECODER_TRAPS = Path(__file__).parent / "decoder_traps"


@pytest.fixture
def decoder_traps(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Arm `decoder_traps/sitecustomize.py` in every Python process started from now on.

    Decoder workers (``spawn``) and child processes then abort on ``crash.jpg`` and hang
    on ``hang.jpg``. Returns the environment, for `subprocess` calls.
    """
    import sys

    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(DECODER_TRAPS), *sys.path]))
    monkeypatch.setenv("SSCQ_TEST_DECODER_TRAPS", "1")
    return dict(os.environ)


@pytest.fixture
def shipped_default_model(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Use the default model shipped in resources/ (the one users get)."""
    monkeypatch.delenv("SSCQ_DESKTOP_DEFAULT_MODEL")
    from sscq_desktop.paths import default_model_path

    path = default_model_path()
    assert path.is_file(), f"the shipped default model is missing: {path}"
    return path


@pytest.fixture
def tiny_artifact_factory(tmp_path: Path) -> Callable[..., ModelArtifact]:
    """Build tiny ONNX model artifacts (pure ONNX graph, no torch) on demand."""

    def make(**kwargs: object) -> ModelArtifact:
        name = str(kwargs.pop("filename", "tiny.onnx"))
        return make_tiny_artifact(tmp_path / name, **kwargs)  # type: ignore[arg-type]

    return make


@pytest.fixture
def tiny_artifact(tiny_artifact_factory: Callable[..., ModelArtifact]) -> ModelArtifact:
    """A 32-bit (M=8, K=16, L=4) tiny model with a 32 x 32 input."""
    return tiny_artifact_factory()
