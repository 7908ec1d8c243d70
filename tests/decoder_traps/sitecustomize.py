"""Decoder traps for the crash-isolation tests: put this folder on ``PYTHONPATH``.

Every Python process started with ``SSCQ_TEST_DECODER_TRAPS=1`` and this folder on its
path (the app's decoder workers, and the command line itself) imports it at start-up.
Pillow's ``Image.open`` then aborts the process on a file named ``crash.jpg``, as a
crashing native decoder would, and sleeps for an hour on ``hang.jpg``. A process that
decoded such a file outside a worker would die or hang: the tests see it.
"""

from __future__ import annotations

import os
from typing import Any

if os.environ.get("SSCQ_TEST_DECODER_TRAPS") == "1":
    import time

    from PIL import Image

    _open = Image.open

    def _trapped_open(fp: Any, *args: Any, **kwargs: Any) -> Image.Image:
        name = (
            os.path.basename(os.fsdecode(fp))
            if isinstance(fp, str | os.PathLike)
            else ""
        )
        if name == "crash.jpg":
            try:
                import resource

                resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core file
            except (ImportError, ValueError, OSError):
                pass
            os.abort()
        if name == "hang.jpg":
            time.sleep(3600)
        return _open(fp, *args, **kwargs)

    Image.open = _trapped_open  # type: ignore[assignment]
