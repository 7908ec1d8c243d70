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
    with pytest.raises(ValueError, match="duplicate_threshold"):
        AppSettings(duplicate_threshold=1.5)
    with pytest.raises(ValueError, match="retrain_bits"):
        AppSettings(retrain_bits=24)


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
