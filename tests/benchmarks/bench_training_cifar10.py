"""CIFAR-10 CPU comparison: five arms, same backbone and CPU budget, 32 bits, mAP@1000.

Run in the background (about an hour on 2 cores with 15-minute arms):
``python tests/benchmarks/bench_training_cifar10.py 15 > runs/cifar10_cpu.log 2>&1 &``
Same as ``python -m training benchmark cifar10-cpu --minutes-per-arm 15``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from training.benchmark import cifar10_cpu

if __name__ == "__main__":
    minutes = float(sys.argv[1]) if len(sys.argv) > 1 else 15.0
    print(
        json.dumps(
            cifar10_cpu(minutes, out=Path("runs/benchmark"), overrides=[]), indent=2
        )
    )
