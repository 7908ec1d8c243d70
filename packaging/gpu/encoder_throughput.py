"""The app's encoder (`OnnxEncoder`) on every onnxruntime device here: photos per second.

``python packaging/gpu/encoder_throughput.py MODEL.onnx [N]`` encodes N (default 4096)
random photos at the model's input size, in the app's batches, once per available device
(CPU, and CUDA where this onnxruntime build has the CUDA provider; a plain `onnxruntime`
has none, and the app falls back to the CPU when CUDA does not really work) and prints
one JSON line with the providers the build offers.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

from sscq_desktop.model.artifact import read_artifact
from sscq_desktop.model.encoder import OnnxEncoder, available_devices


def main(argv: list[str]) -> int:
    """Print ``{"model", "photos", "devices": {device: photos/s}}``."""
    if not 1 <= len(argv) <= 2:
        print("usage: encoder_throughput.py MODEL.onnx [N]", file=sys.stderr)
        return 2
    artifact = read_artifact(argv[0])
    n = int(argv[1]) if len(argv) == 2 else 4096
    size = artifact.metadata.input.size
    photos = np.random.default_rng(0).integers(0, 256, (n, size, size, 3), np.uint8)
    rates = {}
    devices = ["cpu"] + (
        ["cuda"] if "CUDAExecutionProvider" in available_devices() else []
    )
    for device in devices:
        encoder = OnnxEncoder(artifact, device=device)
        encoder.encode(photos[:64])  # warm-up: session start, kernels, allocator
        t0 = time.perf_counter()
        for start in range(0, n, 256):
            encoder.encode(photos[start : start + 256])
        rates[f"{device} ({encoder.provider_name})"] = round(
            n / (time.perf_counter() - t0), 1
        )
    print(json.dumps({"model": artifact.metadata.model_id, "photos": n, "devices": rates,
                      "providers": available_devices()}))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
