"""What a person reads of a model: `ModelRecord.display_name`, never its id."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sscq_desktop.library.records import ModelRecord, ModelSource
from sscq_desktop.ui.settings_dialog import model_labels


def record(source: ModelSource, registered_at: str, *, M: int = 8) -> ModelRecord:
    return ModelRecord(
        model_id=f"{source}-{registered_at}",
        path=Path("m.onnx"),
        source=source,
        registered_at=registered_at,
        M=M,
        K=16,
        L=16,
    )


def test_display_names_say_what_the_model_is_when_and_how_long_its_codes_are() -> None:
    noon = datetime(2026, 11, 30, 12, 0, tzinfo=UTC).isoformat()
    local = datetime(2026, 11, 30, 12, 0, tzinfo=UTC).astimezone()
    on = f"{local.day} {local:%b %Y}"
    assert record("default", noon).display_name == "Built-in model, 32 bits"
    assert (
        record("trained", noon, M=4).display_name
        == f"Trained on your photos - {on}, 16 bits"
    )
    assert (
        record("imported", noon, M=16).display_name == f"Imported model - {on}, 64 bits"
    )
    assert (
        record("trained", "not a time").display_name
        == "Trained on your photos, 32 bits"
    )


def test_two_models_trained_the_same_day_read_apart_by_their_time() -> None:
    first = record("trained", "2026-11-30T09:15:00+00:00")
    second = record("trained", "2026-11-30T10:40:00+00:00")
    other = record("trained", "2026-11-30T10:40:00+00:00", M=4)
    labels = model_labels([first, second, other])
    assert labels[0] != labels[1] and labels[0].startswith(first.display_name)
    assert labels[2] == other.display_name  # 16 bits: already distinct
