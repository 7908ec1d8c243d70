"""Drop the optimizer state from a training checkpoint, so it fits a 16 MiB transfer.

``python packaging/gpu/slim_checkpoint.py last.pt slim.pt``: the result still resumes
nothing, but `python -m training export` and ``--init-from`` read it like the original.
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    """Copy ``argv[0]`` to ``argv[1]`` without ``optimizer`` and ``rng``."""
    if len(argv) != 2:
        print("usage: slim_checkpoint.py CHECKPOINT OUT", file=sys.stderr)
        return 2
    import torch  # the training side's dependency, present where this runs

    payload = torch.load(argv[0], map_location="cpu", weights_only=False)
    for key in ("optimizer", "rng"):
        payload.pop(key, None)
    torch.save(payload, argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
