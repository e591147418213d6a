"""Per-user folders: overrides, XDG rules, and private creation."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from agentor_core import paths

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
linux_like = pytest.mark.skipif(
    sys.platform in {"win32", "darwin"}, reason="XDG applies to Linux and other Unixes"
)

KINDS = [
    ("cache", "AGENTOR_CACHE_DIR"),
    ("state", "AGENTOR_STATE_DIR"),
    ("config", "AGENTOR_CONFIG_DIR"),
]
XDG = {"cache": ("XDG_CACHE_HOME", ".cache"), "state": ("XDG_STATE_HOME", ".local/state")}
XDG["config"] = ("XDG_CONFIG_HOME", ".config")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    for _, variable in KINDS:
        monkeypatch.delenv(variable, raising=False)
    for variable, _ in XDG.values():
        monkeypatch.delenv(variable, raising=False)
    return home


@pytest.mark.parametrize(("kind", "variable"), KINDS)
def test_override(
    kind: paths.Kind,
    variable: str,
    clean_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv(variable, str(tmp_path / "elsewhere"))
    assert paths.user_dir(kind) == tmp_path / "elsewhere"
    monkeypatch.setenv(variable, "~/agentor-x")
    assert paths.user_dir(kind) == clean_env / "agentor-x"


def test_cache_dir_override(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AGENTOR_CACHE_DIR", str(tmp_path / "c"))
    assert paths.cache_dir() == tmp_path / "c"
    assert not (tmp_path / "c").exists()


@linux_like
@pytest.mark.parametrize("kind", ["cache", "state", "config"])
def test_xdg_absolute_used(
    kind: paths.Kind, clean_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    variable, _ = XDG[kind]
    monkeypatch.setenv(variable, str(tmp_path / "xdg"))
    assert paths.user_dir(kind) == tmp_path / "xdg" / "agentor"


@linux_like
@pytest.mark.parametrize("kind", ["cache", "state", "config"])
def test_xdg_relative_ignored(
    kind: paths.Kind, clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    variable, fallback = XDG[kind]
    monkeypatch.setenv(variable, "relative/xdg")
    assert paths.user_dir(kind) == clean_env / fallback / "agentor"
    monkeypatch.setenv(variable, "")
    assert paths.user_dir(kind) == clean_env / fallback / "agentor"


@linux_like
def test_defaults_under_home(clean_env: Path) -> None:
    assert paths.cache_dir() == clean_env / ".cache" / "agentor"
    assert paths.state_dir() == clean_env / ".local" / "state" / "agentor"
    assert paths.config_dir() == clean_env / ".config" / "agentor"


def test_macos_folders(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(paths.sys, "platform", "darwin")
    monkeypatch.setenv("XDG_CACHE_HOME", "/ignored/on/macos")
    assert paths.cache_dir() == clean_env / "Library" / "Caches" / "agentor"
    assert paths.config_dir() == clean_env / "Library" / "Application Support" / "agentor"


@posix_only
def test_ensure_private_dir_creates_0700(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "state"
    assert paths.ensure_private_dir(target) == target
    assert target.is_dir()
    assert stat.S_IMODE(target.stat().st_mode) == 0o700
    # Idempotent on a folder that is already private.
    assert paths.ensure_private_dir(target) == target


@posix_only
@pytest.mark.parametrize("mode", [0o777, 0o770, 0o702, 0o720])
def test_ensure_private_dir_refuses_writable_by_others(tmp_path: Path, mode: int) -> None:
    target = tmp_path / "shared"
    target.mkdir()
    target.chmod(mode)
    with pytest.raises(PermissionError, match="writable by group or others"):
        paths.ensure_private_dir(target)


@posix_only
def test_ensure_private_dir_accepts_readable_by_others(tmp_path: Path) -> None:
    target = tmp_path / "readable"
    target.mkdir()
    target.chmod(0o755)
    assert paths.ensure_private_dir(target) == target


def test_ensure_private_dir_refuses_a_file(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(FileExistsError):
        paths.ensure_private_dir(target)
