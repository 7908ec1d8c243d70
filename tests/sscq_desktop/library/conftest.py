"""Fixtures for library tests: generated photos, a counting encoder, an open Library."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from library_testkit import Counter, grid_image

from sscq_desktop.library.ingest.ingest import IngestOptions
from sscq_desktop.library.library import Library
from sscq_desktop.model.artifact import ModelArtifact
from sscq_desktop.paths import app_paths


@pytest.fixture
def make_photo() -> Callable[..., Path]:
    """Write a generated photo: make_photo(path, seed, size=(96, 64), **save_kwargs)."""

    def make(
        path: Path, seed: int, size: tuple[int, int] = (96, 64), **kw: Any
    ) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        img = grid_image(seed, size)
        if path.suffix.lower() in (".jpg", ".jpeg"):
            kw.setdefault("quality", 95)
        img.save(path, **kw)
        return path

    return make


@pytest.fixture
def counter() -> Counter:
    return Counter()


@pytest.fixture
def open_library(counter: Counter) -> Iterator[Callable[..., Library]]:
    """Open Libraries on the test's app home; all are closed at the end."""
    opened: list[Library] = []

    def make(artifact: ModelArtifact | None = None, **options: Any) -> Library:
        opts = IngestOptions(**{"workers": 2, "batch_size": 8, **options})
        lib = Library(app_paths(), encoder_factory=counter.factory, ingest_options=opts)
        if artifact is not None:
            lib.import_model(artifact.path)
            lib.switch_model(artifact.model_id)
        opened.append(lib)
        return lib

    yield make
    for lib in opened:
        lib.close()


@pytest.fixture
def library(
    open_library: Callable[..., Library], tiny_artifact: ModelArtifact
) -> Library:
    return open_library(tiny_artifact)


@pytest.fixture
def watching(library: Library) -> Iterator[Callable[..., None]]:
    """Start `library.watch` in a thread: watching(**options); stopped at the end."""
    threads: list[tuple[threading.Thread, threading.Event]] = []
    errors: list[BaseException] = []

    def start(**options: object) -> None:
        cancel, watching = threading.Event(), threading.Event()

        def run() -> None:
            try:
                for progress in library.watch(cancel=cancel, **options):  # type: ignore[arg-type]
                    if progress.phase == "watch":
                        watching.set()
            except BaseException as exc:  # surfaced by the fixture
                errors.append(exc)
                watching.set()

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        threads.append((thread, cancel))
        assert watching.wait(timeout=20)

    yield start
    for thread, cancel in threads:
        cancel.set()
        thread.join(timeout=10)
        assert not thread.is_alive()
    assert not errors, errors
