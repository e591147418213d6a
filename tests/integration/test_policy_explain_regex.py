"""``agentor policy explain`` shows a pattern that ran past its time bound, and what followed."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from agentor_cli.app import cli

POLICY = """
version = 1

[[deny]]
id = "no-keys"
name = "mail.send"
reason = "the body looks like a key"
[[deny.when]]
arg = "body"
matches = "^(a|aa)+$"

[[tool]]
id = "mail"
name = "mail.send"
[tool.args.to]
type = "string"
pattern = "^(a|a)*$"
[tool.args.body]
type = "string"
"""


def explain(tmp_path: Path, arguments: dict[str, str], *extra: str) -> tuple[int, str]:
    path = tmp_path / "policy.toml"
    path.write_text(POLICY, encoding="utf-8")
    result = CliRunner().invoke(
        cli,
        [
            "policy",
            "explain",
            str(path),
            "--tool",
            "mail.send",
            "--args",
            json.dumps(arguments),
            *extra,
        ],
    )
    return result.exit_code, result.output


def test_explain_json_names_the_timed_out_condition(tmp_path: Path) -> None:
    code, out = explain(tmp_path, {"to": "a", "body": "a" * 300 + "!"}, "--json")
    assert code == 0, out
    data = json.loads(out)
    assert (data["decision"]["verdict"], data["decision"]["rule_id"]) == ("deny", "no-keys")
    assert "policy.pattern_timeout" in data["decision"]["reason"]
    assert any(
        "deny rule 'no-keys' matches" in step and "policy.pattern_timeout" in step
        for step in data["steps"]
    )


def test_explain_text_names_the_timed_out_argument(tmp_path: Path) -> None:
    code, out = explain(tmp_path, {"to": "a" * 100 + "!", "body": "hello"})
    assert code == 0, out
    assert "DENY" in out
    assert "rule mail.args.to" in out
    assert "argument check failed: argument 'to' could not be checked" in out
    assert "policy.pattern_timeout" in out


def test_explain_ordinary_arguments_allowed(tmp_path: Path) -> None:
    code, out = explain(tmp_path, {"to": "aaa", "body": "hello"}, "--json")
    assert code == 0, out
    assert json.loads(out)["decision"]["verdict"] == "allow"
