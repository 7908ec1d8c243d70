"""pack-corpus: only the training split travels, capped per class, at the asked size."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from tests.training.conftest import write_photo_folder
from training.cli import main
from training.corpus_pack import pack_corpus
from training.evaluation.photo_baselines import photo_split


def test_pack_holds_no_held_out_photo_and_caps_each_class(tmp_path, cache_dir):
    src = write_photo_folder(tmp_path / "set" / "train", per_class=12, classes=3)
    packed = pack_corpus([src], tmp_path / "out", per_class=5, size=24)
    assert packed[0].folder == "set" and packed[0].photos == 15
    split = photo_split(
        src, holdout_fraction=0.1, split_seed=2022, size=24, policy="center_crop"
    )
    held_out = {
        (split.paths[i].parent.name, split.paths[i].stem) for i in split.queries
    }
    written = sorted((tmp_path / "out" / "set").rglob("*.jpg"))
    assert held_out and len(written) == 15
    assert not held_out & {(p.parent.name, p.stem) for p in written}
    for c in range(3):
        assert len(list((tmp_path / "out" / "set" / f"class{c}").iterdir())) == 5
    with Image.open(written[0]) as img:
        assert img.size == (24, 24)


def test_pack_corpus_command_line(tmp_path, cache_dir, capsys):
    a = write_photo_folder(tmp_path / "a" / "train", per_class=4, classes=2)
    b = write_photo_folder(tmp_path / "b", per_class=4, classes=2)
    argv = [
        "pack-corpus",
        str(a),
        str(b),
        "--out",
        str(tmp_path / "o"),
        "--per-class",
        "2",
    ]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert [r["folder"] for r in report] == ["a", "b"]
    assert all(r["photos"] == 4 and r["bytes"] > 0 for r in report)
    with pytest.raises(ValueError, match="same folder"):
        pack_corpus([a, tmp_path / "a"], tmp_path / "o2", per_class=1, size=8)
