"""The desktop GUI (PySide6): main window, Qt models and views, tasks, dialogs.

The only package that imports Qt (with `sscq_desktop.app`); a thin layer over
`sscq_desktop.library.library.Library` and its records, used directly, with all
blocking work in `tasks.Task`s and every library write ordered by `IndexingWorker`.
"""
