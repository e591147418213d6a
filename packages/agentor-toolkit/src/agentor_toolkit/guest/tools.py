"""``@tool``: a typed Python function becomes a tool with JSON Schemas, checked in the guest.

Standard library only. Everything here runs when the tool module is imported,
which componentize-py does once at build time (pre-initialisation), so a
schema problem stops the build with a message naming the parameter.
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

from agentor_toolkit.guest.schema import (
    JSON_SCHEMA_2020_12,
    SchemaError,
    from_json,
    json_default,
    schema_for,
)
from agentor_toolkit.guest.validate import validate

F = TypeVar("F", bound=Callable[..., Any])

NAME_RE: Final = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}$")
RESULT_KEY: Final = "result"
"""Non-object results are wrapped as ``{"result": value}``, as MCP does for structured output."""


class ToolFailure(Exception):  # noqa: N818 - it is what a tool raises to report a failure
    """Raise from a tool to return a structured error with a stable ``code``."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"[{code}] {message}")


@dataclass(frozen=True, slots=True)
class RegisteredTool:
    name: str
    function: Callable[..., Any]
    description: str
    title: str | None
    input_schema: dict[str, Any]
    output_schema: dict[str, Any] | None
    wraps_result: bool
    hints: dict[str, Any]
    annotations: dict[str, bool]

    def spec(self) -> dict[str, Any]:
        """The tool as agentor-core's ``ToolSpec`` fields."""
        out: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "input_schema": self.input_schema,
            "output_schema": self.output_schema,
            "annotations": dict(self.annotations),
        }
        if self.title is not None:
            out["title"] = self.title
        return out

    def run(self, args: dict[str, Any]) -> Any:
        """Validate ``args`` against the input schema, convert them, call the function."""
        validate(self.input_schema, args)
        kwargs = {key: from_json(self.hints[key], value) for key, value in args.items()}
        return self.function(**kwargs)


@dataclass
class Registry:
    tools: dict[str, RegisteredTool] = field(default_factory=dict)
    declared: dict[str, Any] = field(default_factory=dict)


REGISTRY: Final = Registry()


def _doc_parts(doc: str) -> tuple[str, dict[str, str]]:
    """The summary paragraphs and the ``Args:`` descriptions of a Google-style docstring."""
    text = inspect.cleandoc(doc)
    summary: list[str] = []
    params: dict[str, str] = {}
    section = None
    current = None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped in {"Args:", "Arguments:", "Parameters:"}:
            section = "args"
            continue
        if stripped in {"Returns:", "Raises:", "Examples:", "Example:", "Yields:"}:
            section = "other"
            continue
        if section is None:
            summary.append(line)
        elif section == "args" and stripped:
            match = re.match(r"^(\w+)(\s*\(.*?\))?\s*:\s*(.*)$", stripped)
            if match and not line.startswith("        "):
                current = match.group(1)
                params[current] = match.group(3)
            elif current is not None:
                params[current] = f"{params[current]} {stripped}".strip()
    return "\n".join(summary).strip(), params


def _build(
    function: Callable[..., Any],
    name: str | None,
    title: str | None,
    annotations: dict[str, bool],
) -> RegisteredTool:
    tool_name = name or function.__name__
    if not NAME_RE.match(tool_name):
        raise SchemaError(f"tool name {tool_name!r} must match [A-Za-z0-9_][A-Za-z0-9_.-]*")
    where = f"tool {tool_name!r}"
    try:
        hints = typing.get_type_hints(function, include_extras=True)
    except NameError as exc:
        raise SchemaError(f"{where}: a type hint names something undefined: {exc}") from None
    description, param_docs = _doc_parts(function.__doc__ or "")
    properties: dict[str, Any] = {}
    required: list[str] = []
    for param in inspect.signature(function).parameters.values():
        pwhere = f"{where}, parameter {param.name!r}"
        if param.kind in {param.VAR_POSITIONAL, param.VAR_KEYWORD, param.POSITIONAL_ONLY}:
            raise SchemaError(f"{pwhere}: tools take named parameters only (no *args/**kwargs)")
        if param.name not in hints:
            raise SchemaError(f"{pwhere}: add a type hint")
        prop = schema_for(hints[param.name], pwhere)
        if param.name in param_docs and "description" not in prop:
            prop = {**prop, "description": param_docs[param.name]}
        if param.default is inspect.Parameter.empty:
            required.append(param.name)
        else:
            try:
                prop = {**prop, "default": json_default(param.default)}
            except SchemaError as exc:
                raise SchemaError(f"{pwhere}: {exc}") from None
        properties[param.name] = prop
    input_schema = {
        "$schema": JSON_SCHEMA_2020_12,
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }
    returns = hints.get("return", inspect.Signature.empty)
    output_schema: dict[str, Any] | None = None
    wraps = False
    if returns is inspect.Signature.empty:
        raise SchemaError(f"{where}: add a return type hint (-> None if it returns nothing)")
    if returns is not None and returns is not type(None):
        result = schema_for(returns, f"{where}, return value")
        if result.get("type") == "object":
            output_schema = {"$schema": JSON_SCHEMA_2020_12, **result}
        else:
            wraps = True
            output_schema = {
                "$schema": JSON_SCHEMA_2020_12,
                "type": "object",
                "properties": {RESULT_KEY: result},
                "required": [RESULT_KEY],
            }
    return RegisteredTool(
        name=tool_name,
        function=function,
        description=description,
        title=title,
        input_schema=input_schema,
        output_schema=output_schema,
        wraps_result=wraps,
        hints=hints,
        annotations=annotations,
    )


def tool(
    function: F | None = None,
    *,
    name: str | None = None,
    title: str | None = None,
    read_only: bool | None = None,
    destructive: bool | None = None,
    idempotent: bool | None = None,
    open_world: bool | None = None,
) -> Any:
    """Register ``function`` as a tool: ``@tool`` or ``@tool(name=..., read_only=True)``.

    The docstring's first paragraphs describe the tool; its ``Args:`` section
    describes the parameters. The function is returned unchanged.
    """
    hints = {
        "read_only": read_only,
        "destructive": destructive,
        "idempotent": idempotent,
        "open_world": open_world,
    }
    annotations = {key: value for key, value in hints.items() if value is not None}

    def register(func: F) -> F:
        built = _build(func, name, title, annotations)
        if built.name in REGISTRY.tools:
            raise SchemaError(f"tool {built.name!r} is defined twice")
        REGISTRY.tools[built.name] = built
        return func

    if function is not None:
        return register(function)
    return register


def declare(
    *,
    name: str | None = None,
    version: str | None = None,
    requests: dict[str, Any] | None = None,
) -> None:
    """Declare the manifest in code instead of (or under) a ``tool.toml``.

    ``requests`` uses agentor-core's ``Capabilities`` fields (``filesystem``,
    ``network``, ``env``, ``secrets``, ``limits``). Values in ``tool.toml``
    take precedence; the host validates the result when it builds.
    """
    if name is not None:
        REGISTRY.declared["name"] = name
    if version is not None:
        REGISTRY.declared["version"] = version
    if requests is not None:
        REGISTRY.declared["requests"] = requests
