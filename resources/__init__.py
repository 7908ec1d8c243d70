"""Data files shipped with SSCQ Desktop (the default model, icons, desktop metadata).

Installed as the import package ``sscq_desktop_resources`` so the files travel in the wheel.
"""
