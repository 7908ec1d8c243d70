"""`WindowGeometryStore`: keeps the main window's geometry and dock state in an ini file.

The app's only `QSettings` user (STYLE.md: `QSettings` holds window geometry and state);
everything the user chooses lives in `AppSettings`, never here.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import QMainWindow


class WindowGeometryStore:
    """Saves and restores a `QMainWindow`'s geometry and state.

    Args:
        path: the ini file; None keeps nothing (tests, screenshots).
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path

    def restore(self, window: QMainWindow) -> None:
        """Give `window` the geometry and state saved last, if any."""
        qs = self._qsettings()
        if qs is None:
            return
        geometry = qs.value("window/geometry")
        if isinstance(geometry, QByteArray):
            window.restoreGeometry(geometry)
        state = qs.value("window/state")
        if isinstance(state, QByteArray):
            window.restoreState(state)

    def save(self, window: QMainWindow) -> None:
        """Write `window`'s geometry and state to the ini file now."""
        qs = self._qsettings()
        if qs is not None:
            qs.setValue("window/geometry", window.saveGeometry())
            qs.setValue("window/state", window.saveState())
            qs.sync()

    def _qsettings(self) -> QSettings | None:
        if self.path is None:
            return None
        return QSettings(str(self.path), QSettings.Format.IniFormat)
