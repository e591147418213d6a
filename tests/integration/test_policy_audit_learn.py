"""learn reads a real agentor-audit export: decisions recorded in audit-only mode."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from agentor_audit import create_audit_sink
from agentor_audit.transfer import export_jsonl
from agentor_core.audit import AuditEvent, AuditEventType
from agentor_core.decisions import PolicyContext, Verdict
from agentor_core.tools import ToolCall
from agentor_policy import compile_text, propose

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def test_learn_from_an_audit_export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTOR_STATE_DIR", str(tmp_path / "state"))
    store = tmp_path / "audit.db"
    log = create_audit_sink(path=store)
    calls = [
        ToolCall(id=f"c{i}", tool="web.fetch", arguments={"url": url})
        for i, url in enumerate(["https://example.com/a", "https://api.example.com/b"])
    ]
    empty = compile_text("version = 1\n")
    try:
        for call in calls:
            decision = empty.decide(call, PolicyContext(now=NOW))
            log.append(
                AuditEvent(
                    type=AuditEventType.DECISION,
                    time=NOW,
                    call_id=call.id,
                    tool=call.tool,
                    arguments=call.arguments,
                    argument_digest=call.fingerprint(),
                    verdict=decision.verdict,
                    rule_id=decision.rule_id,
                    policy_hash=decision.policy_hash,
                )
            )
            log.append(AuditEvent(type=AuditEventType.RESULT, time=NOW, call_id=call.id))
    finally:
        log.close()
    export = tmp_path / "audit.jsonl"
    with export.open("wb") as out:
        assert export_jsonl(store, out) == 4
    proposal = propose(export)
    assert proposal.decisions_read == 2
    assert proposal.tools == ("web.fetch",)
    learned = compile_text(proposal.new_text)
    for call in calls:
        assert learned.decide(call, PolicyContext(now=NOW)).verdict is Verdict.ALLOW
    evil = ToolCall(id="x", tool="web.fetch", arguments={"url": "https://evil.com/"})
    assert learned.decide(evil, PolicyContext(now=NOW)).verdict is Verdict.DENY
