"""``agentor tool call``: results, structured errors, grants, exit codes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parents[1] / "sandbox"))

from sandbox_fixtures import ECHO_WAT, wat_file

from agentor_cli.app import cli


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTOR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("AGENTOR_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("AGENTOR_STATE_DIR", str(tmp_path / "state"))


def test_call_prints_the_result(tmp_path: Path) -> None:
    wasm = wat_file(tmp_path, "echo", ECHO_WAT)
    result = CliRunner().invoke(cli, ["tool", "call", str(wasm), "--args", '{"a": 1}', "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["ok"] is True
    assert document["result"]["content"] == [{"type": "json", "data": {"a": 1}}]


def test_human_output(tmp_path: Path) -> None:
    wasm = wat_file(tmp_path, "echo", ECHO_WAT)
    result = CliRunner().invoke(cli, ["tool", "call", str(wasm), "echo", "--args", '{"b": 2}'])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"b": 2}


def test_limit_from_grant_file_ends_in_its_code(tmp_path: Path) -> None:
    wasm = wat_file(tmp_path, "spin", '(module (func (export "_start") (loop $l (br $l))))')
    grant = tmp_path / "grant.json"
    grant.write_text(json.dumps({"limits": {"deadline_ms": 100, "fuel": 10**13}}))
    result = CliRunner().invoke(cli, ["tool", "call", str(wasm), "--grant", str(grant), "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"]["code"] == "sandbox.deadline_exceeded"


@pytest.mark.parametrize(
    ("args", "code"),
    [("[1]", "core.invalid_input"), ("{nope", "core.invalid_input")],
)
def test_bad_arguments(tmp_path: Path, args: str, code: str) -> None:
    wasm = wat_file(tmp_path, "echo", ECHO_WAT)
    result = CliRunner().invoke(cli, ["tool", "call", str(wasm), "--args", args, "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"]["code"] == code


def test_bad_grant_and_bad_wasm(tmp_path: Path) -> None:
    wasm = wat_file(tmp_path, "echo", ECHO_WAT)
    grant = tmp_path / "grant.json"
    grant.write_text('{"limits": {"fuel": -1}}')
    result = CliRunner().invoke(cli, ["tool", "call", str(wasm), "--grant", str(grant), "--json"])
    assert json.loads(result.stdout)["error"]["code"] == "core.invalid_input"
    junk = tmp_path / "junk.wasm"
    junk.write_bytes(b"\x00asm\x01\x00\x00\x00garbage")
    result = CliRunner().invoke(cli, ["tool", "call", str(junk)])
    assert result.exit_code == 1
    assert "sandbox.load_failed" in result.stderr
    assert "what to do" in result.stderr
