"""Reconfiguring outside servers while serving: start new, stop removed, keep unchanged.

Real stdio servers (``upstream_server.py``); a stopped server's process must be
gone and reaped (no zombie), an unchanged one must keep its process.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

from agentor_core.audit import AuditEvent, AuditReceipt
from agentor_core.capabilities import Capabilities
from agentor_core.errors import AgentorError
from agentor_core.tools import TextContent, ToolCall, ToolResult, ToolSpec
from agentor_mcp import ComposedRuntime, OutsideServers, PinStore, ProxySection, ServerEntry

SERVER = Path(__file__).with_name("upstream_server.py")
TOFU = ProxySection(trust_on_first_use=True)


class ListAudit:
    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    def append(self, event: AuditEvent) -> AuditReceipt:
        self.events.append(event)
        return AuditReceipt(sequence=len(self.events) - 1, leaf_hash="ef" * 32)

    def close(self) -> None:
        return None


def _entry(state: Path, **extra: Any) -> ServerEntry:
    state.mkdir(exist_ok=True)
    return ServerEntry(command=(sys.executable, str(SERVER), str(state)), **extra)


def _call(outside: OutsideServers, tool: str, **arguments: Any) -> ToolResult:
    call = ToolCall(
        id="c-1", tool=tool, arguments=arguments, component_hash=outside.component_hash(tool)
    )
    return outside.invoke(call, Capabilities())


def _pid(outside: OutsideServers, server: str) -> int:
    result = _call(outside, f"{server}.pid")
    assert result.error is None, result.error
    return int("".join(b.text for b in result.content if isinstance(b, TextContent)))


def _gone(pid: int) -> bool:
    """Ended and reaped: a zombie still answers signal 0 and keeps its /proc entry."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return not Path(f"/proc/{pid}").exists()
    return False


def _names(outside: OutsideServers) -> set[str]:
    return {spec.name for spec in outside.list_tools()}


def _plan(outside: OutsideServers, servers: dict[str, ServerEntry], tmp_path: Path) -> Any:
    return outside.plan(servers, base=tmp_path, proxy=TOFU, pin_file=tmp_path / "pins.json")


@pytest.fixture
def outside(tmp_path: Path) -> Any:
    with OutsideServers(
        {"up": _entry(tmp_path / "a")},
        base=tmp_path,
        pins=PinStore(tmp_path / "pins.json"),
        audit=ListAudit(),
        proxy=TOFU,
    ) as servers:
        yield servers


def test_new_servers_start_unchanged_keep_running_removed_stop(
    outside: OutsideServers, tmp_path: Path
) -> None:
    assert "up.echo" in _names(outside)
    up_pid = _pid(outside, "up")

    plan = _plan(outside, {"up": _entry(tmp_path / "a"), "two": _entry(tmp_path / "b")}, tmp_path)
    assert outside.apply(plan) == {
        "started": ["two"],
        "restarted": [],
        "stopped": [],
        "kept": ["up"],
    }
    outside.refresh()
    assert {"up.echo", "two.echo"} <= _names(outside)
    assert _pid(outside, "up") == up_pid  # the same process: never restarted
    two_pid = _pid(outside, "two")

    # "two" changes (a new grant), "up" is removed.
    plan = _plan(outside, {"two": _entry(tmp_path / "b", env={"GRANTED": "1"})}, tmp_path)
    assert outside.apply(plan) == {
        "started": [],
        "restarted": ["two"],
        "stopped": ["up"],
        "kept": [],
    }
    assert _gone(up_pid)
    assert _gone(two_pid)
    outside.refresh()
    names = _names(outside)
    assert "two.echo" in names
    assert not any(name.startswith("up.") for name in names)
    assert not outside.owns("up.echo")
    refused = _call(outside, "up.echo", text="hi")
    assert refused.error is not None
    assert refused.error.code == "mcp.invalid_call"
    new_pid = _pid(outside, "two")
    assert new_pid != two_pid
    env = _call(outside, "two.env")
    assert '"GRANTED"' in "".join(b.text for b in env.content if isinstance(b, TextContent))

    # Removing every server stops the last one too.
    outside.apply(_plan(outside, {}, tmp_path))
    assert _gone(new_pid)
    assert outside.list_tools() == []


def test_a_plan_that_cannot_start_changes_nothing(outside: OutsideServers, tmp_path: Path) -> None:
    assert "up.echo" in _names(outside)
    up_pid = _pid(outside, "up")
    missing = ServerEntry(command=(str(tmp_path / "no-such-program"),))
    with pytest.raises(AgentorError) as excinfo:
        _plan(outside, {"up": _entry(tmp_path / "a"), "bad": missing}, tmp_path)
    assert excinfo.value.code == "mcp.config_invalid"
    assert "[servers.bad]" in excinfo.value.message
    (tmp_path / "broken-pins.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(AgentorError) as excinfo:
        outside.plan(
            {"up": _entry(tmp_path / "a")},
            base=tmp_path,
            proxy=TOFU,
            pin_file=tmp_path / "broken-pins.json",
        )
    assert excinfo.value.code == "mcp.pins_invalid"
    # Still the same server, still serving.
    assert outside.server_names == ["up"]
    assert _pid(outside, "up") == up_pid


def test_pins_are_read_again_and_rechecked(tmp_path: Path) -> None:
    audit = ListAudit()
    with OutsideServers(
        {"up": _entry(tmp_path / "a")},
        base=tmp_path,
        pins=PinStore(tmp_path / "pins.json"),
        audit=audit,
    ) as outside:
        assert _names(outside) == set()  # nothing approved yet
        listed = {tool.served_name: tool for tool in outside.tools()}
        # Approved in another process ('agentor mcp pin' writes the same file).
        PinStore(tmp_path / "pins.json").approve("up", "echo", listed["up.echo"].pin)
        plan = outside.plan(
            {"up": _entry(tmp_path / "a")},
            base=tmp_path,
            proxy=ProxySection(),
            pin_file=tmp_path / "pins.json",
        )
        assert outside.apply(plan)["kept"] == ["up"]
        outside.refresh()
        assert _names(outside) == {"up.echo"}


def test_a_sandboxed_name_in_a_new_namespace_is_refused_before_anything_changes(
    outside: OutsideServers, tmp_path: Path
) -> None:
    class Local:
        def list_tools(self) -> list[Any]:
            return [ToolSpec(name="two.thing", description="", input_schema={"type": "object"})]

    plan = _plan(outside, {"up": _entry(tmp_path / "a"), "two": _entry(tmp_path / "b")}, tmp_path)
    with pytest.raises(AgentorError) as excinfo:
        ComposedRuntime(Local(), outside, plan=plan)
    assert excinfo.value.code == "mcp.config_invalid"
    assert outside.server_names == ["up"]
