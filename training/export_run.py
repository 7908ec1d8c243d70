"""Export a training checkpoint to the model artifact, with its metadata and parity check.

Builds the artifact's ``training`` metadata (data, image count, epochs, final losses, date,
code version, resolved config) and ``metrics`` (last and best evaluation) from the
checkpoint, so the ONNX file alone tells how the model was made.
"""

from __future__ import annotations

import math
import re
import time
from pathlib import Path
from typing import Any

from training.builder import model_from_checkpoint
from training.export import check_parity, export_artifact


def export_checkpoint(
    checkpoint: str | Path,
    out: str | Path,
    *,
    model_id: str | None = None,
    parity: bool = True,
) -> dict[str, Any]:
    """Write ``out`` (and ``out.pt``) from a checkpoint; return a JSON-able summary.

    Raises:
        training.export.ExportParityError: if onnxruntime disagrees with PyTorch.
    """
    model, cfg, payload = model_from_checkpoint(checkpoint)
    sched = payload.get("schedule", {})
    evals = list(sched.get("evals", []))
    steps = int(sched.get("step", 0))
    spe = max(1, int(sched.get("steps_per_epoch", 1)))
    books = model.search_codebooks()  # (M, K, L) of the exported codes
    bits = int(books.shape[0]) * round(math.log2(int(books.shape[1])))
    mid = model_id or _default_model_id(cfg.model.backbone, bits)
    training = {
        "method": f"{cfg.loss.kind} (arXiv 2206.09806)",
        "data": str(payload.get("data", "")),
        "images": int(payload.get("n_images", 0)),
        "steps": steps,
        "epochs": round(steps / spe, 2),
        "final_losses": dict(payload.get("losses", {})),
        "date": str(payload.get("saved_at", "")),
        "code_version": str(payload.get("code_version", "")),
        "config": cfg.to_dict(),
    }
    metrics: dict[str, Any] | None = None
    if evals:
        best = max(evals, key=lambda e: float(e["map"]))
        metrics = {
            "last": evals[-1],
            "best": best,
            "note": "best is selected on the query set itself",
        }
    artifact = export_artifact(
        model, cfg, out, model_id=mid, training=training, metrics=metrics
    )
    summary: dict[str, Any] = {
        "artifact": str(artifact.path),
        "model_id": mid,
        "bits": bits,
    }
    if parity:
        report = check_parity(model, artifact)
        summary["parity"] = {
            "max_abs_diff": {str(k): v for k, v in report.max_abs_diff.items()},
            "tolerance": report.tolerance,
            "codes_agree": {str(k): v for k, v in report.codes_agree.items()},
        }
    return summary


def _default_model_id(backbone: str, bits: int) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return re.sub(r"[^A-Za-z0-9._-]", "-", f"sscq-{backbone}-{bits}bit-{stamp}")
