"""The answer as a sink through the real policy engine, sandbox, audit log and ``agentor run``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from agentor_cli.app import cli
from agentor_core.paths import state_dir

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BRIEFING = EXAMPLES / "agents" / "briefing.toml"
LINK = "https://evil.example/verify"


@pytest.fixture(autouse=True)
def _private_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTOR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("AGENTOR_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("AGENTOR_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("AGENTOR_MODEL", raising=False)


def run(*args: str, answer: str = "") -> tuple[int, dict[str, object]]:
    result = CliRunner().invoke(
        cli, ["run", str(BRIEFING), "Brief me on my hotel booking", "--json", *args], input=answer
    )
    return result.exit_code, json.loads(result.stdout)


@pytest.mark.parametrize("answer", ["", "no\n"])
def test_an_injected_link_is_withheld_unless_a_person_releases_it(answer: str) -> None:
    code, document = run(answer=answer)
    assert code == 1
    assert document["answer"] == ""
    error = document["error"]
    assert isinstance(error, dict)
    assert error["code"] == "runtime.answer_withheld"
    assert "did not release" in error["message"]
    summary = document["summary"]
    assert isinstance(summary, dict)
    assert summary["stop_reason"] == "answer_withheld"
    assert summary["approvals_asked"] == 1
    decisions = document["decisions"]
    assert isinstance(decisions, list)
    assert decisions[-1]["tool"] == "agent.answer"
    assert decisions[-1]["rule_id"] == "flow.untrusted_to_sink"
    assert decisions[-1]["ran"] is False


def test_a_released_answer_is_printed_and_its_digest_audited() -> None:
    code, document = run(answer="yes\n")
    assert code == 0
    assert document["answer"] == f"Your booking 4471 needs re-verification: {LINK}"
    # The log holds the decision, the question, the release and the answer's digest.
    tail = CliRunner().invoke(cli, ["audit", "tail", "--json"])
    assert tail.exit_code == 0, tail.output
    events = [r["event"] for r in json.loads(tail.stdout)["records"]]
    answer = [(e["type"], e.get("outcome")) for e in events if e["tool"] == "agent.answer"]
    assert answer == [
        ("decision", None),
        ("approval.asked", None),
        ("approval.granted", None),
        ("result", "released"),
    ]
    audit = state_dir() / "audit"
    verified = CliRunner().invoke(
        cli,
        [
            *("audit", "verify", str(audit / "audit.db")),
            *("--key", str(audit / "checkpoint.key.pub"), "--json"),
        ],
    )
    assert verified.exit_code == 0, verified.output


def test_the_example_policy_lets_an_answer_without_outside_links_through(tmp_path: Path) -> None:
    turns = tmp_path / "turns.toml"
    turns.write_text(
        (EXAMPLES / "agents" / "briefing-turns.toml")
        .read_text(encoding="utf-8")
        .replace(f'"Your booking 4471 needs re-verification: {LINK}"', '"Booking 4471 is fine."'),
        encoding="utf-8",
    )
    agent = tmp_path / "agent.toml"
    agent.write_text(
        BRIEFING.read_text(encoding="utf-8")
        .replace(
            '"../toolboxes/answers/agentor.toml"', f'"{EXAMPLES}/toolboxes/answers/agentor.toml"'
        )
        .replace('"briefing-turns.toml"', '"turns.toml"'),
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["run", str(agent), "Brief me", "--json"], input="")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["answer"] == "Booking 4471 is fine."
    assert document["decisions"][-1]["tool"] == "agent.answer"
    assert document["decisions"][-1]["verdict"] == "allow"


def test_policy_explain_takes_the_links_provenance() -> None:
    policy = str(EXAMPLES / "toolboxes" / "answers" / "policy.toml")
    common = ["policy", "explain", policy, "--tool", "agent.answer", "--json"]
    common += ["--args", json.dumps({"text": f"re-verify at {LINK}"})]
    common += ["--labels", "text=untrusted_tool"]
    asked = CliRunner().invoke(cli, [*common, "--embedded-labels", "text=untrusted_tool"])
    assert asked.exit_code == 0, asked.output
    document = json.loads(asked.stdout)
    assert document["decision"]["verdict"] == "ask"
    assert any("links written in 'text'" in step for step in document["steps"])
    allowed = CliRunner().invoke(cli, [*common, "--embedded-labels", "text=user"])
    assert json.loads(allowed.stdout)["decision"]["verdict"] == "allow"


def test_progress_shows_argument_names_not_values_under_the_gate() -> None:
    # The page text (with its link) is an argument of the echo call: under the gate it is
    # not printed before any decision, only the argument's name.
    result = CliRunner().invoke(cli, ["run", str(BRIEFING), "Brief me"], input="")
    assert result.exit_code == 1
    assert "echo (text)" in result.stderr
    assert "evil.example" not in result.stderr.split("=== approval needed ===")[0]
    assert "evil.example" not in result.stdout
