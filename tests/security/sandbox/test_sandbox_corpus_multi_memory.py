"""Limits are per call, not per memory or table: many small ones may not add up past the grant."""

from __future__ import annotations

from pathlib import Path

import pytest
from sandbox_fixtures import ECHO_WAT, wat_file

from agentor_core import Capabilities, ToolCall
from agentor_sandbox import SandboxCode, SandboxRuntime

_COUNT = 4


def _many(kind: str, grow: str) -> str:
    # Each declared small, each grown to most of the per-call limit.
    items = "\n".join(
        f"({kind} ${kind}{i} {'1' if kind == 'memory' else '1 funcref'})" for i in range(_COUNT)
    )
    grows = "\n".join(grow.format(name=f"${kind}{i}") for i in range(_COUNT))
    return f"""(module {items}
      (func (export "_start") {grows}))"""


MANY_MEMORIES = _many(
    "memory", "(if (i32.eq (memory.grow {name} (i32.const 100)) (i32.const -1)) (then unreachable))"
)
MANY_TABLES = _many(
    "table",
    "(if (i32.eq (table.grow {name} (ref.null func) (i32.const 8000)) (i32.const -1))"
    " (then unreachable))",
)
CASES = [
    # 4 x 100 pages = 25 MiB of linear memory under an 8 MiB grant.
    (
        "many_memories",
        MANY_MEMORIES,
        {"memory_bytes": 8 * 1024 * 1024},
        SandboxCode.MEMORY_EXHAUSTED,
    ),
    # 4 x 8001 elements under a 10 000-element grant.
    ("many_tables", MANY_TABLES, {"table_elements": 10_000}, SandboxCode.TABLE_EXHAUSTED),
]


@pytest.mark.parametrize(("name", "wat", "limits", "code"), CASES, ids=[c[0] for c in CASES])
def test_limits_hold_across_many_memories_and_tables(
    corpus_runtime: SandboxRuntime,
    tmp_path: Path,
    name: str,
    wat: str,
    limits: dict[str, int],
    code: SandboxCode,
) -> None:
    corpus_runtime.load(wat_file(tmp_path, "echo", ECHO_WAT))
    corpus_runtime.load(wat_file(tmp_path, name, wat))
    grant = Capabilities.model_validate({"limits": limits})
    result = corpus_runtime.invoke(ToolCall(id="x", tool=name, arguments={}), grant)
    assert result.error is not None, result.content
    assert result.error.code == code
    # The host is alive and the next call is unaffected.
    echo = corpus_runtime.invoke(ToolCall(id="y", tool="echo", arguments={"ok": 1}), Capabilities())
    assert echo.error is None
