"""A model that breaks after it was accepted is dropped by the next ingest (issue 13).

The model files are edited on disk between two sessions of the library, as a model
registered by an older version, or changed since, would be.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hostile_models import tiny_graph, with_bad_output, with_custom_op, write_raw

from sscq_desktop.library.library import Library
from sscq_desktop.library.progress import run_job
from sscq_desktop.model.artifact import ArtifactError, ModelArtifact
from sscq_desktop.model.encoder import ModelOutputError


@pytest.fixture
def switching(
    open_library: Callable[..., Library],
    tiny_artifact: ModelArtifact,
    tiny_artifact_factory: Callable[..., ModelArtifact],
    make_photo: Callable[..., Path],
    tmp_path: Path,
) -> Library:
    """A library indexed with the tiny model, half-way through a switch to tiny-b."""
    lib = open_library(tiny_artifact)
    for i in range(6):
        make_photo(tmp_path / "photos" / f"p{i}.jpg", seed=i)
    lib.add_folder(tmp_path / "photos")
    run_job(lib.update())
    other = tiny_artifact_factory(model_id="tiny-b", seed=4, filename="b.onnx")
    lib.import_model(other.path)
    assert lib.switch_model("tiny-b") is False
    lib.close()
    return lib


def test_a_pending_model_that_no_longer_loads_is_dropped_and_the_old_one_stays(
    switching: Library,
    open_library: Callable[..., Library],
    tiny_artifact: ModelArtifact,
) -> None:
    registered = switching.paths.models_dir / "tiny-b.onnx"
    graph, meta = tiny_graph(model_id="tiny-b")
    write_raw(with_custom_op(graph), meta, registered)
    lib = open_library()

    with pytest.raises(ArtifactError, match="the switch to it is cancelled"):
        run_job(lib.ingest())
    assert lib.pending_model_id is None
    assert lib.active_model_id == tiny_artifact.model_id
    run_job(lib.ingest())  # the library works again without a guess


def test_an_active_model_that_breaks_gives_way_to_the_pending_one(
    switching: Library,
    open_library: Callable[..., Library],
    tiny_artifact: ModelArtifact,
    tmp_path: Path,
    make_photo: Callable[..., Path],
) -> None:
    """Invalid output from the active model must not block the switch away from it."""
    registered = switching.paths.models_dir / f"{tiny_artifact.model_id}.onnx"
    graph, meta = tiny_graph()
    proto = with_bad_output(graph, "codes", only_on_photos=True)
    write_raw(proto, meta, registered)
    # A new photo: it lacks codes of the active model, which now breaks on photos.
    make_photo(tmp_path / "photos" / "new.jpg", seed=99)
    lib = open_library()
    run_job(lib.update())

    assert lib.active_model_id == "tiny-b" and lib.pending_model_id is None
    assert lib.stats().encoded["tiny-b"] == 7
    assert lib.stats().encoded[tiny_artifact.model_id] == 6  # none stored for new.jpg
    with pytest.raises(ModelOutputError, match="the switch to it is cancelled"):
        lib.switch_model(tiny_artifact.model_id)
        run_job(lib.ingest())
