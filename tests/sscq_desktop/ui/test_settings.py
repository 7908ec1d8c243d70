from __future__ import annotations

from pathlib import Path

import pytest

from sscq_desktop.library.records import SimilarityBand
from sscq_desktop.ui.settings import AppSettings, load_settings, save_settings


def test_settings_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "config" / "settings.toml"
    settings = AppSettings(
        first_run_done=True, gallery_sort="name", results_band="very-similar"
    )
    save_settings(settings, path)
    assert load_settings(path) == settings


def test_missing_or_damaged_file_gives_defaults(tmp_path: Path) -> None:
    assert load_settings(tmp_path / "none.toml") == AppSettings()
    bad = tmp_path / "bad.toml"
    bad.write_text("this is = = not toml")
    assert load_settings(bad) == AppSettings()


def test_invalid_values_are_ignored_one_by_one(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(
        'gallery_sort = "size"\nresults_k = 7\nthumbnail_size = true\nunknown = 1\n'
    )
    assert load_settings(path) == AppSettings(results_k=7)


def test_settings_validate_ranges() -> None:
    with pytest.raises(ValueError, match="results_band"):
        AppSettings(results_band="copies")
    with pytest.raises(ValueError, match="retrain_bits"):
        AppSettings(retrain_bits=24)
    with pytest.raises(ValueError, match="retrain_minutes"):
        AppSettings(retrain_minutes=5)  # too short to learn anything worth switching to


def test_a_one_minute_retrain_budget_of_an_older_version_loads_as_the_default(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.toml"
    path.write_text("retrain_minutes = 1\nresults_k = 9\n")
    settings = load_settings(path)
    assert settings.retrain_minutes == AppSettings().retrain_minutes == 30
    assert settings.results_k == 9


@pytest.mark.parametrize(
    ("threshold", "level"),
    [
        (0.95, "edited"),
        (0.99, "exact"),
        (0.9, "edited"),
        (0.85, "similar"),
        (1, "exact"),
    ],
)
def test_a_strictness_score_of_older_settings_becomes_a_level(
    tmp_path: Path, threshold: float, level: str
) -> None:
    path = tmp_path / "s.toml"
    path.write_text(f"results_k = 7\nduplicate_threshold = {threshold}\n")
    assert load_settings(path) == AppSettings(results_k=7, duplicate_level=level)
    save_settings(load_settings(path), path)
    assert "duplicate_threshold" not in path.read_text()
    assert load_settings(path).duplicate_level == level


def test_an_unknown_level_is_ignored_and_levels_are_validated(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text('duplicate_level = "strict"\n')
    assert load_settings(path) == AppSettings()
    with pytest.raises(ValueError, match="exact, edited, similar"):
        AppSettings(duplicate_level="0.95")


def test_a_file_with_the_old_similarity_threshold_still_loads(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "s.toml"
    path.write_text("similarity_threshold = 0.4\nresults_k = 30\n")
    settings = load_settings(path)
    assert settings == AppSettings(results_k=30)
    assert settings.min_band is None  # every result, as before with no threshold
    assert "similarity_threshold" not in caplog.text  # retired quietly


def test_results_band_names_the_band_cut() -> None:
    assert AppSettings(results_band="near-copy").min_band is SimilarityBand.NEAR_COPY
    assert AppSettings().min_band is None
