"""learn: from recorded decisions to a reviewed, least-privilege diff."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from agentor_core.audit import AuditEvent, AuditEventType
from agentor_core.decisions import PolicyContext, Verdict
from agentor_core.errors import AgentorError
from agentor_core.tools import ToolCall
from agentor_policy import PolicyCode, compile_text, propose

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
HASH = "e" * 64


def event(tool: str, arguments: dict[str, Any], **extra: Any) -> AuditEvent:
    return AuditEvent(
        type=AuditEventType.DECISION,
        time=NOW,
        tool=tool,
        arguments=arguments,
        verdict=Verdict.DENY,
        rule_id="default.deny",
        **extra,
    )


SEEN = [
    event("web.fetch", {"url": "https://example.com/a", "retries": 1}),
    event("web.fetch", {"url": "https://docs.example.org/b?q=1", "retries": 3}),
    event("files.read", {"path": "/data/reports/q1.txt"}, component_hash=HASH),
    event("files.read", {"path": "/data/reports/q2.txt", "lines": 10}, component_hash=HASH),
    event("mail.send", {"to": "a@example.com", "urgent": False, "tags": ["x", "y"]}),
]


def write_log(tmp_path: Path, events: list[AuditEvent], *, wrapped: bool = False) -> Path:
    path = tmp_path / "audit.jsonl"
    lines = []
    for seq, item in enumerate(events):
        record = json.loads(item.model_dump_json())
        lines.append(json.dumps({"sequence": seq, "event": record} if wrapped else record))
    other = AuditEvent(type=AuditEventType.RESULT, time=NOW, tool="web.fetch", outcome="ok")
    lines.append(other.model_dump_json())
    path.write_text("\n".join(lines) + "\n\n", encoding="utf-8")
    return path


def decide(policy_text: str, tool: str, args: dict[str, Any], hash_: str | None = None) -> Verdict:
    call = ToolCall(id="1", tool=tool, arguments=args, component_hash=hash_)
    return compile_text(policy_text).decide(call, PolicyContext(now=NOW)).verdict


@pytest.mark.parametrize("wrapped", [False, True])
def test_learned_policy_allows_what_was_seen_and_little_else(tmp_path: Path, wrapped: bool) -> None:
    proposal = propose(write_log(tmp_path, SEEN, wrapped=wrapped))
    assert proposal.decisions_read == 5
    assert proposal.tools == ("files.read", "mail.send", "web.fetch")
    assert proposal.diff.startswith("--- a/policy.toml\n+++ b/policy.toml\n")
    text = proposal.new_text
    for seen in SEEN:
        assert seen.tool is not None
        assert seen.arguments is not None
        assert decide(text, seen.tool, seen.arguments, seen.component_hash) is Verdict.ALLOW
    assert decide(text, "web.fetch", {"url": "https://evil.com/"}) is Verdict.DENY
    assert decide(text, "web.fetch", {"url": "https://example.com/", "retries": 4}) is Verdict.DENY
    assert decide(text, "web.fetch", {"url": "https://example.com/", "x": 1}) is Verdict.DENY
    assert decide(text, "web.fetch", {"retries": 1}) is Verdict.DENY  # url was always there
    assert decide(text, "files.read", {"path": "/etc/passwd"}, HASH) is Verdict.DENY
    assert decide(text, "files.read", {"path": "/data/reports/q3.txt"}, HASH) is Verdict.ALLOW
    assert decide(text, "files.read", {"path": "/data/reports/q3.txt"}, "f" * 64) is Verdict.DENY
    assert decide(text, "mail.send", {"to": "b@example.com", "urgent": "no"}) is Verdict.DENY
    assert decide(text, "shell", {}) is Verdict.DENY


def test_existing_rules_are_kept_and_covered_tools_skipped(tmp_path: Path) -> None:
    current = tmp_path / "policy.toml"
    current.write_text(
        "# operator's policy\nversion = 1\n[[tool]]\nid = 'learned.web.fetch'\nname = 'web.fetch'\n"
        "strict_args = false\n",
        encoding="utf-8",
    )
    proposal = propose(write_log(tmp_path, SEEN), current)
    assert proposal.tools == ("files.read", "mail.send")
    assert proposal.diff.startswith(f"--- a/{current}\n+++ b/{current}\n")
    assert all(
        not line.startswith("-") or line.startswith("---") for line in proposal.diff.splitlines()
    )
    compiled = compile_text(proposal.new_text)
    ids = {rule.id for rule in compiled.policy.tool}
    assert ids == {"learned.web.fetch", "learned.files.read", "learned.mail.send"}


def test_nothing_to_propose(tmp_path: Path) -> None:
    proposal = propose(write_log(tmp_path, []))
    assert proposal.diff == ""
    assert proposal.decisions_read == 0


def test_odd_argument_names_and_values_round_trip(tmp_path: Path) -> None:
    odd = {'we ird"key': "a\x7f\u2028b", "emoji": "😀", "ctl": "\x00\x1b"}
    proposal = propose(write_log(tmp_path, [event("odd.tool", odd)]))
    assert decide(proposal.new_text, "odd.tool", odd) is Verdict.ALLOW


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("{not json\n", "line 1: not a JSON value"),
        ('{"type": "decision"}\n', "line 1: invalid AuditEvent"),
        ("[1, 2]\n", "line 1: invalid AuditEvent"),
        ("\n" + "[" * 100000 + "\n", "line 2"),
    ],
)
def test_malformed_logs_propose_nothing(tmp_path: Path, content: str, needle: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(AgentorError) as info:
        propose(path)
    assert info.value.code == PolicyCode.AUDIT_UNREADABLE
    assert needle in info.value.message


def test_missing_log(tmp_path: Path) -> None:
    with pytest.raises(AgentorError) as info:
        propose(tmp_path / "none.jsonl")
    assert info.value.code == PolicyCode.AUDIT_UNREADABLE


def test_calls_refused_by_an_existing_rule_are_named(tmp_path: Path) -> None:
    current = tmp_path / "policy.toml"
    current.write_text(
        "version = 1\n[[tool]]\nid = 'fetch'\nname = 'web.fetch'\n[tool.args.url]\n"
        "url_hosts = ['example.com']\n",
        encoding="utf-8",
    )
    proposal = propose(write_log(tmp_path, SEEN[:2]), current)
    assert proposal.tools == ()
    assert '+# learn: 2 recorded call(s) of web.fetch are refused by rule "fetch.args"' in (
        proposal.diff
    )
    assert compile_text(proposal.new_text).hash == compile_text(current.read_text()).hash
