"""``agentor policy``: check, explain and learn through the real command."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from agentor_cli.app import cli
from agentor_core.audit import AuditEvent, AuditEventType
from agentor_core.decisions import Verdict

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "policies" / "assistant.toml"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_check_reports_hash_and_counts() -> None:
    code, out = run("policy", "check", str(EXAMPLE), "--json")
    assert code == 0
    data = json.loads(out)
    assert data["ok"] is True
    assert len(data["policy_hash"]) == 64
    assert data["tool_rules"] == 5
    assert data["deny_rules"] == 2
    code, text = run("policy", "check", str(EXAMPLE))
    assert code == 0
    assert data["policy_hash"] in text


def test_check_names_key_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("version = 1\n[[tool]]\nid = 'a'\nname = 'a'\ntrusted = 3\n", encoding="utf-8")
    code, out = run("policy", "check", str(bad), "--json")
    assert code == 1
    error = json.loads(out)["error"]
    assert error["code"] == "policy.invalid"
    assert "line 5, key tool[0].trusted" in error["message"]
    assert error["hint"]
    code, text = run("policy", "check", str(bad))
    assert code == 1
    assert "policy.invalid" in text


def test_check_missing_file(tmp_path: Path) -> None:
    code, out = run("policy", "check", str(tmp_path / "none.toml"), "--json")
    assert code == 1
    assert json.loads(out)["error"]["code"] == "policy.file_unreadable"


@pytest.mark.parametrize(
    ("args", "verdict", "rule_id"),
    [
        (
            ["--tool", "web.fetch", "--args", '{"url": "https://en.wikipedia.org/wiki/X"}'],
            "allow",
            "fetch",
        ),
        (
            ["--tool", "web.fetch", "--args", '{"url": "https://evil.com/"}'],
            "deny",
            "fetch.args.url",
        ),
        (["--tool", "bash-shell"], "deny", "no-shells"),
        (["--tool", "unknown"], "deny", "default.deny"),
        (
            ["--tool", "mail.send", "--args", '{"to": "x@evil.com", "body": "b"}'],
            "ask",
            "mail.approval",
        ),
        (
            [
                "--tool",
                "mail.send",
                "--args",
                '{"to": "me@example.com", "body": "b"}',
                "--labels",
                "body=document",
            ],
            "ask",
            "flow.untrusted_to_sink",
        ),
        (
            [
                "--tool",
                "mail.send",
                "--args",
                '{"to": "me@example.com", "body": "b"}',
                "--labels",
                "body=user:private,to=user",
                "--context-labels",
                "document+user",
            ],
            "deny",
            "flow.lethal_trifecta",
        ),
    ],
)
def test_explain(args: list[str], verdict: str, rule_id: str) -> None:
    code, out = run("policy", "explain", str(EXAMPLE), *args, "--json")
    assert code == 0, out
    data = json.loads(out)
    assert (data["decision"]["verdict"], data["decision"]["rule_id"]) == (verdict, rule_id)
    assert data["steps"]
    assert len(data["fingerprint"]) == 64


def test_explain_text_shows_rule_reason_and_grant() -> None:
    code, out = run(
        "policy", "explain", str(EXAMPLE), "--tool", "notes.read", "--args", '{"path": "/notes/a"}'
    )
    assert code == 0
    assert "ALLOW" in out
    assert "rule notes-read" in out
    assert "/notes" in out
    assert "trusted output: True" in out


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--args", "{nope"], "not valid JSON"),
        (["--args", "[1]"], "JSON object"),
        (["--labels", "body"], "ARG=SOURCE"),
        (["--labels", "body=martian"], "unknown source"),
        (["--labels", "body=user:secret"], "confidentiality"),
        (["--context-labels", "nobody"], "unknown source"),
        (["--labels", "ghost=user"], "labels given for arguments"),
        (["--component-hash", "xyz"], "component_hash"),
    ],
)
def test_explain_bad_requests(args: list[str], needle: str) -> None:
    code, out = run("policy", "explain", str(EXAMPLE), "--tool", "web.fetch", *args, "--json")
    assert code == 1
    error = json.loads(out)["error"]
    assert error["code"] == "policy.bad_request"
    assert needle in error["message"]


def test_learn_prints_a_reviewable_diff(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    events = [
        AuditEvent(
            type=AuditEventType.DECISION,
            time=datetime(2026, 11, 27, tzinfo=UTC),
            tool="calendar.list",
            arguments={"day": "2026-11-27", "limit": n},
            verdict=Verdict.DENY,
            rule_id="default.deny",
        )
        for n in (5, 20)
    ]
    log.write_text("".join(e.model_dump_json() + "\n" for e in events), encoding="utf-8")
    code, out = run("policy", "learn", "--from-audit", str(log), "--policy", str(EXAMPLE))
    assert code == 0
    assert out.startswith(f"--- a/{EXAMPLE}\n+++ b/{EXAMPLE}\n")
    assert '+name = "calendar.list"' in out
    assert "+maximum = 20" in out
    code, out = run("policy", "learn", "--from-audit", str(log), "--json")
    data = json.loads(out)
    assert data["tools"] == ["calendar.list"]
    assert data["decisions_read"] == 2


def test_learn_bad_log(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    log.write_text('{"type": "decision"}\n', encoding="utf-8")
    code, out = run("policy", "learn", "--from-audit", str(log), "--json")
    assert code == 1
    assert json.loads(out)["error"]["code"] == "policy.audit_unreadable"
