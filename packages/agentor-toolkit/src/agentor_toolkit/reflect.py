"""Generic components as tools: each exported WIT function becomes a tool with a JSON Schema.

For components written without our SDK (Rust, JavaScript, Go…). The exported
functions' types are read through wasmtime's component type reflection
(``pip install 'agentor-toolkit[components]'``); nothing is instantiated or run.

The JSON form of each WIT type (what a caller sends and receives):

=================  =====================================================
WIT                JSON
=================  =====================================================
bool               boolean
u8 … s64           integer within the type's range (64-bit types are
                   bounded to ±(2⁵³-1), what JSON numbers hold exactly)
f32, f64           number
char               string of one character
string             string
list<T>            array of T
tuple<A, B>        array ``[A, B]``
record             object with every field required
variant            ``"case"`` for a case without payload, else ``{"case": payload}``
enum               string, one of the case names
option<T>          T or null
result<T, E>       ``{"ok": T}`` or ``{"err": E}`` (null when a side has no payload)
flags              array of distinct flag names
resource, stream,  refused: ``toolkit.wit_type_unsupported``
future
=================  =====================================================
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from pydantic import ValidationError

from agentor_core.errors import AgentorError
from agentor_core.tools import JSON_SCHEMA_2020_12, ToolSpec
from agentor_toolkit.component import kind, read_bounded
from agentor_toolkit.errors import ToolkitCode
from agentor_toolkit.manifest import Manifest

ValType = Any
"""A ``wasmtime.component`` value type; wasmtime is an optional extra, so it is untyped here."""

MAX_SAFE: Final = 2**53 - 1
_INT_RANGES: Final = {
    "U8": (0, 2**8 - 1),
    "U16": (0, 2**16 - 1),
    "U32": (0, 2**32 - 1),
    "U64": (0, MAX_SAFE),
    "S8": (-(2**7), 2**7 - 1),
    "S16": (-(2**15), 2**15 - 1),
    "S32": (-(2**31), 2**31 - 1),
    "S64": (-MAX_SAFE, MAX_SAFE),
}
_MAX_DEPTH: Final = 32
_MAX_TYPE_NODES: Final = 10_000
"""WIT types expanded per function. The binary names a type once and refers to it, so a
few hundred bytes can describe a tuple of 100 000+ leaves; its schema would be as large."""


class _Budget:
    """Type nodes a function's schemas may still expand; shared by its parameters and result."""

    __slots__ = ("left",)

    def __init__(self) -> None:
        self.left = _MAX_TYPE_NODES


def _wasmtime() -> Any:
    # Imported by name: wasmtime is the optional [components] extra, not a
    # dependency, and this module must import without it.
    try:
        wasmtime = importlib.import_module("wasmtime")
        importlib.import_module("wasmtime.component")
    except ImportError:
        raise AgentorError(
            ToolkitCode.REFLECTION_UNAVAILABLE,
            "wasmtime is not installed, so generic components cannot be reflected",
            hint="pip install 'agentor-toolkit[components]'",
        ) from None
    return wasmtime


def _unsupported(where: str, what: str) -> AgentorError:
    return AgentorError(
        ToolkitCode.WIT_TYPE_UNSUPPORTED,
        f"{where}: WIT {what} has no JSON form",
        hint="export a wrapper function that takes and returns plain WIT values",
    )


def wit_schema(
    ty: ValType, where: str, depth: int = 0, budget: _Budget | None = None
) -> dict[str, Any]:
    """The JSON Schema of one WIT value type, per the table in this module's docstring."""
    wc = _wasmtime().component
    if depth > _MAX_DEPTH:
        raise _unsupported(where, f"types nested deeper than {_MAX_DEPTH}")
    budget = budget if budget is not None else _Budget()
    budget.left -= 1
    if budget.left < 0:
        raise _unsupported(where, f"types of more than {_MAX_TYPE_NODES} nodes")
    deeper = depth + 1
    name = type(ty).__name__
    if name in _INT_RANGES:
        low, high = _INT_RANGES[name]
        return {"type": "integer", "minimum": low, "maximum": high}
    if isinstance(ty, wc.Bool):
        return {"type": "boolean"}
    if isinstance(ty, wc.F32 | wc.F64):
        return {"type": "number"}
    if isinstance(ty, wc.Char):
        return {"type": "string", "minLength": 1, "maxLength": 1}
    if isinstance(ty, wc.String):
        return {"type": "string"}
    if isinstance(ty, wc.ListType):
        return {"type": "array", "items": wit_schema(ty.element, f"{where}[]", deeper, budget)}
    if isinstance(ty, wc.TupleType):
        elements = [
            wit_schema(t, f"{where}.{i}", deeper, budget) for i, t in enumerate(ty.elements)
        ]
        return {
            "type": "array",
            "prefixItems": elements,
            "items": False,
            "minItems": len(elements),
            "maxItems": len(elements),
        }
    if isinstance(ty, wc.RecordType):
        fields = ty.fields
        return {
            "type": "object",
            "properties": {n: wit_schema(t, f"{where}.{n}", deeper, budget) for n, t in fields},
            "required": [n for n, _ in fields],
            "additionalProperties": False,
        }
    if isinstance(ty, wc.VariantType):
        return {"oneOf": [_case(n, t, where, deeper, budget) for n, t in ty.cases]}
    if isinstance(ty, wc.EnumType):
        return {"type": "string", "enum": list(ty.names)}
    if isinstance(ty, wc.OptionType):
        return {"anyOf": [wit_schema(ty.payload, where, deeper, budget), {"type": "null"}]}
    if isinstance(ty, wc.ResultType):
        return {
            "oneOf": [
                _case("ok", ty.ok, where, deeper, budget, null=True),
                _case("err", ty.err, where, deeper, budget, null=True),
            ]
        }
    if isinstance(ty, wc.FlagsType):
        return {"type": "array", "items": {"enum": list(ty.names)}, "uniqueItems": True}
    what = {"OwnType": "resource", "BorrowType": "resource borrow"}.get(name, name)
    raise _unsupported(where, what.removesuffix("Type").lower())


def _case(
    name: str,
    payload: ValType | None,
    where: str,
    depth: int,
    budget: _Budget,
    *,
    null: bool = False,
) -> dict[str, Any]:
    if payload is None:
        if not null:
            return {"const": name}
        inner: dict[str, Any] = {"type": "null"}
    else:
        inner = wit_schema(payload, f"{where}.{name}", depth, budget)
    return {
        "type": "object",
        "properties": {name: inner},
        "required": [name],
        "additionalProperties": False,
    }


def _tool_name(prefix: str, name: str) -> str:
    # "example:calc/ops@1.0.0" → "ops"; names keep to MCP's character set.
    short = re.sub(r"@.*$", "", prefix.rsplit("/", 1)[-1].rsplit(":", 1)[-1]) if prefix else ""
    full = f"{short}.{name}" if short else name
    return re.sub(r"[^A-Za-z0-9_.\-]", "_", full)[:128].lstrip(".-") or "function"


def _func_spec(tool_name: str, func: Any) -> ToolSpec:
    where = f"function {tool_name!r}"
    budget = _Budget()
    properties = {
        param: wit_schema(ty, f"{where}, parameter {param!r}", budget=budget)
        for param, ty in func.params
    }
    result = func.result
    output = None
    if result is not None:
        output = {
            "$schema": JSON_SCHEMA_2020_12,
            "type": "object",
            "properties": {"result": wit_schema(result, f"{where}, result", budget=budget)},
            "required": ["result"],
        }
    try:
        return ToolSpec(
            name=tool_name,
            description=f"WIT export {tool_name} (reflected from the component's types)",
            input_schema={
                "$schema": JSON_SCHEMA_2020_12,
                "type": "object",
                "properties": properties,
                "required": list(properties),
                "additionalProperties": False,
            },
            output_schema=output,
        )
    except ValidationError:
        # E.g. a dozen enums of 10 000 cases each: past the bounds a tool schema may have.
        raise _unsupported(
            where, "types whose schema is larger than a tool schema may be"
        ) from None


@dataclass(frozen=True, slots=True)
class Reflection:
    """The tools reflected from a component, and the exports left out with the reason."""

    tools: tuple[ToolSpec, ...]
    skipped: tuple[tuple[str, str], ...]


def reflect_bytes(data: bytes, *, source: str = "component") -> Reflection:
    """Every exported function of the component ``data`` (and of its exported instances).

    A function whose types have no JSON form (resources, streams) is skipped and
    named in :attr:`Reflection.skipped`; the others still become tools.
    """
    wasmtime = _wasmtime()
    wc = wasmtime.component
    if kind(data) != "component":
        raise AgentorError(
            ToolkitCode.COMPONENT_INVALID,
            f"{source} is a core module, not a component: it has no WIT types to reflect",
            hint="run a WASI preview 1 module as a command tool (JSON on stdin and stdout)",
        )
    engine = wasmtime.Engine()
    try:
        component = wc.Component(engine, data)
    except wasmtime.WasmtimeError as exc:
        raise AgentorError(
            ToolkitCode.COMPONENT_INVALID,
            f"{source} does not compile: {str(exc)[:500]}",
            hint="check it with 'wasm-tools validate'",
        ) from None
    funcs: list[tuple[str, Any]] = []
    for name, extern in sorted(component.type.exports(engine).items()):
        ty = extern.ty
        if isinstance(ty, wc.FuncType):
            funcs.append((_tool_name("", name), ty))
        elif isinstance(ty, wc.ComponentInstanceType):
            for inner, inner_extern in sorted(ty.exports(engine).items()):
                inner_ty = inner_extern.ty
                if isinstance(inner_ty, wc.FuncType):
                    funcs.append((_tool_name(name, inner), inner_ty))
    specs: list[ToolSpec] = []
    skipped: list[tuple[str, str]] = []
    for tool_name, func in funcs:
        try:
            specs.append(_func_spec(tool_name, func))
        except AgentorError as exc:
            skipped.append((tool_name, exc.message))
    return Reflection(tools=tuple(specs), skipped=tuple(skipped))


def reflect_component(path: Path) -> Manifest:
    """A manifest for a generic component: its exports as tools, requesting nothing."""
    reflected = reflect_bytes(read_bounded(path), source=str(path))
    name = re.sub(r"[^A-Za-z0-9_.\-]", "_", path.stem)[:128].lstrip(".-") or "component"
    return Manifest(name=name, version="0.0.0", tools=reflected.tools)
