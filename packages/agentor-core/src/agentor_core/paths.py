"""Where agentor keeps per-user cache, state and configuration.

Standard library only, so every distribution can agree on the same folders.
Each can be moved with an ``AGENTOR_*_DIR`` variable (CI, containers, tests).
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path
from typing import Final, Literal

Kind = Literal["cache", "state", "config"]

_OVERRIDE: Final = {
    "cache": "AGENTOR_CACHE_DIR",
    "state": "AGENTOR_STATE_DIR",
    "config": "AGENTOR_CONFIG_DIR",
}
_XDG: Final = {
    "cache": ("XDG_CACHE_HOME", ".cache"),
    "state": ("XDG_STATE_HOME", ".local/state"),
    "config": ("XDG_CONFIG_HOME", ".config"),
}
_MACOS: Final = {
    "cache": "Library/Caches/agentor",
    "state": "Library/Application Support/agentor/state",
    "config": "Library/Application Support/agentor",
}


def user_dir(kind: Kind) -> Path:
    """The folder for ``kind``; not created (see :func:`ensure_private_dir`)."""
    override = os.environ.get(_OVERRIDE[kind])
    if override:
        return Path(override).expanduser()
    home = Path.home()
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(home / "AppData" / "Local")
        return Path(base) / "agentor" / kind
    if sys.platform == "darwin":
        return home / _MACOS[kind]
    variable, fallback = _XDG[kind]
    xdg = os.environ.get(variable)
    # The XDG spec says relative values are invalid and must be ignored.
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else home / fallback
    return base / "agentor"


def cache_dir() -> Path:
    return user_dir("cache")


def state_dir() -> Path:
    return user_dir("state")


def config_dir() -> Path:
    return user_dir("config")


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (mode 0700) if needed and refuse one that others can write to.

    Compiled code and audit logs live here: a folder writable by another user
    would let that user plant files the host later trusts.
    """
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.stat()
    if os.name == "posix":
        if hasattr(os, "getuid") and info.st_uid != os.getuid():
            raise PermissionError(f"{path} is owned by another user")
        if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise PermissionError(f"{path} is writable by group or others (chmod 700 {path})")
    return path
