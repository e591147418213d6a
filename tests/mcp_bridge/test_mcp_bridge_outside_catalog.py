"""Outside servers' resources and prompts through the bridge: namespaced, bounded, policy-checked.

A real stdio MCP server (``upstream_server.py``) behind ``OutsideServers`` and a
real ``AgentorBridge``, talked to by the SDK's client.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from agentor_core.audit import AuditEvent, AuditReceipt
from agentor_core.capabilities import Capabilities
from agentor_core.decisions import Decision, Obligations, PolicyContext, Verdict
from agentor_core.tools import ToolCall
from agentor_mcp import AgentorBridge, OutsideServers, PinStore, ProxySection, ServerEntry

SERVER = Path(__file__).with_name("upstream_server.py")


class ListAudit:
    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    def append(self, event: AuditEvent) -> AuditReceipt:
        self.events.append(event)
        return AuditReceipt(sequence=len(self.events) - 1, leaf_hash="ef" * 32)

    def close(self) -> None:
        return None


class Rules:
    """ALLOW or ASK the named calls; deny everything else. Records what it saw."""

    def __init__(self, allowed: set[str], ask: set[str] | None = None) -> None:
        self.allowed = allowed
        self.ask = ask or set()
        self.seen: list[ToolCall] = []

    @property
    def policy_hash(self) -> str:
        return "cd" * 32

    def decide(self, call: ToolCall, context: PolicyContext) -> Decision:
        self.seen.append(call)
        if call.tool in self.allowed:
            return Decision(
                verdict=Verdict.ALLOW,
                rule_id=call.tool,
                reason="allowed by test",
                obligations=Obligations(grant=Capabilities()),
            )
        if call.tool in self.ask:
            return Decision(verdict=Verdict.ASK, rule_id="ask", reason="ask a person")
        return Decision(verdict=Verdict.DENY, rule_id="default.deny", reason="no rule")


@pytest.fixture
def outside(tmp_path: Path) -> Any:
    state = tmp_path / "state"
    state.mkdir()
    with OutsideServers(
        {"up": ServerEntry(command=(sys.executable, str(SERVER), str(state)))},
        base=tmp_path,
        pins=PinStore(tmp_path / "pins.json"),
        audit=ListAudit(),
        proxy=ProxySection(trust_on_first_use=True),
    ) as servers:
        yield servers


def _code(exc: MCPError) -> str:
    return str((exc.error.data or {}).get("code"))


def test_resources_are_namespaced_bounded_scanned_and_policy_checked(
    outside: OutsideServers,
) -> None:
    audit = ListAudit()
    policy = Rules({"up.resources.read"})
    bridge = AgentorBridge(outside, policy, audit)

    async def main() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        async with Client(bridge.server, mode="legacy") as client:
            listed = {r.name: r for r in (await client.list_resources()).resources}
            seen["listed"] = listed
            readme = listed["up.readme"]
            result = await client.read_resource(readme.uri)
            seen["text"] = [
                c.text for c in result.contents if isinstance(c, types.TextResourceContents)
            ]
            seen["uris"] = [c.uri for c in result.contents]
            try:
                await client.read_resource(listed["up.big"].uri)
            except MCPError as exc:
                seen["big"] = _code(exc)
        return seen

    seen = anyio.run(main)
    listed = seen["listed"]
    assert {"up.readme", "up.big"} <= set(listed)
    # Hidden instructions in a description: left out (refused under refuse_high).
    assert "up.hidden" not in listed
    assert str(listed["up.readme"].uri) == "agentor-outside://up/file%3A%2F%2F%2Fnotes%2Freadme.txt"
    assert seen["text"] == ["hello from upstream"]
    assert seen["uris"] == [str(listed["up.readme"].uri)]
    # Over the default max_result_bytes (1 MiB): withheld.
    assert seen["big"] == "mcp.upstream_result_invalid"
    # The policy saw each read as a call of the server's virtual read tool.
    reads = [c for c in policy.seen if c.tool == "up.resources.read"]
    assert [c.arguments["uri"] for c in reads] == ["file:///notes/readme.txt", "mem://big"]
    outcomes = [(e.type.value, e.tool, e.outcome) for e in audit.events]
    assert ("decision", "up.resources.read", None) in outcomes
    assert ("result", "up.resources.read", "ok") in outcomes
    assert ("result", "up.resources.read", "mcp.upstream_result_invalid") in outcomes
    poisoned = [e for e in outside._audit.events if e.outcome == "mcp.tool_poisoned"]  # type: ignore[attr-defined]
    assert [e.tool for e in poisoned] == ["up.hidden"]


def test_reads_and_prompts_are_refused_unless_the_policy_allows(
    outside: OutsideServers,
) -> None:
    audit = ListAudit()
    bridge = AgentorBridge(outside, Rules(set(), ask={"up.prompts.get"}), audit)

    async def main() -> tuple[str, str, list[str]]:
        async with Client(bridge.server, mode="legacy") as client:
            listed = {r.name: r for r in (await client.list_resources()).resources}
            prompts = [p.name for p in (await client.list_prompts()).prompts]
            with pytest.raises(MCPError) as denied:
                await client.read_resource(listed["up.readme"].uri)
            with pytest.raises(MCPError) as asked:
                await client.get_prompt("up.greet", {"who": "Ada"})
            return _code(denied.value), _code(asked.value), prompts

    denied, asked, prompts = anyio.run(main)
    assert denied == "mcp.policy_denied"
    assert asked == "mcp.approval_unavailable"
    assert "up.greet" in prompts
    decisions = [(e.tool, e.verdict) for e in audit.events if e.type.value == "decision"]
    assert ("up.resources.read", Verdict.DENY) in decisions
    assert ("up.prompts.get", Verdict.ASK) in decisions
    assert not [e for e in audit.events if e.type.value == "result"]


def test_prompts_render_through_the_policy(outside: OutsideServers) -> None:
    audit = ListAudit()
    policy = Rules({"up.prompts.get"})
    bridge = AgentorBridge(outside, policy, audit)

    async def main() -> types.GetPromptResult:
        async with Client(bridge.server, mode="legacy") as client:
            return await client.get_prompt("up.greet", {"who": "Ada"})

    result = anyio.run(main)
    texts = [m.content.text for m in result.messages if isinstance(m.content, types.TextContent)]
    assert texts == ["Hello, Ada."]
    call = next(c for c in policy.seen if c.tool == "up.prompts.get")
    assert call.arguments == {"name": "greet", "arguments": {"who": "Ada"}}
    assert ("result", "up.prompts.get", "ok") in [
        (e.type.value, e.tool, e.outcome) for e in audit.events
    ]


def test_an_outside_tool_cannot_take_a_reserved_read_name(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / "extra-tools.txt").write_text("resources.read\n", encoding="utf-8")
    with OutsideServers(
        {"up": ServerEntry(command=(sys.executable, str(SERVER), str(state)))},
        base=tmp_path,
        pins=PinStore(tmp_path / "pins.json"),
        audit=ListAudit(),
        proxy=ProxySection(trust_on_first_use=True),
    ) as outside:
        names = {spec.name for spec in outside.list_tools()}
        assert "up.echo" in names
        assert "up.resources.read" not in names
        refusal = outside.why_not_served("up.resources.read")
        assert refusal is not None
        assert refusal.code == "mcp.tool_poisoned"
