"""Why a photo could not be indexed, in a person's words.

The library records a short technical reason per failed photo (`ImageLoadError`'s text,
the decoder pool's timeout or crash, a model error); `explain_failure` turns it into a
sentence that says what happened and what the user can do, for the GUI's failed-photos
list and the CLI alike. The technical reason is never hidden: callers show it as the
details.
"""

from __future__ import annotations

import re

from sscq_desktop.library.images.decode_pool import CRASH_ERROR

_EXPLANATIONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), text)
    for pattern, text in (
        (
            r"^file not found",
            "The file is gone: it was moved, renamed or deleted after the folder "
            "was scanned. It is picked up again wherever it reappears in a folder "
            "of the library.",
        ),
        (
            r"permission denied",
            "This app is not allowed to read the file. Check the file's permissions "
            "(or the folder's), then use Retry all.",
        ),
        (
            r"^empty file",
            "The file is empty (0 bytes), usually a copy or download that did not "
            "finish. Copy it again from where it came from.",
        ),
        (
            r"^not an image",
            "This file is not a photo, or it is in a format the app cannot read.",
        ),
        (
            r"^corrupt or truncated",
            "The file is damaged or incomplete, often a copy or download that was "
            "cut off. Other programs may show part of it; copy it again if you can.",
        ),
        (
            r"^too large|decompression bomb|^invalid image size",
            "The picture is too large (or claims an impossible size) to open safely, "
            "so it was skipped to protect the app.",
        ),
        (
            r"^out of memory",
            "There was not enough free memory to open this photo. Close other "
            "programs and use Retry all.",
        ),
        (
            rf"^{re.escape(CRASH_ERROR)}",
            "Opening this file crashed the image decoder. It was skipped so that "
            "the rest of the library could be indexed; the file is probably damaged.",
        ),
        (
            r"^decoding took longer than",
            "Opening this file took too long, so it was skipped so that the rest of "
            "the library could be indexed. The file may be damaged or unusually "
            "large; Retry all tries again.",
        ),
        (
            r"^cannot read file",
            "The file could not be read from the disk (a drive or network problem). "
            "Check that the drive is connected, then use Retry all.",
        ),
    )
)


def explain_failure(reason: str) -> str:
    """What happened to a photo that failed, as a sentence a person understands.

    Args:
        reason: The reason the library recorded (``Library.errors``).

    Returns:
        The explanation; for a reason not known here, a plain sentence that quotes it.
    """
    text = reason.strip()
    for pattern, explanation in _EXPLANATIONS:
        if pattern.search(text):
            return explanation
    detail = text.rstrip(".") or "no reason was recorded"
    return f"The photo could not be read ({detail})."
