"""Training and onnxruntime throughput per backbone and input size (not run by pytest).

Run: ``python tests/benchmarks/bench_training_throughput.py`` (about 2 minutes on 2 cores).
The figures chose the photos recipe's backbone: see training/models/compact_net.py.
"""

from __future__ import annotations

import json

from training.benchmark import measure_throughput

if __name__ == "__main__":
    for row in measure_throughput():
        print(json.dumps(row))
