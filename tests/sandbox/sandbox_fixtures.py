"""Builders for the sandbox test fixtures, shared by tests/sandbox and tests/security/sandbox.

Expensive artifacts (the componentize-py build, the native compile of the
component) are made once and cached by source hash under
``cache_dir() / "test-fixtures"``, so CI's isolation run and full run share them.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import shutil
import subprocess
import sys
import tempfile
from importlib import resources
from pathlib import Path

import wasmtime

from agentor_core.paths import cache_dir
from agentor_core.wit import wit_source

FIXTURES = Path(__file__).parent / "fixtures"
PYTOOL_SOURCE = FIXTURES / "pytool" / "app.py"


def fixture_cache() -> Path:
    path = cache_dir() / "test-fixtures"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def compile_cache_dir() -> Path:
    # Shared across sessions so the component's native compile happens once.
    return fixture_cache() / "sandbox-compile-cache"


def wat_file(directory: Path, name: str, wat: str) -> Path:
    path = directory / f"{name}.wasm"
    path.write_bytes(wasmtime.wat2wasm(wat))
    return path


def _componentize() -> list[str]:
    beside = Path(sys.executable).parent / "componentize-py"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("componentize-py")
    if found is None:
        raise RuntimeError("componentize-py is not installed (tests' dependency group)")
    return [found]


def build_pytool() -> Path:
    """The Python test component, built once per (app.py, WIT, componentize-py version)."""
    digest = hashlib.sha256()
    digest.update(PYTOOL_SOURCE.read_bytes())
    digest.update(wit_source().encode())
    digest.update(importlib.metadata.version("componentize-py").encode())
    target = fixture_cache() / f"sandbox-pytool-{digest.hexdigest()[:16]}.wasm"
    if target.exists():
        return target
    with (
        resources.as_file(resources.files("agentor_core") / "wit") as wit,
        tempfile.TemporaryDirectory() as work,
    ):
        out = Path(work) / "pytool.wasm"
        subprocess.run(
            [
                *_componentize(),
                "-d",
                str(wit),
                "-w",
                "toolbox",
                "componentize",
                "-p",
                str(PYTOOL_SOURCE.parent),
                "app",
                "-o",
                str(out),
            ],
            check=True,
            capture_output=True,
            cwd=work,
        )
        fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".wasm")
        os.close(fd)
        shutil.copyfile(out, tmp)
        Path(tmp).replace(target)
    return target


GENERIC_DIR = FIXTURES / "generic"


def build_generic() -> Path:
    """A component of a custom WIT world (not agentor:tool), built once per source hash."""
    digest = hashlib.sha256()
    for part in ("app.py", "wit/world.wit"):
        digest.update((GENERIC_DIR / part).read_bytes())
    digest.update(importlib.metadata.version("componentize-py").encode())
    target = fixture_cache() / f"sandbox-generic-{digest.hexdigest()[:16]}.wasm"
    if target.exists():
        return target
    with tempfile.TemporaryDirectory() as work:
        out = Path(work) / "generic.wasm"
        subprocess.run(
            [
                *_componentize(),
                "-d",
                str(GENERIC_DIR / "wit"),
                "-w",
                "generic",
                "componentize",
                "-p",
                str(GENERIC_DIR),
                "app",
                "-o",
                str(out),
            ],
            check=True,
            capture_output=True,
            cwd=work,
        )
        fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".wasm")
        os.close(fd)
        shutil.copyfile(out, tmp)
        Path(tmp).replace(target)
    return target


ECHO_WAT = r"""
(module
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const 60000))
    (drop (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
    (i32.store (i32.const 4) (i32.load (i32.const 8)))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 12)))
  )
)
"""
"""Echoes its JSON arguments (stdin) back as its result (stdout)."""

CHANNEL_ECHO_WAT = r"""
(module
  (import "agentor:tool/core@0.1.0" "input-read" (func $read (param i32 i32) (result i32)))
  (import "agentor:tool/core@0.1.0" "output-write" (func $write (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (drop (call $write (i32.const 64) (call $read (i32.const 64) (i32.const 60000)))))
)
"""
"""Echoes its arguments through the host channel: no WASI import, so no WASI context."""


def print_wat(body: str, *, imports: str = "", data: str = "", memory: int = 1) -> str:
    """A command module whose ``_start`` runs ``body`` and may call ``$print(ptr, len)``."""
    return f"""
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  {imports}
  (memory (export "memory") {memory})
  {data}
  (func $print (param $ptr i32) (param $len i32) (result i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
  (func (export "_start") {body})
)
"""
