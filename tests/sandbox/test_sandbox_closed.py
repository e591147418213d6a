"""A closed runtime refuses calls: its epoch ticker is stopped, so no deadline would hold."""

from __future__ import annotations

from pathlib import Path

from sandbox_fixtures import wat_file

from agentor_core import Capabilities, ToolCall
from agentor_sandbox import SandboxCode, SandboxRuntime

LOOP = '(module (func (export "_start") (loop $l (br $l))))'


def test_a_call_after_close_is_refused(tmp_path: Path) -> None:
    runtime = SandboxRuntime([wat_file(tmp_path, "loop", LOOP)], cache_dir=tmp_path / "cache")
    runtime.close()
    # Before the fix this ran with no deadline and ended only when its fuel did.
    grant = Capabilities.model_validate({"limits": {"deadline_ms": 100, "fuel": 50_000_000}})
    result = runtime.invoke(ToolCall(id="late", tool="loop"), grant)
    assert result.error is not None
    assert result.error.code == SandboxCode.CLOSED
