"""`emit`: emit a Qt signal from Python, safely on every supported PySide6.

PySide6 6.12.0 returns the bool result of ``SignalInstance.emit`` without taking a
reference to it, so each emit drops one reference to ``True``; on Python 3.11 (where
``True`` is not immortal) the interpreter aborts at exit with "bool_dealloc". Every emit
in the GUI goes through this helper, which restores the reference only when a one-time
probe shows the bug, so it stays correct once PySide is fixed.
"""

from __future__ import annotations

import ctypes
import sys
import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal, SignalInstance

_PROBE_EMITS = 256
_lock = threading.Lock()
_leaks: bool | None = None
_incref = ctypes.pythonapi.Py_IncRef
_incref.argtypes = [ctypes.py_object]
_incref.restype = None


def emit(signal: SignalInstance, *args: object) -> None:
    """``signal.emit(*args)``, compensating PySide6's lost reference when needed."""
    leaks = _leaks if _leaks is not None else _probe()
    emit_fn: Callable[..., object] = signal.emit  # the stubs say None; it is a bool
    result = emit_fn(*args)
    if leaks and result is True:
        _incref(True)


def _probe() -> bool:
    global _leaks
    with _lock:
        if _leaks is None:
            probe = _Probe()
            before = sys.getrefcount(True)
            # Many emits, half as a threshold: other threads taking or dropping references
            # to True meanwhile cannot tip the verdict either way.
            for _ in range(_PROBE_EMITS):
                probe.ping.emit()
            _leaks = before - sys.getrefcount(True) >= _PROBE_EMITS // 2
            if _leaks:
                for _ in range(_PROBE_EMITS):
                    _incref(True)  # give back exactly what the probe's emits lost
        return _leaks


class _Probe(QObject):
    ping = Signal()
