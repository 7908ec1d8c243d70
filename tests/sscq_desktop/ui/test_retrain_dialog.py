"""The retrain dialog over the real library, with `fake_trainer.py` as the trainer.

The library's own check decides (on photos held out of training); a library of 110
photos is checked, one of 10 is too small to be. Which model wins is set up for real:
a collapsed model in use loses to a working one; a copy of the model in use is not
better.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from conftest import (
    age,
    fake_trainer,
    index_directly,
    index_folders,
    write_grid_photo,
)
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from sscq_desktop.library.library import Library
from sscq_desktop.library.records import ModelRecord
from sscq_desktop.library.retrain.model_check import ModelCheck
from sscq_desktop.library.retrain.retrainer import RetrainOutcome
from sscq_desktop.model.artifact import ModelArtifact
from sscq_desktop.model.trainer_events import StepEvent
from sscq_desktop.ui.main_window import MainWindow
from sscq_desktop.ui.retrain_dialog import (
    RetrainDialog,
    outcome_text,
    photos_text,
    time_left_text,
)
from sscq_desktop.ui.settings_dialog import SettingsDialog
from sscq_desktop.ui.tasks import TaskRunner

CHECKED = 110
"""Photos of a library large enough to hold 50 out of training and check the model."""


@pytest.fixture
def checked_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "checked"
    folder.mkdir()
    for i in range(CHECKED):
        write_grid_photo(folder / f"g_{i:03d}.jpg", seed=2_000 + i)
    age(folder)
    return folder


def test_tiny_retrain_runs_end_to_end_and_switches_the_model(
    qtbot: QtBot,
    window: MainWindow,
    library: Library,
    checked_folder: Path,
    tiny_artifact_factory: Callable[..., ModelArtifact],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    collapsed = tiny_artifact_factory(
        model_id="collapsed", collapsed=True, filename="collapsed.onnx"
    )
    library.import_model(collapsed.path)
    library.switch_model("collapsed")  # in use, and worse than any working model
    index_folders(qtbot, window, checked_folder)
    assert library.active_model_id == "collapsed"
    chosen: list[str] = []  # switches the window runs as its writes
    switch = window.model_switcher.switch

    def recording_switch(model_id: str) -> None:
        chosen.append(model_id)
        switch(model_id)

    monkeypatch.setattr(window.model_switcher, "switch", recording_switch)
    window.trainer_command = fake_trainer("--seed", "0")
    width = window.width()
    dialog = window.open_retrain_dialog()
    dialog.max_steps = 4
    assert dialog.photos_label.text() == (
        "110 photos in your library; 50 of them will be held out of training to "
        "check the new model before switching to it."
    )
    dialog.bits_combo.setCurrentIndex(dialog.bits_combo.findData(16))
    assert dialog.request().bits == 16
    with (
        qtbot.waitSignal(window.model_did_change, timeout=120_000) as switched,
        qtbot.waitSignal(dialog.model_trained, timeout=120_000),
    ):
        dialog.start_button.click()
        assert dialog.running
    model = switched.args[0]
    assert isinstance(model, ModelRecord)
    assert model.model_id.startswith("retrained-16bit-")
    assert not model.is_default and model.source == "trained"
    # The library's retrain decided (better) but switched nothing: the window switched
    # through its ModelSwitcher, as Settings does.
    assert chosen == [model.model_id]
    assert library.active_model_id == model.model_id
    assert "holding out 50 of 110 photos" in dialog.note
    # One learning curve against photos seen (16 a step), a point per step.
    assert [x for x, _ in dialog.learning_curve.points] == [16, 32, 48, 64]
    assert dialog.progress_text.text().endswith("· 64 photos seen")
    # In a person's words: no loss-term names, steps or epochs anywhere.
    words = " ".join(label.text() for label in dialog.findChildren(QLabel))
    for jargon in ("ic_z", "cc", "Step", "Epoch", "Codeword", "ETA"):
        assert jargon not in words.split() and f"{jargon} " not in words
    assert dialog.progress_bar.value() == dialog.progress_bar.maximum()
    text = dialog.status_label.text()
    assert text.startswith("The new model is better. The new model finds a heavily ")
    assert "the current one" in text and "on 50 photos" in text
    assert text.endswith("the app switches to it when that is done.")
    qtbot.waitUntil(
        lambda: model.model_id in window.status_bar.model_label.toolTip(),
        timeout=10_000,
    )
    assert window.active_model == model
    assert window.width() == width  # the new model's name did not widen the window
    # Searches now run on the new model's codes.
    query = checked_folder / "g_007.jpg"
    with qtbot.waitSignal(
        window.results_panel.results_ready, timeout=10_000
    ) as blocker:
        window.search_by_file(query)
    assert {h.model_id for h in blocker.args[0]} == {model.model_id}


def test_a_retrained_model_that_is_not_better_is_kept_aside(
    qtbot: QtBot, window: MainWindow, library: Library, checked_folder: Path
) -> None:
    index_folders(qtbot, window, checked_folder)
    switched: list[object] = []
    window.model_did_change.connect(switched.append)
    window.trainer_command = fake_trainer("--seed", "0")  # the model in use, again
    dialog = window.open_retrain_dialog()
    dialog.max_steps = 3
    with qtbot.waitSignal(dialog.model_kept, timeout=120_000) as kept:
        dialog.start_button.click()
    text = dialog.status_label.text()
    assert text.startswith("The new model is not measurably better, so your current")
    assert "(its score is not higher" in text
    assert "((" not in text and "))" not in text
    assert "The new model finds a heavily edited copy of a photo first" in text
    assert "switch to it in Settings" in text
    qtbot.wait(200)
    assert switched == [] and window.active_model is not None
    assert window.active_model.model_id == "tiny-test-model"
    assert library.active_model_id == "tiny-test-model"
    assert kept.args[0].model_id in {m.model_id for m in library.models()}


def test_a_retrained_model_that_could_not_be_checked_is_kept_aside(
    qtbot: QtBot,
    window: MainWindow,
    library: Library,
    photo_folders: tuple[Path, Path],
) -> None:
    a, _ = photo_folders
    index_folders(qtbot, window, a)
    switched: list[object] = []
    window.model_did_change.connect(switched.append)
    window.trainer_command = fake_trainer()
    dialog = window.open_retrain_dialog()
    dialog.max_steps = 3
    assert "too few to check a new model" in dialog.photos_label.text()
    with qtbot.waitSignal(dialog.model_kept, timeout=60_000):
        dialog.start_button.click()
    reason = (
        "the library has too few photos to keep some out of training and check it "
        "(100 are needed)"
    )
    assert dialog.status_label.text() == (
        f"The new model could not be checked: {reason}. Your current model stays in "
        "use; you can switch to the new one by hand in Settings."
    )
    qtbot.wait(200)
    assert switched == [] and library.active_model_id == "tiny-test-model"


def _model(model_id: str = "new") -> ModelRecord:
    return ModelRecord(model_id, Path(f"/m/{model_id}.onnx"), "trained", "", 8, 16, 4)


def _outcome(previous: str | None, *, n_photos: int = 50) -> RetrainOutcome:
    checked = ModelCheck(
        n_photos=n_photos,
        new_score=0.7 if n_photos else math.nan,
        new_found_first=0.6,
        active_score=None,
        active_found_first=None,
        stderr=None,
        better=True,
        reason="there was no model in use"
        if n_photos
        else "the library has too few photos to keep some out of training and check it",
    )
    return RetrainOutcome(_model(), checked, False, previous)


def test_without_a_model_in_use_the_new_one_is_used_and_said_plainly() -> None:
    checked = outcome_text(_outcome(None))
    assert checked.startswith("There was no model in use, so the new one will be used.")
    assert "first 60% of the time" in checked and "better" not in checked
    too_few = "the library has too few photos to keep some out of training and check it"
    unchecked = outcome_text(_outcome(None, n_photos=0))
    assert unchecked.startswith(f"The new model could not be checked: {too_few}. ")
    assert "There was no model in use, so the new one will be used." in unchecked
    assert unchecked.count(too_few) == 1 and "better" not in unchecked
    broken = outcome_text(_outcome("old", n_photos=0))  # the model in use cannot encode
    assert "The current model cannot be used, so the new one will be." in broken


def test_the_photos_line_says_before_training_whether_the_model_can_be_checked() -> (
    None
):
    assert photos_text(99) == (
        "99 photos in your library: too few to check a new model (100 needed), so it "
        "will be kept aside, not switched to (you can switch to it by hand in "
        "Settings)."
    )
    assert photos_text(110) == (
        "110 photos in your library; 50 of them will be held out of training to check "
        "the new model before switching to it."
    )
    assert "300 of them" in photos_text(12_000)


def test_cancel_leaves_the_old_model_active(
    qtbot: QtBot,
    window: MainWindow,
    library: Library,
    photo_folders: tuple[Path, Path],
) -> None:
    a, _ = photo_folders
    index_folders(qtbot, window, a)
    window.trainer_command = fake_trainer("--step-s", "0.05")
    dialog = window.open_retrain_dialog()
    dialog.max_steps = 10_000
    with qtbot.waitSignal(
        dialog.training_progressed,
        timeout=30_000,
        check_params_cb=lambda p: isinstance(p.event, StepEvent),
    ):
        dialog.start_button.click()
    with qtbot.waitSignal(dialog.training_cancelled, timeout=30_000):
        dialog.cancel_button.click()
    assert not dialog.running
    assert "cancelled" in dialog.status_label.text().lower()
    assert "unchanged" in dialog.status_label.text()
    assert library.active_model_id == "tiny-test-model"
    assert [m.model_id for m in library.models()] == ["tiny-test-model"]
    assert dialog.start_button.isEnabled()


def test_trainer_crash_is_reported_and_the_model_is_untouched(
    qtbot: QtBot,
    library: Library,
    runner: TaskRunner,
    photo_folders: tuple[Path, Path],
) -> None:
    index_directly(library, photo_folders[0])  # 10 photos: enough to train on
    dialog = RetrainDialog(
        library,
        runner,
        photo_count=10,
        max_steps=5,
        trainer_command=fake_trainer("--crash-at", "2"),
    )
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.training_failed, timeout=30_000) as failed:
        dialog.start_training()
    message = failed.args[0]
    assert message.startswith("Training failed")
    assert "out of memory" in message
    assert "unchanged" in message
    assert "Traceback" not in dialog.status_label.text()
    assert library.active_model_id == "tiny-test-model"
    assert [m.model_id for m in library.models()] == ["tiny-test-model"]


def test_settings_switch_back_to_the_default_model(
    qtbot: QtBot,
    window: MainWindow,
    library: Library,
    photo_folders: tuple[Path, Path],
    tiny_artifact_factory: Callable[..., ModelArtifact],
) -> None:
    a, _ = photo_folders
    index_folders(qtbot, window, a)
    other = tiny_artifact_factory(filename="other.onnx", model_id="other-model", seed=3)
    library.import_model(other.path)
    with qtbot.waitSignal(window.model_did_change, timeout=30_000):
        window.switch_model("other-model")  # while watching: the watch loop does it
    assert library.active_model_id == "other-model"
    assert window.watching
    dialog = window.open_settings_dialog()
    qtbot.waitUntil(lambda: dialog.model_combo.isEnabled(), timeout=10_000)
    assert isinstance(dialog, SettingsDialog)
    combo = dialog.model_combo  # grown to the longest model name, not cut off
    labels = [combo.itemText(i) for i in range(combo.count())]
    day = date.today()  # names a person reads; ids only in the tooltips
    assert labels == [
        "Built-in model, 32 bits",
        f"Imported model - {day.day} {day:%b %Y}, 32 bits",
    ]
    assert combo.itemData(1, Qt.ItemDataRole.ToolTipRole) == "Model id: other-model"
    widest = max(
        combo.fontMetrics().horizontalAdvance(combo.itemText(i))
        for i in range(combo.count())
    )
    qtbot.waitUntil(lambda: combo.width() >= widest, timeout=5_000)
    dialog.select_default_model()
    dialog.k_spin.setValue(12)
    with (
        qtbot.waitSignal(window.model_did_change, timeout=30_000) as switched,
        qtbot.waitSignal(window.settings_did_change, timeout=5_000) as changed,
    ):
        dialog.accept()
    assert changed.args[0].results_k == 12
    assert switched.args[0].is_default
    assert library.active_model_id == "tiny-test-model"


@pytest.mark.slow
def test_the_real_library_and_trainer_retrain_through_the_dialog(
    qtbot: QtBot,
    runner: TaskRunner,
    library: Library,
    photo_folders: tuple[Path, Path],
) -> None:
    pytest.importorskip("torch")
    a, b = photo_folders
    index_directly(library, a, b)
    dialog = RetrainDialog(library, runner, photo_count=19, max_steps=2)
    qtbot.addWidget(dialog)
    dialog.bits_combo.setCurrentIndex(dialog.bits_combo.findData(16))
    dialog.minutes_spin.setValue(1)
    assert dialog.minutes_spin.value() == 10  # shorter runs cannot learn enough
    dialog.device_combo.setCurrentIndex(dialog.device_combo.findData("cpu"))
    with qtbot.waitSignal(dialog.model_kept, timeout=240_000) as kept:
        dialog.start_training()
    model = kept.args[0]
    # 19 photos are too few to hold some out and check it: the current model
    # stays, said once, with no verdict on the model's quality.
    text = dialog.status_label.text()
    assert text.startswith("The new model could not be checked: the library has ")
    assert text.count("too few photos") == 1 and "better" not in text
    assert "switch to the new one by hand in Settings" in text
    assert model.nbits == 16 and not model.is_default
    assert "from scratch" in dialog.note  # the tiny model has no companion .pt
    # Said before training: the library is too small to check the new model.
    assert "the library has only 19 photos: too few to check" in dialog.note
    # The trainer's own loss, from its first step, against photos seen (its batch).
    batch = int(dialog.learning_curve.points[1][0]) // 2
    assert [x for x, _ in dialog.learning_curve.points] == [batch, 2 * batch]
    assert dialog.progress_text.text().endswith(f"{2 * batch:,} photos seen")
    assert dialog.progress_bar.value() == dialog.progress_bar.maximum()
    assert model.model_id in {m.model_id for m in library.models()}
    assert library.active_model_id == "tiny-test-model"
    assert library.pending_model_id is None  # no switch started either


def test_time_left_reads_as_a_person_would_say_it() -> None:
    assert time_left_text(None) == "Estimating the time left…"
    assert time_left_text(20) == "Less than a minute left"
    assert time_left_text(430) == "About 7 minutes left"
    assert time_left_text(60) == "About 1 minute left"
    assert time_left_text(3 * 3600 + 5 * 60) == "About 3 hours 5 min left"
    assert time_left_text(3600) == "About 1 hour left"
