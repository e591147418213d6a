"""Key handling: a replaced private key is private, never written through a symlink."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from agentor_core.errors import AgentorError
from agentor_toolkit.errors import ToolkitCode
from agentor_toolkit.signing import (
    keygen,
)

_HEADER = b"\x00asm\x0d\x00\x01\x00"


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_keygen_force_leaves_no_readable_private_key(tmp_path: Path) -> None:
    key = tmp_path / "me"
    key.write_bytes(b"old")
    key.chmod(0o644)
    keygen(key, force=True)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


@pytest.mark.skipif(os.name != "posix", reason="symbolic links")
def test_keygen_force_does_not_write_through_a_symlink(tmp_path: Path) -> None:
    elsewhere = tmp_path / "shared.txt"
    elsewhere.write_bytes(b"not a key")
    elsewhere.chmod(0o644)
    key = tmp_path / "me"
    key.symlink_to(elsewhere)
    keygen(key, force=True)
    assert elsewhere.read_bytes() == b"not a key"
    assert not key.is_symlink()
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


@pytest.mark.skipif(os.name != "posix", reason="symbolic links")
def test_keygen_refuses_a_dangling_symlink_without_force(tmp_path: Path) -> None:
    key = tmp_path / "me"
    key.symlink_to(tmp_path / "elsewhere" / "planted")
    (tmp_path / "elsewhere").mkdir()
    with pytest.raises(AgentorError) as caught:
        keygen(key)
    assert caught.value.code == ToolkitCode.KEY_EXISTS
    assert not (tmp_path / "elsewhere" / "planted").exists()
