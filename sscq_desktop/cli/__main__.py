"""``python -m sscq_desktop.cli``: the same as the ``sscq-desktop`` command."""

from __future__ import annotations

import sys

from sscq_desktop.cli import main

if __name__ == "__main__":
    sys.exit(main())
