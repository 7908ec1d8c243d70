"""Every read of an untrusted image file: decoding, worker processes, thumbnails.

- ``image_loader`` / ``decode_budget``: robust decoding (EXIF, draft, pixel cap,
  modes, errors) within a memory budget shared by concurrent decodes.
- ``decode_pool``: worker processes for every decode; a decode that hangs or crashes
  kills its worker only, and fails that file.
- ``content_key`` / ``thumbnails``: a cheap content identity (moves, thumbnail names)
  and the thumbnail cache.
- ``renderer``: what the GUI shows (cached thumbnails, remade when lost; previews and
  outside images decoded in its own pool): the GUI never decodes an image file.

No catalog and no Qt.
"""

from __future__ import annotations
