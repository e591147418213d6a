"""Size limits hold for the bytes read, not for what stat says (0 for pipes and devices)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentor_core.errors import AgentorError
from agentor_toolkit import component
from agentor_toolkit.errors import ToolkitCode
from agentor_toolkit.manifest import MAX_TOOL_TOML_BYTES, load_tool_toml
from agentor_toolkit.signing import MAX_SIGNATURE_FILE_BYTES, load_signature

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")


def _pipe(path: Path, payload: bytes) -> Iterator[Path]:
    os.mkfifo(path)

    def serve() -> None:
        try:
            with path.open("wb") as pipe:
                pipe.write(payload)
        except BrokenPipeError:  # the reader stopped at its limit
            pass

    writer = threading.Thread(target=serve, daemon=True)
    writer.start()
    yield path
    if writer.is_alive():  # the reader never opened it
        os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK))
    writer.join(timeout=10)


@pytest.fixture
def oversized_signature(tmp_path: Path) -> Iterator[Path]:
    # Valid JSON padding, so only the size limit can refuse it.
    body = b'{"format": "agentor-signature/1"' + b" " * MAX_SIGNATURE_FILE_BYTES + b"}"
    yield from _pipe(tmp_path / "c.wasm.sig", body)


def test_signature_limit_holds_for_a_pipe(oversized_signature: Path) -> None:
    with pytest.raises(AgentorError) as caught:
        load_signature(oversized_signature)
    assert caught.value.code == ToolkitCode.SIGNATURE_MALFORMED
    assert "larger than" in caught.value.message


@pytest.fixture
def oversized_toml(tmp_path: Path) -> Iterator[Path]:
    body = b'[tool]\nname = "x"\n' + b"#" * MAX_TOOL_TOML_BYTES + b"\n"
    yield from _pipe(tmp_path / "tool.toml", body)


def test_tool_toml_limit_holds_for_a_pipe(oversized_toml: Path) -> None:
    with pytest.raises(AgentorError) as caught:
        load_tool_toml(oversized_toml)
    assert caught.value.code == ToolkitCode.SOURCE_INVALID
    assert "larger than" in caught.value.message


@pytest.fixture
def oversized_component(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setattr(component, "MAX_COMPONENT_BYTES", 64)
    yield from _pipe(tmp_path / "c.wasm", component.MAGIC + component.COMPONENT_VERSION * 32)


def test_component_limit_holds_for_a_pipe(oversized_component: Path) -> None:
    with pytest.raises(AgentorError) as caught:
        component.read_bounded(oversized_component)
    assert caught.value.code == ToolkitCode.COMPONENT_INVALID
