"""The component's two exports, ``describe`` and ``call``, over the ``@tool`` registry.

Standard library only. The build generates a tiny app module that forwards the
WIT exports here; nothing in this module touches the bindings, so it runs the
same under CPython on the host (tests) and inside the component.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Final

from agentor_toolkit.guest.schema import to_json
from agentor_toolkit.guest.tools import REGISTRY, RESULT_KEY, ToolFailure
from agentor_toolkit.guest.validate import ArgumentError

MAX_MESSAGE_CHARS: Final = 2000


_CODE_RE: Final = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def tool_code(code: str) -> str:
    """``code`` as the contract's lower snake case, or ``tool_failed`` if nothing is left."""
    cleaned = re.sub(r"[^a-z0-9_]+", "_", code.strip().lower()).strip("_")[:64]
    return cleaned if _CODE_RE.match(cleaned) else "tool_failed"


class Failure(Exception):  # noqa: N818 - carried to the WIT ``tool-error``
    def __init__(self, code: str, message: str) -> None:
        self.code = tool_code(code)
        self.message = message[:MAX_MESSAGE_CHARS] or code
        super().__init__(f"[{code}] {self.message}")


def manifest(head: dict[str, Any]) -> dict[str, Any]:
    """The manifest: ``head`` (from ``tool.toml``) over what the code declared, plus the tools."""
    fallback = head.get("default_name") or "tool"
    given = {k: v for k, v in head.items() if v is not None and k != "default_name"}
    merged = {**REGISTRY.declared, **given}
    return {
        "name": merged.get("name", fallback),
        "version": merged.get("version", "0.0.0"),
        "tools": [REGISTRY.tools[name].spec() for name in sorted(REGISTRY.tools)],
        "requests": merged.get("requests", {}),
    }


def describe(head_json: str) -> str:
    return json.dumps(manifest(json.loads(head_json)), sort_keys=True, separators=(",", ":"))


def _finite(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return False
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return True


def call(name: str, args_json: str) -> str:
    """Run tool ``name``; raise :class:`Failure` with a stable code on any failure."""
    registered = REGISTRY.tools.get(name)
    if registered is None:
        raise Failure("unknown_tool", f"this component has no tool named {name[:128]!r}")
    try:
        args = json.loads(args_json)
    except ValueError:
        raise Failure("invalid_arguments", "arguments are not valid JSON") from None
    if not isinstance(args, dict):
        raise Failure("invalid_arguments", "arguments must be a JSON object")
    try:
        value = registered.run(args)
    except ArgumentError as exc:
        raise Failure("invalid_arguments", str(exc)) from None
    except ToolFailure as exc:
        raise Failure(exc.code, exc.message) from None
    except Exception as exc:  # noqa: BLE001 - any tool bug becomes a structured error, never a trap
        raise Failure("tool_failed", f"{type(exc).__name__}: {exc}") from None
    result = to_json(value)
    if registered.wraps_result:
        result = {RESULT_KEY: result}
    if not _finite(result):
        raise Failure("invalid_result", "the tool returned NaN or Infinity, which JSON cannot hold")
    try:
        return json.dumps(result, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise Failure("invalid_result", f"the tool's result is not JSON: {exc}") from None
