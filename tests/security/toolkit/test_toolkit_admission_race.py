"""`agentor tool call` must run the very bytes it verified, not a second read of the path."""

from __future__ import annotations

import errno
import json
import os
import threading
import time
from pathlib import Path

import pytest
import wasmtime
from click.testing import CliRunner

from agentor_cli.app import cli
from agentor_toolkit.component import append_custom_section
from agentor_toolkit.manifest import SECTION_NAME, Manifest
from agentor_toolkit.signing import keygen, sign

# A WASI command module writing a fixed JSON document to stdout.
_WAT = """
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "{text}")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const {size}))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
"""


def _module(document: str) -> bytes:
    text = document.replace('"', '\\"')
    return wasmtime.wat2wasm(_WAT.replace("{text}", text).replace("{size}", str(len(document))))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_call_runs_the_bytes_it_verified(tmp_path: Path) -> None:
    manifest = Manifest.model_validate({"name": "tool", "tools": [{"name": "tool"}]})
    signed = append_custom_section(_module('{"ok":1}'), SECTION_NAME, manifest.canonical())
    evil = _module('{"pwned":1}')
    key = tmp_path / "publisher"
    keygen(key)
    original = tmp_path / "original.wasm"
    original.write_bytes(signed)
    # A FIFO hands out different bytes on each open: the stand-in for a file
    # swapped between the signature check and the compile.
    path = tmp_path / "tool.wasm"
    sign(original, key, path.with_name(path.name + ".sig"))
    os.mkfifo(path)

    def reader_present() -> bool:
        try:
            probe = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno == errno.ENXIO:  # no process has the pipe open for reading
                return False
            raise
        os.close(probe)
        return True

    done = threading.Event()

    def serve() -> None:
        for payload in (signed, evil):
            if done.is_set():
                return
            try:
                with path.open("wb") as pipe:
                    pipe.write(payload)
            except BrokenPipeError:
                return
            # Each reader must see exactly one payload: wait until it has let go.
            while reader_present() and not done.is_set():
                time.sleep(0.001)

    writer = threading.Thread(target=serve, daemon=True)
    writer.start()
    try:
        result = CliRunner().invoke(
            cli,
            ["tool", "call", str(path), "--require-signed", "--trust", f"{key}.pub", "--json"],
        )
    finally:
        # Release the writer if the command opened the path only once.
        done.set()
        release = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        writer.join(timeout=10)
        os.close(release)
    out = json.loads(result.stdout)
    assert result.exit_code == 0, out
    assert out["result"]["content"][0]["data"] == {"ok": 1}
