"""Rendering for people (rich) and machines (``--json``), and failing with an actionable error."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, Final, ParamSpec, TypeVar

import click
from rich.console import Console
from rich.text import Text

from agentor_core.errors import AgentorError

P = ParamSpec("P")
R = TypeVar("R")

EXIT_FAILED: Final = 1
"""The command ran and found a problem, or an agentor error stopped it."""


def stdout() -> Console:
    return Console(highlight=False, soft_wrap=True)


def stderr() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def inert(text: str, style: str = "", *, one_line: bool = False) -> Text:
    """Untrusted text made harmless to print: no markup, and control characters
    (terminal escapes among them) shown as U+FFFD. Newlines survive unless ``one_line``."""
    if one_line:
        text = text.split("\n", maxsplit=1)[0]
    return Text("".join(ch if ch.isprintable() or ch == "\n" else "\ufffd" for ch in text), style)


def emit_json(document: Any) -> None:
    click.echo(json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False))


json_option = click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print machine-readable JSON instead of text.",
)


def fail(error: AgentorError, *, as_json: bool) -> None:
    """Report ``error`` on stderr (JSON on stdout with ``--json``) and exit non-zero."""
    if as_json:
        emit_json({"ok": False, "error": error.error.model_dump(mode="json")})
    else:
        # Text objects, not markup strings: messages may quote hostile input.
        console = stderr()
        console.print(
            Text.assemble(("error", "bold red"), inert(f" [{error.code}] {error.message}"))
        )
        if error.hint:
            console.print(Text.assemble(("what to do: ", "bold"), inert(error.hint)))
    sys.exit(EXIT_FAILED)


def handles_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn an :class:`AgentorError` raised by a command into its code, message and hint."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except AgentorError as error:
            fail(error, as_json=bool(kwargs.get("as_json")))
            raise  # pragma: no cover - fail() exits

    return wrapper
