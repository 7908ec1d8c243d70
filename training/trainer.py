"""The SSCQ training loop: two views, losses, schedule, budget, checkpoints, evaluation.

Reads pixels only (labels stay with the evaluation set), reports JSON-lines progress,
writes ``last.pt`` (and ``best.pt`` by evaluation mAP, plus ``metrics.jsonl``) into the
output folder, and resumes the very same schedule from ``last.pt``.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import torch
from torch.nn.parallel import DistributedDataParallel

from training import distributed
from training.augment.tensor_augment import TensorAugment
from training.builder import (
    autocast_context,
    make_optimizer,
    pick_device,
    to_channels_last,
    warm_start,
)
from training.checkpoint import code_version, load_checkpoint, save_checkpoint
from training.config import TrainConfig
from training.data.sources import TrainingData, load_training_data
from training.evaluation.protocol import evaluate_corpora
from training.losses.sscq_loss import SSCQLoss
from training.models.search_codes import without_search_state
from training.models.sscq_model import SSCQModel, TwoViewModel, build_model
from training.progress import ProgressReporter
from training.schedule import (
    BudgetPacer,
    budget_clock,
    get_lr,
    steps_for_budget,
    warmup_steps_for,
)
from training.search_fit import fit_search_codes
from training.two_view_batches import TwoViewBatches

logger = logging.getLogger(__name__)


class TrainingDiverged(RuntimeError):
    """Too many consecutive non-finite losses (the NaN guard gave up)."""


@dataclass
class Schedule:
    """Where the run is in its (fixed) schedule; saved in every checkpoint."""

    step: int = 0
    total_steps: int = 1
    warmup_steps: int = 0
    steps_per_epoch: int = 1
    budget_fixed: bool = False
    elapsed_s: float = 0.0
    best_map: float = -1.0
    evals: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class TrainResult:
    """What a finished run leaves behind."""

    model: SSCQModel
    out_dir: Path
    schedule: Schedule
    last_losses: dict[str, float]
    data_description: str
    n_images: int


def train(
    cfg: TrainConfig,
    *,
    out_dir: str | Path,
    reporter: ProgressReporter | None = None,
    resume: bool = False,
    init_from: str | Path | None = None,
) -> TrainResult:
    """Train SSCQ (or SPQ) as `cfg` says; see the module docstring for the outputs.

    Args:
        cfg: Resolved configuration.
        out_dir: Folder for checkpoints and metrics.
        reporter: Progress sink (rank 0 only); JSON lines on stdout by default.
        resume: Continue from ``out_dir/last.pt`` when it exists (same step, same lr).
        init_from: Warm start: weights and codebooks of a checkpoint, fresh schedule.

    Raises:
        TrainingDiverged: when the NaN guard gives up.
        ValueError: for inconsistent settings (e.g. fewer images than one batch).
    """
    out = Path(out_dir)
    probe_device = pick_device(cfg.run.device)
    info = distributed.init_distributed(probe_device)
    device = pick_device(cfg.run.device, local_rank=info.local_rank)
    rep = reporter or ProgressReporter("json")
    rep.enabled = rep.enabled and info.is_main
    if cfg.run.threads > 0:
        torch.set_num_threads(cfg.run.threads)
    torch.manual_seed(cfg.run.seed + info.rank)
    try:
        data = load_training_data(cfg.data, with_eval=info.is_main)
        return _Loop(cfg, out, rep, info, device, data).run(
            resume=resume, init_from=init_from
        )
    finally:
        distributed.shutdown(info)


class _Loop:
    """One run's state; `run` is the loop itself."""

    def __init__(
        self,
        cfg: TrainConfig,
        out: Path,
        rep: ProgressReporter,
        info: distributed.DistInfo,
        device: torch.device,
        data: TrainingData,
    ) -> None:
        self.cfg, self.out, self.rep = cfg, out, rep
        self.info, self.device, self.data = info, device, data
        self.model = build_model(cfg.model, image_size=cfg.data.image_size).to(device)
        if cfg.run.channels_last:
            to_channels_last(self.model)
        self.optimizer = make_optimizer(self.model, cfg)
        self.loss_fn = SSCQLoss(cfg.loss, n_codebooks=cfg.model.n_codebooks)
        self.augment = TensorAugment(
            cfg.data.image_size, crop_scale_min=cfg.data.crop_scale_min,
            color_jitter=cfg.data.color_jitter, blur_sigma_max=cfg.data.blur_sigma_max,
        )  # fmt: skip
        self.batches = TwoViewBatches(
            data.pixels, batch_size=cfg.optim.batch_size, seed=cfg.run.seed, rank=info.rank,
            world_size=info.world_size, backend=cfg.data.augment_backend,
            image_size=cfg.data.image_size, crop_scale_min=cfg.data.crop_scale_min,
            color_jitter=cfg.data.color_jitter,
        )  # fmt: skip
        spe = self.batches.steps_per_epoch
        total = spe * cfg.optim.epochs
        if cfg.optim.max_steps > 0:
            total = min(total, cfg.optim.max_steps)
        self.sched = Schedule(total_steps=total, steps_per_epoch=spe)
        self._set_warmup()
        self.last_losses: dict[str, float] = {}

    def _set_warmup(self) -> None:
        o = self.cfg.optim
        self.sched.warmup_steps = warmup_steps_for(
            warmup_epochs=o.warmup_epochs, steps_per_epoch=self.sched.steps_per_epoch,
            total_steps=self.sched.total_steps, max_fraction=o.warmup_max_fraction,
        )  # fmt: skip

    def lr_at(self, step: int) -> float:
        """The schedule's learning rate at `step`."""
        o = self.cfg.optim
        return get_lr(
            step, base_lr=o.lr, total_steps=self.sched.total_steps,
            warmup_steps=self.sched.warmup_steps, warmup_start_lr=o.warmup_start_lr,
            min_lr_ratio=o.min_lr_ratio,
        )  # fmt: skip

    def run(self, *, resume: bool, init_from: str | Path | None) -> TrainResult:
        if init_from:
            warm_start(self.model, init_from)
        if resume and (self.out / "last.pt").is_file():
            self._restore(self.out / "last.pt")
        cfg, sched = self.cfg, self.sched
        net: torch.nn.Module = TwoViewModel(self.model)
        if cfg.run.compile:
            net = cast(torch.nn.Module, torch.compile(net))
        if self.info.enabled:
            net = DistributedDataParallel(net)
        self.rep.emit(
            "start", config=cfg.to_dict(), total_steps=sched.total_steps, step=sched.step,
            n_images=len(self.data.pixels), data=self.data.description, device=str(self.device),
            world_size=self.info.world_size, code_version=code_version(), resumed=sched.step > 0,
        )  # fmt: skip
        pacer = BudgetPacer(
            budget_s=cfg.run.time_budget_min * 60.0, elapsed_s=sched.elapsed_s,
            step=sched.step, probe_steps=cfg.run.probe_steps,
            refit_every_steps=cfg.run.refit_every_steps, sized=sched.budget_fixed,
            clock=budget_clock(cfg.run.budget_clock),
        )  # fmt: skip
        last_ckpt = time.perf_counter()
        t_log, images_since_log = time.perf_counter(), 0
        bad = 0
        paused = False  # stopped to be resumed: the search codes wait for the end
        t_run0, step0 = time.perf_counter(), sched.step
        self.model.train()
        while sched.step < sched.total_steps:
            step = sched.step
            epoch = step // sched.steps_per_epoch
            x1, x2 = self.batches.views(
                step, self.augment, self.device
            )  # (b, 3, S, S) each
            if cfg.run.channels_last:
                x1 = x1.contiguous(memory_format=torch.channels_last)
                x2 = x2.contiguous(memory_format=torch.channels_last)
            lr = self.lr_at(step)
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            with autocast_context(cfg.run.amp, self.device):
                v1, v2 = net(x1, x2)
            loss, parts = self.loss_fn(
                v1.f.float(),
                v1.z.float(),
                v2.f.float(),
                v2.z.float(),
                self.model.quantizer.codebooks,
            )
            self.optimizer.zero_grad(set_to_none=True)
            if distributed.any_rank_true(
                not bool(torch.isfinite(loss)), self.info, self.device
            ):
                bad += 1
                logger.warning(
                    "non-finite loss at step %d (%d in a row); step skipped", step, bad
                )
                if bad >= cfg.run.max_bad_steps:
                    raise TrainingDiverged(
                        f"{bad} consecutive non-finite losses at step {step}"
                    )
                sched.step += 1
                continue
            bad = 0
            loss.backward()
            self.optimizer.step()
            sched.step += 1
            images_since_log += cfg.optim.batch_size
            pace = pacer.pace_after(sched.step, sched.total_steps)
            if pace is not None:
                self._resize(pacer, pace)
            if (  # every step until the first log interval: a live plot starts at once
                sched.step % cfg.run.log_every_steps == 0
                or sched.step - step0 < cfg.run.log_every_steps
                or sched.step == sched.total_steps
            ):
                now = time.perf_counter()
                self.last_losses = {
                    "total": float(loss.detach()),
                    **{k: float(v) for k, v in parts.items()},
                }
                self.rep.emit(
                    "step", step=sched.step, epoch=epoch, total_steps=sched.total_steps,
                    losses=self.last_losses, lr=lr,
                    images_per_s=images_since_log / max(now - t_log, 1e-9),
                    eta_s=(sched.total_steps - sched.step) * (now - t_run0) / max(1, sched.step - step0),
                    codeword_usage=self._usage(v1.f, v2.f),
                )  # fmt: skip
                t_log, images_since_log = now, 0
            sched.elapsed_s = pacer.elapsed_s()
            epoch_done = sched.step % sched.steps_per_epoch == 0
            if epoch_done:
                self.rep.emit(
                    "epoch_end", epoch=epoch, step=sched.step, losses=self.last_losses
                )
            if (
                epoch_done
                or time.perf_counter() - last_ckpt > cfg.run.checkpoint_every_min * 60
            ):
                self._checkpoint("last.pt")
                last_ckpt = time.perf_counter()
            every = cfg.run.eval_every_epochs
            if (
                epoch_done
                and every > 0
                and (epoch + 1) % every == 0
                and sched.step < sched.total_steps
            ):
                self._evaluate(epoch)
            if 0 < cfg.run.stop_at_step <= sched.step < sched.total_steps:
                logger.info("pausing at step %d (run.stop_at_step)", sched.step)
                paused = True
                break
            # A safety net, not the plan: the pacer keeps the schedule on the budget.
            if 0 < pacer.budget_s * 1.25 < sched.elapsed_s:
                logger.warning(
                    "time budget exceeded at step %d of %d; stopping",
                    sched.step,
                    sched.total_steps,
                )
                break
        finished = not paused
        if finished and self.info.is_main:
            fitted = fit_search_codes(
                self.model, self.data.pixels, cfg, device=self.device
            )
            self.rep.emit(
                "search_codes", step=sched.step, codes=fitted.pop("kind"), **fitted
            )
        if finished or sched.step % sched.steps_per_epoch:
            self._checkpoint("last.pt")  # an epoch end has just saved otherwise
        if cfg.run.eval_at_end:
            self._evaluate(sched.step // sched.steps_per_epoch)
        return TrainResult(
            self.model,
            self.out,
            sched,
            self.last_losses,
            self.data.description,
            len(self.data.pixels),
        )

    def _resize(self, pacer: BudgetPacer, pace: float) -> None:
        """Fit the rest of the schedule into the budget at `pace` s/step (same on all ranks)."""
        total = steps_for_budget(
            budget_s=pacer.budget_s,
            elapsed_s=pacer.elapsed_s(),
            steps_done=self.sched.step,
            seconds_per_step=pace,
        )
        if self.cfg.optim.max_steps > 0:
            total = min(total, self.cfg.optim.max_steps)
        total = distributed.broadcast_int(total, self.info, self.device)
        log = logger.info if not self.sched.budget_fixed else logger.debug
        log("time budget: %.3f s/step -> %d steps in total", pace, total)
        self.sched.total_steps, self.sched.budget_fixed = total, True
        self._set_warmup()

    def _usage(self, f1: torch.Tensor, f2: torch.Tensor) -> list[float]:
        """Per-codebook fraction of codewords used by the batch's hard codes."""
        with torch.no_grad():
            codes = self.model.quantizer.hard_codes(
                torch.cat([f1, f2]).float()
            )  # (2b, M)
        K = self.model.quantizer.ksub
        return [
            round(len(torch.unique(codes[:, m])) / K, 4) for m in range(codes.shape[1])
        ]

    def _payload(self) -> dict[str, Any]:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "schedule": dict(vars(self.sched)),
            "config": self.cfg.to_dict(),
            "code_version": code_version(),
            "rng": torch.get_rng_state(),
            "losses": dict(self.last_losses),
            "data": self.data.description,
            "n_images": len(self.data.pixels),
            "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }

    def _checkpoint(self, name: str) -> None:
        if self.info.is_main:
            path = save_checkpoint(self.out / name, self._payload())
            self.rep.emit("checkpoint", path=str(path), step=self.sched.step)
        distributed.barrier(self.info)

    def _restore(self, path: Path) -> None:
        payload = load_checkpoint(path)
        # Search codes are fitted when the schedule ends; training goes on without them.
        self.model.load_weights(without_search_state(payload["model"]))
        self.optimizer.load_state_dict(payload["optimizer"])
        self.sched = Schedule(**payload["schedule"])
        torch.set_rng_state(payload["rng"])
        self.last_losses = dict(payload.get("losses", {}))
        logger.info(
            "resumed from %s at step %d of %d",
            path,
            self.sched.step,
            self.sched.total_steps,
        )

    def _evaluate(self, epoch: int) -> None:
        sets = self.data.eval_sets
        if self.info.is_main and sets:
            metrics = evaluate_corpora(self.model, sets, device=self.device)
            record = {"step": self.sched.step, "epoch": epoch, **metrics}
            self.sched.evals.append(record)
            with (self.out / "metrics.jsonl").open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(record) + "\n")
            self.rep.emit("eval", **record)
            save_checkpoint(self.out / "last.pt", self._payload())  # with this eval
            if metrics["map"] > self.sched.best_map:
                self.sched.best_map = float(metrics["map"])
                save_checkpoint(self.out / "best.pt", self._payload())
            if not math.isfinite(metrics["map"]):
                logger.warning("evaluation mAP is not finite")
        distributed.barrier(self.info)
