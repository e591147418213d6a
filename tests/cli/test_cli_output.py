"""handles_errors and json_option: an AgentorError becomes its code, message and hint."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from agentor_cli.output import EXIT_FAILED, handles_errors, json_option
from agentor_core import AgentorError

MESSAGE = "it broke on [bold]x[/bold] and [red]y[/]"
HINT = "run [link=https://evil.example]this[/link]"


@click.command()
@json_option
@click.option("--no-hint", is_flag=True)
@handles_errors
def boom(as_json: bool, no_hint: bool) -> None:
    raise AgentorError("test.boom", MESSAGE, hint=None if no_hint else HINT)


@click.command()
@json_option
@handles_errors
def fine(as_json: bool) -> None:
    click.echo(json.dumps({"ok": True}) if as_json else "fine")


@click.command()
@handles_errors
def crash() -> None:
    raise ValueError("not an agentor error")


def test_error_as_text(dirs: dict[str, Path]) -> None:
    result = CliRunner().invoke(boom, [])
    assert result.exit_code == EXIT_FAILED == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == f"error [test.boom] {MESSAGE}"
    assert lines[1] == f"what to do: {HINT}"


def test_markup_printed_literally(dirs: dict[str, Path]) -> None:
    result = CliRunner().invoke(boom, [])
    assert "[bold]x[/bold]" in result.stderr
    assert "[red]y[/]" in result.stderr
    assert "[link=https://evil.example]this[/link]" in result.stderr


def test_error_without_hint(dirs: dict[str, Path]) -> None:
    result = CliRunner().invoke(boom, ["--no-hint"])
    assert result.exit_code == 1
    assert "what to do" not in result.stderr
    assert "[test.boom]" in result.stderr


def test_error_as_json(dirs: dict[str, Path]) -> None:
    result = CliRunner().invoke(boom, ["--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout) == {
        "ok": False,
        "error": {"code": "test.boom", "message": MESSAGE, "hint": HINT},
    }
    assert result.stderr == ""


def test_success_passes_through(dirs: dict[str, Path]) -> None:
    assert CliRunner().invoke(fine, []).stdout == "fine\n"
    result = CliRunner().invoke(fine, ["--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"ok": True}


def test_other_exceptions_are_not_swallowed(dirs: dict[str, Path]) -> None:
    result = CliRunner().invoke(crash, [])
    assert result.exit_code == 1
    assert isinstance(result.exception, ValueError)


def test_wrapped_function_keeps_its_name() -> None:
    assert boom.callback is not None
    assert boom.callback.__name__ == "boom"


@pytest.mark.parametrize("as_json", [False, True])
def test_malformed_code_still_reported(as_json: bool, dirs: dict[str, Path]) -> None:
    @click.command()
    @json_option
    @handles_errors
    def bad(as_json: bool) -> None:
        raise AgentorError("Not A Code", "message")

    result = CliRunner().invoke(bad, ["--json"] if as_json else [])
    assert result.exit_code == 1
    if as_json:
        assert json.loads(result.stdout)["error"]["code"] == "core.invalid_input"
    else:
        assert "[core.invalid_input] message (malformed error code 'Not A Code')" in result.stderr


def test_error_message_control_characters_never_reach_the_terminal() -> None:
    @click.command()
    @json_option
    @handles_errors
    def hostile(as_json: bool) -> None:
        raise AgentorError("tool.failed", "bad \x1b[2J\x1b]0;pwned\x07 news", hint="\x1b[31mred")

    result = CliRunner().invoke(hostile, [])
    assert result.exit_code == 1
    assert "\x1b" not in result.stderr
    assert "\x07" not in result.stderr
    assert "bad" in result.stderr
