"""`agentor serve` reloads its toolbox and policy on change: atomically, audited, announced."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp import Client

from agentor_audit.store import StoreReader
from agentor_cli.commands.serve import build

TOOLBOX = Path(__file__).resolve().parents[2] / "examples" / "toolboxes" / "everything"


@pytest.fixture
def box(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AGENTOR_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("AGENTOR_CONFIG_DIR", str(tmp_path / "config"))
    target = tmp_path / "everything"
    shutil.copytree(TOOLBOX, target)
    with (target / "agentor.toml").open("a", encoding="utf-8") as config:
        config.write(f'\n[audit]\npath = "{tmp_path / "audit.db"}"\n')
    return target


def _deny_simple_text(box: Path) -> None:
    policy = box / "policy.toml"
    text = policy.read_text(encoding="utf-8")
    start = text.index('[[tool]]\nid = "content-tools"')
    end = text.index("[[tool]]", start + 1)
    policy.write_text(text[:start] + text[end:], encoding="utf-8")


def _code(result: types.CallToolResult) -> str | None:
    if not result.is_error:
        return None
    assert result.meta is not None
    return str(result.meta["io.agentor/error"]["code"])


def test_policy_change_is_swapped_in_and_announced(box: Path) -> None:
    served = build(box / "agentor.toml")
    notes: list[str] = []

    async def on_message(message: Any) -> None:
        if isinstance(message, types.ServerNotification):
            notes.append(message.method)

    async def main() -> tuple[str | None, str | None, bool, bool]:
        async with Client(served.bridge.server, mode="legacy", message_handler=on_message) as c:
            await c.list_tools()
            before = _code(await c.call_tool("test_simple_text", {}))
            served.watched = ""  # as if the watcher had seen the start state
            assert served.reload()
            unchanged = served.reload()  # nothing changed since
            await served.bridge.notify_list_changed()
            await anyio.sleep(0.05)
            after = _code(await c.call_tool("test_simple_text", {}))
            _deny_simple_text(box)
            changed = served.reload()
            await served.bridge.notify_list_changed()
            await anyio.sleep(0.05)
            denied = _code(await c.call_tool("test_simple_text", {}))
            return before, after, unchanged or not changed, denied == "mcp.policy_denied"

    try:
        before, after, stale, denied = anyio.run(main)
    finally:
        served.close()
    assert (before, after, stale, denied) == (None, None, False, True)
    assert "notifications/tools/list_changed" in notes
    assert "notifications/prompts/list_changed" in notes


def test_a_broken_change_is_refused_whole_and_audited(box: Path, tmp_path: Path) -> None:
    served = build(box / "agentor.toml")
    served.watched = "start"
    (box / "policy.toml").write_text("version = 1\n[[tool]\nbroken", encoding="utf-8")

    async def main() -> str | None:
        async with Client(served.bridge.server) as client:
            return _code(await client.call_tool("test_simple_text", {}))

    try:
        assert served.reload() is False
        # The previous toolbox keeps serving: the call is still allowed.
        assert anyio.run(main) is None
        served.watched = "again"
        (box / "tools" / "image.wasm").write_bytes(b"\0asm garbage")
        assert served.reload() is False
    finally:
        served.close()
    with StoreReader(tmp_path / "audit.db") as reader:
        events = [json.loads(record)["event"] for _seq, _leaf, record in reader.rows()]
    outcomes = [e.get("outcome") for e in events if e["type"] == "config.changed"]
    assert len(outcomes) == 2
    assert all(outcome and outcome != "ok" for outcome in outcomes)
