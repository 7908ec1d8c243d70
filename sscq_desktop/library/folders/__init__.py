"""The library's root folders on disk: listing, reconciling, watching, online or not.

- ``scanner``: walks the folders and reconciles the disk with the catalog's rows.
- ``watcher`` / ``network_fs``: debounced change events (polling on network drives).
- ``root_status``: whether each root can be read now (an unplugged drive is offline,
  its photos are kept).
- ``subfolders``: the folders below the roots that hold indexed photos, with their
  counts, from the catalog's paths.

The only catalog write here is a root's online or offline mark
(`root_status.check_root`); no Qt.
"""

from __future__ import annotations
