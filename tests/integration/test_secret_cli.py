# test passphrases, not real credentials:
# ruff: noqa: S105
"""``agentor secret set/list/rm`` against a real encrypted file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from agentor_cli.app import cli
from agentor_secrets import EncryptedFileStore

PASSPHRASE = "correct horse battery staple"
VALUE = "ghp_cli_0123456789abcdef"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "secrets.json"
    monkeypatch.setenv("AGENTOR_SECRETS_FILE", str(path))
    monkeypatch.setenv("AGENTOR_SECRETS_PASSPHRASE", PASSPHRASE)
    monkeypatch.setenv("NO_COLOR", "1")
    return path


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_set_list_rm_round_trip(env: Path) -> None:
    code, out, _ = run("secret", "set", "GITHUB_TOKEN", "--json", stdin=VALUE + "\n")
    assert code == 0
    assert json.loads(out) == {
        "ok": True,
        "name": "GITHUB_TOKEN",
        "replaced": False,
        "file": str(env),
    }
    assert EncryptedFileStore(env, PASSPHRASE).reveal("GITHUB_TOKEN") == VALUE

    code, out, _ = run("secret", "list", "--json")
    assert code == 0
    assert json.loads(out)["names"] == ["GITHUB_TOKEN"]
    assert VALUE not in out

    code, out, _ = run("secret", "list")
    assert (code, out.strip()) == (0, "GITHUB_TOKEN")

    code, out, _ = run("secret", "rm", "GITHUB_TOKEN", "--json")
    assert code == 0
    assert json.loads(out)["removed"] is True
    assert EncryptedFileStore(env, PASSPHRASE).names() == []


def test_rm_of_a_missing_name_fails_with_a_code(env: Path) -> None:
    code, out, _ = run("secret", "rm", "NOPE", "--json")
    assert code == 1
    assert json.loads(out)["error"]["code"] == "secrets.not_found"
    code, _, err = run("secret", "rm", "NOPE")
    assert code == 1
    assert "secrets.not_found" in err
    assert "agentor secret list" in err


def test_wrong_passphrase_and_missing_passphrase(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run("secret", "set", "A_NAME", stdin=VALUE)[0] == 0
    monkeypatch.setenv("AGENTOR_SECRETS_PASSPHRASE", "a different passphrase")
    code, out, _ = run("secret", "list", "--json")
    assert code == 1
    assert json.loads(out)["error"]["code"] == "secrets.wrong_passphrase"
    monkeypatch.delenv("AGENTOR_SECRETS_PASSPHRASE")
    code, out, _ = run("secret", "list", "--json")
    assert json.loads(out)["error"]["code"] == "secrets.passphrase_missing"


@pytest.mark.parametrize(
    ("name", "stdin", "error"),
    [
        ("bad name", VALUE, "secrets.invalid_name"),
        ("A_NAME", "", "secrets.invalid_value"),
        ("A_NAME", "x" * 70000, "secrets.invalid_value"),
    ],
)
def test_bad_input_fails_with_a_code_and_never_echoes_the_value(
    env: Path, name: str, stdin: str, error: str
) -> None:
    code, out, _ = run("secret", "set", name, "--json", stdin=stdin)
    assert code == 1
    document = json.loads(out)
    assert document["error"]["code"] == error
    assert document["error"]["hint"]
    assert not stdin or stdin not in out


def test_set_takes_no_value_argument(env: Path) -> None:
    code, _, _ = run("secret", "set", "A_NAME", VALUE, stdin="")
    assert code != 0
    assert not env.exists()
