"""Training runs end to end: smoke, JSON progress, resume, time budget, warm start, DDP."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sscq_desktop.model.artifact import read_artifact
from sscq_desktop.model.encoder import OnnxEncoder
from training.checkpoint import load_checkpoint
from training.cli import main
from training.config import apply_overrides, load_recipe
from training.progress import ProgressReporter
from training.trainer import train


def run(cfg, out, **kwargs):
    stream = io.StringIO()
    result = train(
        cfg, out_dir=out, reporter=ProgressReporter("json", stream=stream), **kwargs
    )
    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    return result, events


def debug_cfg(*overrides):
    return apply_overrides(load_recipe("debug_cpu"), ["run.threads=1", *overrides])


def test_every_early_step_is_reported_then_every_log_interval_and_the_last(
    photo_folder, cache_dir, tmp_path
):
    cfg = debug_cfg(
        'data.source="folder"',
        f'data.path="{photo_folder}"',
        "optim.epochs=100",
        "optim.max_steps=12",
        "run.log_every_steps=5",
    )
    _, events = run(cfg, tmp_path / "run")
    steps = [e["step"] for e in events if e["event"] == "step"]
    assert steps == [1, 2, 3, 4, 5, 10, 12]  # a live plot starts at the first step


def test_two_step_smoke_run_on_generated_photos(photo_folder, cache_dir, tmp_path):
    cfg = debug_cfg(
        'data.source="folder"', f'data.path="{photo_folder}"', "optim.max_steps=2"
    )
    result, events = run(cfg, tmp_path / "run")
    steps = [e for e in events if e["event"] == "step"]
    assert [e["step"] for e in steps] == [1, 2]
    first = steps[0]
    assert set(first) >= {
        "step",
        "epoch",
        "total_steps",
        "losses",
        "lr",
        "images_per_s",
        "eta_s",
        "codeword_usage",
    }
    assert all(v == v for v in first["losses"].values())  # finite (no NaN)
    assert len(first["codeword_usage"]) == cfg.model.n_codebooks
    assert {"start", "checkpoint", "eval"} <= {e["event"] for e in events}
    payload = load_checkpoint(tmp_path / "run" / "last.pt")
    assert (
        payload["config"]["data"]["path"] == str(photo_folder)
        and payload["code_version"]
    )
    assert (tmp_path / "run" / "metrics.jsonl").is_file() and (
        tmp_path / "run" / "best.pt"
    ).is_file()


def test_resume_continues_the_same_schedule(tmp_path):
    straight, ev_a = run(debug_cfg("optim.max_steps=6"), tmp_path / "a")
    paused, _ = run(
        debug_cfg("optim.max_steps=6", "run.stop_at_step=3"), tmp_path / "b"
    )
    assert paused.schedule.step == 3
    resumed, ev_b = run(debug_cfg("optim.max_steps=6"), tmp_path / "b", resume=True)
    a = {e["step"]: e for e in ev_a if e["event"] == "step"}
    b = {e["step"]: e for e in ev_b if e["event"] == "step"}
    assert sorted(b) == [4, 5, 6]
    for step in (4, 5, 6):
        assert b[step]["lr"] == a[step]["lr"] and b[step]["total_steps"] == 6
        assert b[step]["losses"]["total"] == pytest.approx(
            a[step]["losses"]["total"], rel=1e-4
        )


def test_time_budget_sizes_a_schedule_that_completes(tmp_path):
    cfg = debug_cfg(
        "optim.epochs=1000",
        "run.time_budget_min=0.08",
        "run.probe_steps=5",
        "run.refit_every_steps=5",  # stays on budget when other jobs share the CPU
        "run.log_every_steps=5",
    )
    result, events = run(cfg, tmp_path / "run")
    sched = result.schedule
    assert sched.budget_fixed and 5 < sched.total_steps < 1000 * sched.steps_per_epoch
    assert sched.step == sched.total_steps
    assert sched.elapsed_s < 0.08 * 60 * 1.3


def test_warm_start_from_checkpoint_keeps_weights(tmp_path):
    first, _ = run(debug_cfg("optim.max_steps=2"), tmp_path / "a")
    second, _ = run(
        debug_cfg("optim.max_steps=1", "optim.lr=0.0", "optim.warmup_start_lr=0.0"),
        tmp_path / "b",
        init_from=tmp_path / "a" / "last.pt",
    )
    a, b = first.model.quantizer.codebooks, second.model.quantizer.codebooks
    assert b.detach().allclose(a.detach())


def test_cli_train_then_export(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(
        [
            "train",
            "--recipe",
            "debug_cpu",
            "--out",
            str(out),
            "--progress",
            "json",
            "--set",
            "optim.max_steps=2",
            "--set",
            "run.threads=1",
        ]
    )
    assert code == 0
    lines = [
        json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")
    ]
    assert lines[-1]["event"] == "done"
    fitted = [e for e in lines if e["event"] == "search_codes"]  # at the schedule's end
    assert len(fitted) == 1 and fitted[0]["codes"] == "opq" and fitted[0]["images"] > 0
    assert (
        main(["export", str(out / "last.pt"), "--out", str(tmp_path / "m.onnx")]) == 0
    )
    summary = json.loads(capsys.readouterr().out)
    assert summary["parity"]["codes_agree"] == {"1": True, "64": True}
    assert (tmp_path / "m.pt").is_file()
    # The artifact searches with the fitted codes: unit-length embeddings.
    artifact = read_artifact(tmp_path / "m.onnx")
    size = artifact.metadata.input.size
    pixels = np.random.default_rng(0).integers(0, 256, (4, size, size, 3), np.uint8)
    embedding = OnnxEncoder(artifact, device="cpu").encode(pixels).embedding
    np.testing.assert_allclose(np.linalg.norm(embedding, axis=1), 1.0, atol=1e-4)


def test_cli_trains_on_an_image_list_and_warm_starts_from_the_export(
    photo_folder, cache_dir, tmp_path, capsys
):
    image_list = tmp_path / "photos.txt"
    image_list.write_text(
        "".join(f"{p}\n" for p in sorted(photo_folder.rglob("*.*"))), encoding="utf-8"
    )
    common = ["--recipe", "debug_cpu", "--image-list", str(image_list)]
    common += ["--progress", "json", "--set", "optim.max_steps=1"]
    common += ["--set", "run.threads=1", "--set", "optim.batch_size=16"]
    first = ["train", *common, "--out", str(tmp_path / "a")]
    first += ["--set", "model.n_codebooks=4", "--set", "data.image_size=24"]
    first += ["--export", str(tmp_path / "a.onnx"), "--model-id", "from-list"]
    assert main(first) == 0
    events = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    start = next(e for e in events if e["event"] == "start")
    assert start["config"]["data"]["source"] == "image_list"
    assert start["n_images"] == 36 and "image list" in start["data"]
    assert "eval" not in {e["event"] for e in events}  # unlabeled: never evaluated
    assert events[-1]["export"]["model_id"] == "from-list"
    # The recipe says 8 codebooks at 32 px; the warm start takes 4 at 24 px from the .pt.
    second = ["train", *common, "--out", str(tmp_path / "b")]
    second += ["--init-from", str(tmp_path / "a.pt")]
    assert main(second) == 0
    events = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    config = next(e for e in events if e["event"] == "start")["config"]
    assert (config["model"]["n_codebooks"], config["data"]["image_size"]) == (4, 24)
    assert events[-1]["event"] == "done"


def test_cli_reports_errors_as_json(tmp_path, capsys):
    code = main(
        [
            "train",
            "--recipe",
            "debug_cpu",
            "--out",
            str(tmp_path),
            "--progress",
            "json",
            "--set",
            'data.source="folder"',
            "--set",
            f'data.path="{tmp_path / "missing"}"',
        ]
    )
    assert code == 1
    last = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert last["event"] == "error" and "missing" in last["message"]


def test_ddp_two_gloo_processes_run_two_steps(photo_folder, cache_dir, tmp_path):
    out = tmp_path / "ddp"
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        "-m",
        "training",
        "train",
        "--recipe",
        "debug_cpu",
        "--data",
        str(photo_folder),
        "--out",
        str(out),
        "--progress",
        "json",
        "--set",
        'data.source="folder"',
        "--set",
        "optim.max_steps=2",
        "--set",
        "run.threads=1",
    ]
    proc = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=240,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    events = [json.loads(x) for x in proc.stdout.splitlines() if x.startswith("{")]
    steps = [e for e in events if e["event"] == "step"]
    assert [e["step"] for e in steps] == [1, 2]  # rank 0 only reports
    assert events[-1]["event"] == "done"
    assert load_checkpoint(out / "last.pt")["schedule"]["step"] == 2


def test_time_budget_refits_the_schedule_when_the_machine_slows_down(
    tmp_path, monkeypatch
):
    import time

    from training.two_view_batches import TwoViewBatches

    real_views = TwoViewBatches.views

    def slower_after_the_probe(self, step, *args, **kwargs):
        if step > 12:  # another program starts competing for the CPU
            time.sleep(0.1)
        return real_views(self, step, *args, **kwargs)

    monkeypatch.setattr(TwoViewBatches, "views", slower_after_the_probe)
    cfg = debug_cfg(
        "optim.epochs=1000",
        "run.time_budget_min=0.1",
        "run.probe_steps=5",
        "run.refit_every_steps=10",
        "run.log_every_steps=5",
    )
    result, events = run(cfg, tmp_path / "run")
    sched = result.schedule
    totals = [e["total_steps"] for e in events if e["event"] == "step"]
    assert totals[-1] < max(totals)  # the schedule shrank to the slower pace
    assert sched.step == sched.total_steps  # ... and still completed its cosine
    assert sched.elapsed_s < 0.1 * 60 * 1.15


def test_gpu_photo_recipe_runs_on_the_cpu_at_tiny_size(
    photo_folder, cache_dir, tmp_path
):
    cfg = apply_overrides(
        load_recipe("photos_gpu"),
        [
            f'data.path="{photo_folder}"', 'run.device="cpu"', "run.compile=false",
            "model.width=0.25", "optim.batch_size=16", "optim.max_steps=2",
            "loss.k_pn=5", "data.image_size=32", "data.store_size=40", "run.threads=1",
        ],
    )  # fmt: skip
    result, events = run(cfg, tmp_path / "gpu")
    assert result.schedule.step == 2 and cfg.model.backbone == "convpool"
    assert not result.schedule.evals  # holdout 0: the packed corpus has no queries
