"""The compile cache loads only what it can prove it wrote."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import wasmtime
from sandbox_fixtures import ECHO_WAT

from agentor_core import Capabilities, ToolCall
from agentor_sandbox import CompileCache, CompileProgress, SandboxRuntime, Stage
from agentor_sandbox.cache import KEY_FILE, key_for


def _run_echo(cache: Path, seen: list[CompileProgress]) -> None:
    with SandboxRuntime(cache_dir=cache, on_compile=seen.append) as rt:
        rt.load_bytes(wasmtime.wat2wasm(ECHO_WAT), source="echo.wasm", default_name="echo")
        result = rt.invoke(ToolCall(id="1", tool="echo", arguments={"x": 1}), Capabilities())
        assert result.error is None


def test_second_load_comes_from_the_cache(tmp_path: Path) -> None:
    first: list[CompileProgress] = []
    _run_echo(tmp_path, first)
    assert [p.stage for p in first] == [Stage.COMPILING, Stage.COMPILED]
    second: list[CompileProgress] = []
    _run_echo(tmp_path, second)
    assert [p.stage for p in second] == [Stage.CACHED]


def test_key_file_is_private(tmp_path: Path) -> None:
    _run_echo(tmp_path, [])
    mode = (tmp_path / KEY_FILE).stat().st_mode & 0o777
    assert mode == 0o600
    assert (tmp_path.stat().st_mode & 0o077) == 0


@pytest.mark.parametrize("where", ["header", "tag", "body", "truncate"])
def test_tampered_artifact_is_never_loaded(tmp_path: Path, where: str) -> None:
    _run_echo(tmp_path, [])
    (artifact,) = tmp_path.glob("*.cwasm")
    blob = bytearray(artifact.read_bytes())
    if where == "header":
        blob[0] ^= 1
    elif where == "tag":
        blob[10] ^= 1
    elif where == "body":
        blob[len(blob) // 2] ^= 1
    else:
        del blob[len(blob) // 2 :]
    artifact.write_bytes(bytes(blob))
    seen: list[CompileProgress] = []
    _run_echo(tmp_path, seen)
    assert [p.stage for p in seen] == [Stage.COMPILING, Stage.COMPILED]


def test_artifact_signed_with_another_key_is_refused(tmp_path: Path) -> None:
    _run_echo(tmp_path, [])
    (tmp_path / KEY_FILE).write_bytes(os.urandom(32))
    seen: list[CompileProgress] = []
    _run_echo(tmp_path, seen)
    assert seen[0].stage is Stage.COMPILING


def test_loose_key_permissions_mean_no_cache(tmp_path: Path) -> None:
    _run_echo(tmp_path, [])
    (tmp_path / KEY_FILE).chmod(0o644)
    seen: list[CompileProgress] = []
    _run_echo(tmp_path, seen)
    assert [p.stage for p in seen] == [Stage.COMPILING, Stage.COMPILED]


def test_keys_differ_by_kind_and_hash(tmp_path: Path) -> None:
    a = key_for("a" * 64, "module")
    assert a.digest != key_for("b" * 64, "module").digest
    assert a.digest != key_for("a" * 64, "component").digest
    assert "wasmtime=" in a.fingerprint
    cache = CompileCache(tmp_path)
    assert cache.load(a) is None
    cache.store(a, b"artifact")
    assert cache.load(a) == bytearray(b"artifact")
    assert cache.load(key_for("b" * 64, "module")) is None
