"""The fixed-budget benchmark: arms, CPU clock, per-corpus scores, resume, CLI checks."""

from __future__ import annotations

import json
import os
import tarfile

import pytest

from tests.training.conftest import write_photo_folder
from training.budget_benchmark import (
    PHOTO_ARMS,
    arm_config,
    format_table,
    run_budget_benchmark,
)
from training.cli import main
from training.data.archives import extracted_folder

TINY = [
    "optim.batch_size=16",
    "optim.max_steps=2",
    "loss.k_pn=5",
    "model.width=0.25",
    "data.image_size=32",
    "data.store_size=36",
]


def test_arm_config_layers_recipe_arm_and_overrides():
    cfg = arm_config("photos", "size48", minutes=8.0, overrides=["optim.lr=1e-4"])
    assert (cfg.model.backbone, cfg.data.image_size, cfg.data.store_size) == (
        "convpool", 48, 60,
    )  # fmt: skip
    assert cfg.optim.lr == 1e-4 and cfg.run.threads == 1
    assert cfg.run.budget_clock == "cpu" and cfg.run.time_budget_min == 8.0
    c10 = arm_config("cifar10", "convpool", minutes=25.0, overrides=[])
    assert (c10.data.source, c10.model.backbone, c10.optim.batch_size) == (
        "cifar10", "convpool", 256,
    )  # fmt: skip
    assert c10.data.crop_scale_min == 0.2
    with pytest.raises(ValueError, match="unknown photos arm"):
        arm_config("photos", "nope", minutes=1.0, overrides=[])


def test_every_photo_arm_changes_the_base_config():
    base = arm_config("photos", "base", minutes=1.0, overrides=[]).to_dict()
    for arm in PHOTO_ARMS:
        if arm != "base":
            assert (
                arm_config("photos", arm, minutes=1.0, overrides=[]).to_dict() != base
            )


def test_photo_suite_scores_each_corpus_and_resumes(tmp_path, cache_dir):
    a = write_photo_folder(tmp_path / "a" / "train", per_class=12, classes=3)
    b = write_photo_folder(tmp_path / "b" / "train", per_class=12, classes=2)
    overrides = [*TINY, f'data.path="{a}{os.pathsep}{b}"']
    table = run_budget_benchmark(
        "photos", minutes=0.5, arms=("base", "jitter0"), out=tmp_path / "bench",
        overrides=overrides,
    )  # fmt: skip
    assert [r["arm"] for r in table["rows"]] == ["base", "jitter0"]
    for row in table["rows"]:
        assert set(row["scores"]) == {"a/train", "b/train"}
        assert all(0.0 <= s["map"] <= 1.0 for s in row["scores"].values())
        assert row["steps"] == 2 and row["config"]["run"]["budget_clock"] == "cpu"
    assert table["rows"][1]["config"]["data"]["color_jitter"] == 0.0
    saved = json.loads((tmp_path / "bench" / "photos" / "budget.json").read_text())
    assert saved["cpu_minutes_per_arm"] == 0.5 and len(saved["rows"]) == 2
    text = format_table(table)
    assert "| base |" in text and "a/train mAP" in text

    # A rerun skips finished arms (their files stay as they were) and runs new ones.
    base_file = tmp_path / "bench" / "photos" / "base" / "result.json"
    before = base_file.stat().st_mtime_ns
    again = run_budget_benchmark(
        "photos", minutes=0.5, arms=("base", "crop0.35"), out=tmp_path / "bench",
        overrides=overrides,
    )  # fmt: skip
    assert base_file.stat().st_mtime_ns == before
    assert [r["arm"] for r in again["rows"]] == ["base", "crop0.35", "jitter0"]


def test_budget_refuses_unknown_arms_and_empty_budgets(tmp_path):
    with pytest.raises(ValueError, match="unknown cifar10 arms"):
        run_budget_benchmark(
            "cifar10", minutes=1.0, arms=("size48",), out=tmp_path, overrides=[]
        )
    with pytest.raises(ValueError, match="must be positive"):
        run_budget_benchmark(
            "photos", minutes=0.0, arms=("base",), out=tmp_path, overrides=[]
        )
    with pytest.raises(SystemExit) as exc:
        main(["benchmark", "budget", "--arms", "bogus"])
    assert exc.value.code == 2


def test_cifar10_suite_runs_on_a_cifar_shaped_archive(
    tiny_cifar_archive, cache_dir, tmp_path
):
    overrides = [
        "optim.batch_size=20", "optim.max_steps=2", "loss.k_pn=5", "model.width=0.25",
        f'data.path="{tiny_cifar_archive}"',
    ]  # fmt: skip
    table = run_budget_benchmark(
        "cifar10", minutes=0.5, arms=("convpool",), out=tmp_path, overrides=overrides
    )
    row = table["rows"][0]
    assert (
        set(row["scores"]) == {"cifar10"} and row["scores"]["cifar10"]["map_at"] == 60
    )


def test_archives_extract_once_into_the_cache(tmp_path, cache_dir):
    src = write_photo_folder(tmp_path / "src" / "set" / "train", per_class=2, classes=2)
    archive = tmp_path / "set.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(src.parent, arcname="set")
    folder = extracted_folder(archive, "set/train")
    assert sorted(p.name for p in folder.iterdir()) == ["class0", "class1"]
    assert cache_dir in folder.parents
    marker = folder / "class0" / "kept"
    marker.write_text("x")
    assert extracted_folder(archive, "set/train") == folder and marker.exists()
    with pytest.raises(FileNotFoundError, match="no folder"):
        extracted_folder(archive, "set/test")
    with pytest.raises(FileNotFoundError, match="SSCQ_SHARED_DATA"):
        extracted_folder(tmp_path / "missing.tar", "x")
