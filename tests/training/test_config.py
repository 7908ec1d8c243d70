"""Config dataclasses, recipes and dotted-key overrides."""

from __future__ import annotations

import pytest

from training.config import (
    RECIPES_DIR,
    TrainConfig,
    apply_overrides,
    config_from_dict,
    load_recipe,
)


@pytest.mark.parametrize(
    "path", sorted(RECIPES_DIR.glob("*.toml")), ids=lambda p: p.stem
)
def test_every_recipe_loads(path):
    cfg = load_recipe(path)
    assert cfg.optim.batch_size > 0


def test_defaults_follow_method():
    cfg = TrainConfig()
    assert (cfg.optim.lr, cfg.optim.weight_decay, cfg.run.seed) == (5e-4, 1e-5, 2022)
    assert (cfg.loss.w_cc, cfg.loss.w_pn, cfg.loss.w_cd, cfg.loss.k_pn) == (
        0.4,
        0.1,
        0.2,
        20,
    )
    assert (cfg.model.tau_sq, cfg.loss.tau_ic, cfg.loss.tau_cc) == (0.2, 0.5, 0.2)


def test_overrides_parse_toml_values():
    cfg = apply_overrides(
        TrainConfig(),
        ["optim.lr=1e-3", "loss.kind=spq", "run.compile=true", "optim.epochs=3"],
    )
    assert (
        cfg.optim.lr == 1e-3
        and cfg.loss.kind == "spq"
        and cfg.run.compile
        and cfg.optim.epochs == 3
    )
    assert apply_overrides(TrainConfig(), ["loss.w_ic_z=0"]).loss.w_ic_z == 0.0


@pytest.mark.parametrize(
    "bad", ["optim.nope=1", "nosection.x=1", "optim.epochs=1.5", "optim.lr"]
)
def test_bad_overrides_are_refused(bad):
    with pytest.raises(ValueError):
        apply_overrides(TrainConfig(), [bad])


def test_round_trip_through_dict():
    cfg = load_recipe("photos_cpu")
    assert config_from_dict(cfg.to_dict()) == cfg


def test_cli_data_takes_several_folders():
    import os

    from training.cli import build_parser, resolve_config

    args = build_parser().parse_args(["train", "--data", "/a", "/b c", "--out", "x"])
    assert resolve_config(args).data.path == os.pathsep.join(["/a", "/b c"])
