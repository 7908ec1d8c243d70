from __future__ import annotations

import sys
from pathlib import Path

import pytest

from sscq_desktop.library.retrain.retrain_request import (
    RetrainRequest,
    TrainerJob,
    trainer_command,
)


def _job(tmp_path: Path, request: RetrainRequest, **kw: object) -> TrainerJob:
    fields: dict[str, object] = {
        "request": request,
        "image_list": tmp_path / "run" / "images.txt",
        "n_images": 500,
        "run_dir": tmp_path / "run",
        "model_path": tmp_path / "models" / "new.onnx",
        "model_id": "retrained-16bit-x",
        "init_from": None,
        "cache_dir": tmp_path / "cache dir" / 'with "quotes" and é',
    }
    fields.update(kw)
    return TrainerJob(**fields)  # type: ignore[arg-type]


def test_the_command_is_an_argument_list_the_trainer_accepts(tmp_path: Path) -> None:
    from training.cli import build_parser, resolve_config

    request = RetrainRequest(bits=16, minutes=2.5, device="cpu", max_steps=3)
    argv = trainer_command(_job(tmp_path, request, n_images=24))
    assert argv[:4] == [sys.executable, "-m", "training", "train"]
    assert argv[argv.index("--image-list") + 1] == str(tmp_path / "run" / "images.txt")
    assert argv[argv.index("--export") + 1] == str(tmp_path / "models" / "new.onnx")
    assert "--init-from" not in argv
    args = build_parser().parse_args(argv[3:])
    assert (args.recipe, args.progress, args.model_id) == (
        "photos_cpu",
        "json",
        "retrained-16bit-x",
    )
    cfg = resolve_config(args)
    assert (cfg.data.source, cfg.data.path) == (
        "image_list",
        args.image_list.as_posix(),
    )
    assert cfg.data.cache_dir == str(tmp_path / "cache dir" / 'with "quotes" and é')
    assert (cfg.model.n_codebooks, cfg.model.nbits) == (4, 4)  # 16 bits
    assert (cfg.run.device, cfg.run.time_budget_min) == ("cpu", 2.5)
    assert (cfg.optim.max_steps, cfg.optim.batch_size) == (3, 24)  # one batch of all


@pytest.mark.parametrize(("bits", "n_codebooks"), [(16, 4), (32, 8), (64, 16)])
def test_code_length_sets_the_codebooks_and_a_big_library_keeps_the_batch(
    tmp_path: Path, bits: int, n_codebooks: int
) -> None:
    request = RetrainRequest(bits=bits)  # type: ignore[arg-type]
    argv = trainer_command(_job(tmp_path, request, init_from=tmp_path / "m.pt"))
    sets = [argv[i + 1] for i, a in enumerate(argv) if a == "--set"]
    assert f"model.n_codebooks={n_codebooks}" in sets and "model.nbits=4" in sets
    assert not any(s.startswith(("optim.batch_size", "optim.max_steps")) for s in sets)
    assert argv[argv.index("--init-from") + 1] == str(tmp_path / "m.pt")
    assert argv[argv.index("--time-budget-min") + 1] == "10.0"


@pytest.mark.parametrize(
    "bad",
    [
        {"bits": 24},
        {"minutes": 0},
        {"minutes": float("nan")},
        {"device": "tpu"},
        {"max_steps": 0},
        {"max_photos": True},
    ],
)
def test_bad_requests_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=next(iter(bad))):
        RetrainRequest(**bad)  # type: ignore[arg-type]
