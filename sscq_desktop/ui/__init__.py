"""The desktop GUI (PySide6): main window, Qt models and views, tasks, dialogs.

The only package that imports Qt (with `sscq_desktop.app`); it reaches the library
through `library_backend.LibraryBackend` and runs all blocking work in `tasks.Task`s.
"""
