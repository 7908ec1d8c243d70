"""Training data: image folders, the CIFAR-10 archive, decoded-pixel caches and splits.

Labels are read only for evaluation; the training loop sees pixels alone.
"""

from __future__ import annotations
