"""Hostile outside MCP servers behind the proxy: every misbehaviour fails closed."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from agentor_core.audit import AuditEvent, AuditReceipt
from agentor_core.capabilities import Capabilities
from agentor_core.tools import ToolCall
from agentor_mcp import OutsideServers, PinStore, ProxySection, ServerEntry

HOSTILE = Path(__file__).with_name("hostile_upstream.py")


class _Audit:
    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    def append(self, event: AuditEvent) -> AuditReceipt:
        self.events.append(event)
        return AuditReceipt(sequence=len(self.events) - 1, leaf_hash="ef" * 32)

    def close(self) -> None:
        return None


def _outside(tmp_path: Path, mode: str, audit: _Audit, **extra: Any) -> OutsideServers:
    options: dict[str, Any] = {"timeout_seconds": 10.0}
    options.update(extra)
    entry = ServerEntry(command=(sys.executable, str(HOSTILE), mode), **options)
    return OutsideServers(
        {"h": entry},
        base=tmp_path,
        pins=PinStore(tmp_path / "pins.json"),
        audit=audit,
        proxy=ProxySection(trust_on_first_use=True),
    )


def test_endless_line_stops_the_server(tmp_path: Path) -> None:
    with _outside(tmp_path, "huge", _Audit(), max_message_bytes=64 * 1024) as outside:
        errors = outside.refresh()
        assert outside.list_tools() == []
    error = errors["h"]
    assert error is not None
    assert error.code in {"mcp.upstream_unavailable", "mcp.upstream_error"}


def test_garbage_lines_fail_closed(tmp_path: Path) -> None:
    with _outside(tmp_path, "garbage", _Audit(), timeout_seconds=3) as outside:
        errors = outside.refresh()
        assert outside.list_tools() == []
    assert errors["h"] is not None


def test_escape_and_tag_characters_are_refused_and_audited(tmp_path: Path) -> None:
    audit = _Audit()
    with _outside(tmp_path, "ansi", audit) as outside:
        assert outside.list_tools() == []
        refusal = outside.why_not_served("h.read")
    assert refusal is not None
    assert refusal.code == "mcp.tool_poisoned"
    findings = {f["finding"] for e in audit.events for f in e.detail.get("findings", [])}
    assert {"control", "unicode_tags"} <= findings
    # Excerpts in the audit log are escaped: no raw escape or tag character is stored.
    for event in audit.events:
        for finding in event.detail.get("findings", []):
            assert "\x1b" not in finding["excerpt"]
            assert all(ord(c) < 0x80 for c in finding["excerpt"])


def test_oversized_result_is_withheld(tmp_path: Path) -> None:
    with _outside(tmp_path, "plain", _Audit(), max_result_bytes=1024 * 1024) as outside:
        outside.list_tools()
        call = ToolCall(id="c", tool="h.read", component_hash=outside.component_hash("h.read"))
        result = outside.invoke(call, Capabilities())
    assert result.error is not None
    assert result.error.code == "mcp.upstream_result_invalid"
