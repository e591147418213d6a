"""Query JSON with a small, predictable path language: $.a.b[0], $['key'], [*], ..name."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from agentor_toolkit.guest import Field, ToolFailure, tool

_TOKEN = re.compile(
    r"""\.\.(?P<deep>[A-Za-z_][\w\-]*|\*)
      |\.(?P<name>[A-Za-z_][\w\-]*|\*)
      |\[\s*(?:(?P<index>-?\d+)|(?P<star>\*)|'(?P<sq>[^']*)'|"(?P<dq>[^"]*)")\s*\]""",
    re.VERBOSE,
)
MAX_RESULTS = 10_000


def parse_path(path: str) -> list[tuple[str, Any]]:
    if not path.startswith("$"):
        raise ToolFailure("invalid_path", "a path starts with $, e.g. $.items[0].name")
    steps: list[tuple[str, Any]] = []
    pos = 1
    while pos < len(path):
        match = _TOKEN.match(path, pos)
        if match is None:
            raise ToolFailure("invalid_path", f"cannot read the path at character {pos}")
        if match.group("deep") is not None:
            steps.append(("deep", match.group("deep")))
        elif match.group("name") is not None:
            steps.append(("key", match.group("name")))
        elif match.group("index") is not None:
            steps.append(("index", int(match.group("index"))))
        elif match.group("star") is not None:
            steps.append(("key", "*"))
        else:
            steps.append(
                ("key", match.group("sq") if match.group("sq") is not None else match.group("dq"))
            )
        pos = match.end()
    return steps


def _children(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, list):
        return list(value)
    return []


def _descendants(value: Any) -> list[Any]:
    out, stack = [], [value]
    while stack:
        item = stack.pop()
        out.append(item)
        stack.extend(reversed(_children(item)))
        if len(out) > MAX_RESULTS * 10:
            raise ToolFailure("too_many_results", "the document is too large to search deeply")
    return out


def run_path(document: Any, steps: list[tuple[str, Any]]) -> list[Any]:
    current = [document]
    for kind, arg in steps:
        nxt: list[Any] = []
        for value in current:
            if kind == "deep":
                for item in _descendants(value):
                    if isinstance(item, dict):
                        nxt += (
                            list(item.values())
                            if arg == "*"
                            else ([item[arg]] if arg in item else [])
                        )
            elif kind == "index":
                if isinstance(value, list) and -len(value) <= arg < len(value):
                    nxt.append(value[arg])
            elif arg == "*":
                nxt += _children(value)
            elif isinstance(value, dict) and arg in value:
                nxt.append(value[arg])
        if len(nxt) > MAX_RESULTS:
            raise ToolFailure("too_many_results", f"more than {MAX_RESULTS} results")
        current = nxt
    return current


@tool(read_only=True, idempotent=True)
def json_query(
    document: Annotated[str, Field(max_length=4_000_000)],
    path: Annotated[str, Field(min_length=1, max_length=1000)],
) -> list[Any]:
    """Select values from a JSON document with a path such as $.store.book[*].title.

    Args:
        document: The JSON document, as text.
        path: $ then .name, ['name'], [index], [*] or ..name steps.
    """
    try:
        parsed = json.loads(document)
    except ValueError as exc:
        raise ToolFailure("invalid_json", f"the document is not JSON: {exc}") from None
    return run_path(parsed, parse_path(path))
