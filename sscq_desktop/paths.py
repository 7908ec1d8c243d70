"""Where the app keeps its files: catalog, models, thumbnails, settings, logs.

Uses platformdirs; the environment variable ``SSCQ_DESKTOP_HOME`` moves every folder under
one root (tests, portable installs). Folders are created with user-only permissions.
This module only names and creates folders; it reads and writes nothing else.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import platformdirs

APP_NAME = "sscq-desktop"
HOME_ENV = "SSCQ_DESKTOP_HOME"
DEFAULT_MODEL_FILENAME = "default_model.onnx"
DEFAULT_MODEL_ENV = "SSCQ_DESKTOP_DEFAULT_MODEL"


@dataclass(frozen=True)
class AppPaths:
    """The app's folders.

    Attributes:
        data_dir: Catalog (``catalog.sqlite3``) and ``models/``.
        cache_dir: Thumbnails.
        config_dir: Settings.
        log_dir: Log files.
    """

    data_dir: Path
    cache_dir: Path
    config_dir: Path
    log_dir: Path

    @property
    def catalog_path(self) -> Path:
        """The SQLite catalog."""
        return self.data_dir / "catalog.sqlite3"

    @property
    def models_dir(self) -> Path:
        """Models trained or imported by the user."""
        return self.data_dir / "models"

    @property
    def thumbnails_dir(self) -> Path:
        """Thumbnail cache."""
        return self.cache_dir / "thumbnails"

    @property
    def settings_path(self) -> Path:
        """The settings file (TOML)."""
        return self.config_dir / "settings.toml"

    def ensure(self) -> AppPaths:
        """Create every folder (mode 0700) and return self."""
        for folder in (
            self.data_dir,
            self.cache_dir,
            self.config_dir,
            self.log_dir,
            self.models_dir,
            self.thumbnails_dir,
        ):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        return self


def app_paths(home: str | os.PathLike[str] | None = None) -> AppPaths:
    """The app's folders: under `home`, else ``$SSCQ_DESKTOP_HOME``, else platformdirs.

    Args:
        home: Optional root folder that overrides everything else.

    Returns:
        The folders (not yet created; call `AppPaths.ensure`).
    """
    root = home if home is not None else os.environ.get(HOME_ENV)
    if root:
        base = Path(root).expanduser().resolve()
        return AppPaths(
            data_dir=base / "data",
            cache_dir=base / "cache",
            config_dir=base / "config",
            log_dir=base / "logs",
        )
    dirs = platformdirs.PlatformDirs(APP_NAME, appauthor=False)
    return AppPaths(
        data_dir=Path(dirs.user_data_dir),
        cache_dir=Path(dirs.user_cache_dir),
        config_dir=Path(dirs.user_config_dir),
        log_dir=Path(dirs.user_log_dir),
    )


def resource_path(name: str) -> Path:
    """Path of a file shipped in ``resources/`` (installed or in a source checkout)."""
    return Path(str(resources.files("sscq_desktop_resources").joinpath(name)))


def default_model_path() -> Path:
    """The default model artifact: ``$SSCQ_DESKTOP_DEFAULT_MODEL``, else the shipped one.

    The variable lets packagers keep the model elsewhere (and tests run without one).
    """
    override = os.environ.get(DEFAULT_MODEL_ENV)
    if override:
        return Path(override).expanduser()
    return resource_path(DEFAULT_MODEL_FILENAME)


def proposed_pictures_dir() -> Path:
    """The platform's Pictures folder, proposed on first run."""
    return Path(platformdirs.user_pictures_dir())


def browse_start_dir() -> Path:
    """Where file dialogs open: the Pictures folder, else the home folder.

    Never the process's working folder, which for a desktop app is arbitrary.
    """
    pictures = proposed_pictures_dir()
    return pictures if pictures.is_dir() else Path.home()
