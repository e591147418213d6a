"""The wasm size limit holds for the bytes read, not for what stat says (0 for pipes, /dev/zero)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from agentor_core.errors import AgentorError
from agentor_sandbox import SandboxCode, loader


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_wasm_limit_holds_for_a_pipe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loader, "MAX_WASM_BYTES", 64)
    path = tmp_path / "tool.wasm"
    os.mkfifo(path)

    def serve() -> None:
        try:
            with path.open("wb") as pipe:
                pipe.write(b"\x00asm\x01\x00\x00\x00" + b"\x00" * 256)
        except BrokenPipeError:  # the reader stopped at its limit
            pass

    writer = threading.Thread(target=serve, daemon=True)
    writer.start()
    try:
        with pytest.raises(AgentorError) as caught:
            loader.read_wasm(path)
    finally:
        writer.join(timeout=10)
    assert caught.value.code == SandboxCode.LOAD_FAILED
    assert "limit" in caught.value.message
