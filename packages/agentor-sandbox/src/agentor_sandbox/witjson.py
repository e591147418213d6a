"""WIT values ↔ JSON: the schema of each WIT type, and the conversions both ways.

One module holds the three so they cannot drift apart: the JSON Schema a
generic component's tool advertises is exactly what :func:`to_wit` accepts, and
:func:`from_wit` produces exactly what the output schema says.

=================  =====================================================
WIT                JSON
=================  =====================================================
bool               boolean
u8 … s64           integer within the type's range (64-bit types are
                   bounded to ±(2⁵³-1), what JSON numbers hold exactly)
f32, f64           number (finite)
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
resource, stream,  refused: ``sandbox.wit_type_unsupported``
future
=================  =====================================================

The Python values on the wasmtime side follow wasmtime-py's conventions
(``Record`` objects, ``Variant`` only where cases are ambiguous by Python type,
``bytes`` for ``list<u8>``, ``set`` for flags).
"""

from __future__ import annotations

import math
from typing import Any, Final

from pydantic import ValidationError
from wasmtime import component as wc

from agentor_core.errors import AgentorError
from agentor_core.tools import JSON_SCHEMA_2020_12, ToolSpec
from agentor_sandbox.codes import SandboxCode

MAX_SAFE: Final = 2**53 - 1
_INT_RANGES: Final[dict[type[Any], tuple[int, int]]] = {
    wc.U8: (0, 2**8 - 1),
    wc.U16: (0, 2**16 - 1),
    wc.U32: (0, 2**32 - 1),
    wc.U64: (0, MAX_SAFE),
    wc.S8: (-(2**7), 2**7 - 1),
    wc.S16: (-(2**15), 2**15 - 1),
    wc.S32: (-(2**31), 2**31 - 1),
    wc.S64: (-MAX_SAFE, MAX_SAFE),
}
_F32_MAX: Final = 3.4028234663852886e38
MAX_DEPTH: Final = 32
MAX_TYPE_NODES: Final = 10_000
"""WIT types expanded per function. The binary names a type once and refers to it, so a
few hundred bytes can describe a tuple of 100 000+ leaves; its schema would be as large."""

Case = tuple[str, "wc.ValType | None"]


class Budget:
    """Type nodes a function's schemas may still expand; shared by its parameters and result."""

    __slots__ = ("left",)

    def __init__(self) -> None:
        self.left = MAX_TYPE_NODES


def _unsupported(where: str, what: str) -> AgentorError:
    return AgentorError(
        SandboxCode.WIT_TYPE_UNSUPPORTED,
        f"{where}: WIT {what} has no JSON form",
        hint="export a wrapper function that takes and returns plain WIT values",
    )


def _cases(ty: Any) -> list[Case] | None:
    if isinstance(ty, wc.VariantType):
        return list(ty.cases)
    if isinstance(ty, wc.OptionType):
        return [("none", None), ("some", ty.payload)]
    if isinstance(ty, wc.ResultType):
        return [("ok", ty.ok), ("err", ty.err)]
    return None


# -- schema ---------------------------------------------------------------------


def schema(ty: Any, where: str, depth: int = 0, budget: Budget | None = None) -> dict[str, Any]:
    """The JSON Schema of one WIT value type, per the table in this module's docstring."""
    if depth > MAX_DEPTH:
        raise _unsupported(where, f"types nested deeper than {MAX_DEPTH}")
    budget = budget if budget is not None else Budget()
    budget.left -= 1
    if budget.left < 0:
        raise _unsupported(where, f"types of more than {MAX_TYPE_NODES} nodes")
    deeper = depth + 1
    span = _INT_RANGES.get(type(ty))
    if span is not None:
        return {"type": "integer", "minimum": span[0], "maximum": span[1]}
    if isinstance(ty, wc.Bool):
        return {"type": "boolean"}
    if isinstance(ty, wc.F32):
        return {"type": "number", "minimum": -_F32_MAX, "maximum": _F32_MAX}
    if isinstance(ty, wc.F64):
        return {"type": "number"}
    if isinstance(ty, wc.Char):
        return {"type": "string", "minLength": 1, "maxLength": 1}
    if isinstance(ty, wc.String):
        return {"type": "string"}
    if isinstance(ty, wc.ListType):
        return {"type": "array", "items": schema(ty.element, f"{where}[]", deeper, budget)}
    if isinstance(ty, wc.TupleType):
        elements = [schema(t, f"{where}.{i}", deeper, budget) for i, t in enumerate(ty.elements)]
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
            "properties": {n: schema(t, f"{where}.{n}", deeper, budget) for n, t in fields},
            "required": [n for n, _ in fields],
            "additionalProperties": False,
        }
    if isinstance(ty, wc.VariantType):
        return {"oneOf": [_case_schema(n, t, where, deeper, budget) for n, t in ty.cases]}
    if isinstance(ty, wc.EnumType):
        return {"type": "string", "enum": list(ty.names)}
    if isinstance(ty, wc.OptionType):
        return {"anyOf": [schema(ty.payload, where, deeper, budget), {"type": "null"}]}
    if isinstance(ty, wc.ResultType):
        return {
            "oneOf": [
                _case_schema("ok", ty.ok, where, deeper, budget, null=True),
                _case_schema("err", ty.err, where, deeper, budget, null=True),
            ]
        }
    if isinstance(ty, wc.FlagsType):
        return {"type": "array", "items": {"enum": list(ty.names)}, "uniqueItems": True}
    name = type(ty).__name__
    what = {"OwnType": "resource", "BorrowType": "resource borrow"}.get(name, name)
    raise _unsupported(where, what.removesuffix("Type").lower())


def _case_schema(
    name: str, payload: Any, where: str, depth: int, budget: Budget, *, null: bool = False
) -> dict[str, Any]:
    if payload is None:
        if not null:
            return {"const": name}
        inner: dict[str, Any] = {"type": "null"}
    else:
        inner = schema(payload, f"{where}.{name}", depth, budget)
    return {
        "type": "object",
        "properties": {name: inner},
        "required": [name],
        "additionalProperties": False,
    }


def func_spec(tool_name: str, params: list[tuple[str, Any]], result: Any | None) -> ToolSpec:
    """The tool spec of one exported function: an object of its parameters, ``{"result": …}``."""
    where = f"function {tool_name!r}"
    budget = Budget()
    properties = {
        param: schema(ty, f"{where}, parameter {param!r}", budget=budget) for param, ty in params
    }
    output = None
    if result is not None:
        output = {
            "$schema": JSON_SCHEMA_2020_12,
            "type": "object",
            "properties": {"result": schema(result, f"{where}, result", budget=budget)},
            "required": ["result"],
            "additionalProperties": False,
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


# -- JSON → WIT -------------------------------------------------------------------


def _bad(where: str, problem: str) -> AgentorError:
    return AgentorError(
        SandboxCode.ARGUMENTS_INVALID,
        f"argument {where}: {problem}",
        hint="fix the argument to match the tool's input schema ('agentor tool inspect')",
    )


def _classes(ty: Any) -> set[type[Any]]:
    found: set[type[Any]] = set()
    if ty is None:
        found.add(object)
    else:
        ty.add_classes(found)
    return found


def _tagged(cases: list[Case]) -> bool:
    """wasmtime-py's rule: cases whose Python types overlap travel as ``Variant`` objects."""
    seen: set[type[Any]] = set()
    for _, ty in cases:
        mine = _classes(ty)
        if mine & seen:
            return True
        seen |= mine
    return False


def _wasmtime_pick(cases: list[Case], value: Any) -> str | None:
    """The case wasmtime-py would choose for an untagged ``value`` (first isinstance match)."""
    for name, ty in cases:
        if ty is None:
            if value is None:
                return name
        elif isinstance(value, tuple(_classes(ty))):
            return name
    return None


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise _bad(where, "expected a string")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _bad(where, "contains a lone surrogate, which WIT strings cannot hold") from None
    return value


def to_wit(ty: Any, value: Any, where: str, depth: int = 0) -> Any:
    """``value`` (decoded JSON) as the Python value wasmtime-py lowers to ``ty``."""
    if depth > MAX_DEPTH:
        raise _bad(where, f"nested deeper than {MAX_DEPTH}")
    deeper = depth + 1
    span = _INT_RANGES.get(type(ty))
    if span is not None:
        # JSON Schema counts 2.0 as an integer; so does this, exactly as the schema says.
        if type(value) is float and value.is_integer():
            value = int(value)
        if type(value) is not int:
            raise _bad(where, "expected an integer")
        if not span[0] <= value <= span[1]:
            raise _bad(where, f"{value} is outside {span[0]}..{span[1]}")
        return value
    if isinstance(ty, wc.Bool):
        if type(value) is not bool:
            raise _bad(where, "expected a boolean")
        return value
    if isinstance(ty, wc.F32 | wc.F64):
        if type(value) not in (int, float) or not math.isfinite(value):
            raise _bad(where, "expected a finite number")
        if isinstance(ty, wc.F32) and abs(value) > _F32_MAX:
            raise _bad(where, "is outside the range of a 32-bit float")
        return float(value)
    if isinstance(ty, wc.Char):
        text = _text(value, where)
        if len(text) != 1:
            raise _bad(where, "expected exactly one character")
        return text
    if isinstance(ty, wc.String):
        return _text(value, where)
    if isinstance(ty, wc.ListType):
        if not isinstance(value, list):
            raise _bad(where, "expected an array")
        element = ty.element
        items = [to_wit(element, item, f"{where}[{i}]", deeper) for i, item in enumerate(value)]
        return bytes(items) if isinstance(element, wc.U8) else items
    if isinstance(ty, wc.TupleType):
        elements = ty.elements
        if not isinstance(value, list) or len(value) != len(elements):
            raise _bad(where, f"expected an array of {len(elements)} items")
        return tuple(
            to_wit(t, item, f"{where}[{i}]", deeper)
            for i, (t, item) in enumerate(zip(elements, value, strict=True))
        )
    if isinstance(ty, wc.RecordType):
        return _record(ty, value, where, deeper)
    cases = _cases(ty)
    if cases is not None:
        return _variant(ty, cases, value, where, deeper)
    if isinstance(ty, wc.EnumType):
        if not isinstance(value, str) or value not in ty.names:
            raise _bad(where, f"expected one of {', '.join(ty.names)}")
        return value
    if isinstance(ty, wc.FlagsType):
        names = ty.names
        if not isinstance(value, list) or any(f not in names for f in value):
            raise _bad(where, f"expected an array of flags from {', '.join(names)}")
        if len(set(value)) != len(value):
            raise _bad(where, "names a flag twice")
        return set(value)
    raise _bad(where, f"WIT {type(ty).__name__} has no JSON form")


def _record(ty: Any, value: Any, where: str, depth: int) -> wc.Record:
    if not isinstance(value, dict):
        raise _bad(where, "expected an object")
    fields = ty.fields
    names = {name for name, _ in fields}
    unknown = sorted(set(value) - names)
    if unknown:
        raise _bad(f"{where}.{unknown[0][:64]}", "is not a field of this record")
    record = wc.Record()
    for name, field_ty in fields:
        if name not in value:
            raise _bad(f"{where}.{name}", "is required")
        setattr(record, name, to_wit(field_ty, value[name], f"{where}.{name}", depth))
    return record


def _variant(ty: Any, cases: list[Case], value: Any, where: str, depth: int) -> Any:
    payload_ty: Any
    if isinstance(ty, wc.OptionType):
        tag = "none" if value is None else "some"
        payload_ty = None if value is None else ty.payload
        payload = None if value is None else to_wit(payload_ty, value, where, depth)
    else:
        by_name = dict(cases)
        if isinstance(value, str) and isinstance(ty, wc.VariantType):
            tag, raw, has_payload = value, None, False
        elif isinstance(value, dict) and len(value) == 1:
            tag, raw = next(iter(value.items()))
            has_payload = True
        else:
            raise _bad(where, f"expected one of the cases {', '.join(by_name)}")
        if tag not in by_name:
            raise _bad(where, f"expected one of the cases {', '.join(by_name)}")
        payload_ty = by_name[tag]
        if payload_ty is None:
            if has_payload and raw is not None:
                raise _bad(f"{where}.{tag}", "this case carries no payload")
            if has_payload and isinstance(ty, wc.VariantType):
                raise _bad(where, f"write the case {tag!r} as a plain string")
            payload = None
        else:
            if not has_payload:
                raise _bad(where, f"the case {tag!r} needs a payload: {{{tag!r}: …}}")
            payload = to_wit(payload_ty, raw, f"{where}.{tag}", depth)
    if _tagged(cases):
        return wc.Variant(tag, payload)
    # Untagged, wasmtime-py picks the case by the value's Python type: make sure
    # it would pick this one, rather than send a different case to the guest.
    if _wasmtime_pick(cases, payload) != tag:
        raise _bad(where, f"case {tag!r} cannot be told apart from another case by this host")
    return payload


# -- WIT → JSON -------------------------------------------------------------------


def _invalid(where: str, problem: str) -> AgentorError:
    return AgentorError(
        SandboxCode.INVALID_RESULT,
        f"result {where}: {problem}",
        hint="a bug in the tool; report it to its author",
    )


def from_wit(ty: Any, value: Any, where: str = "result", depth: int = 0) -> Any:
    """A value wasmtime-py lifted from ``ty``, as the JSON the output schema describes."""
    if depth > MAX_DEPTH:
        raise _invalid(where, f"nested deeper than {MAX_DEPTH}")
    deeper = depth + 1
    span = _INT_RANGES.get(type(ty))
    if span is not None:
        if not span[0] <= int(value) <= span[1]:
            raise _invalid(where, f"{value} is outside what JSON holds exactly ({span[1]})")
        return int(value)
    if isinstance(ty, wc.Bool):
        return bool(value)
    if isinstance(ty, wc.F32 | wc.F64):
        number = float(value)
        if not math.isfinite(number):
            raise _invalid(where, "is not a finite number (JSON has no NaN or infinity)")
        return number
    if isinstance(ty, wc.Char | wc.String | wc.EnumType):
        return str(value)
    if isinstance(ty, wc.ListType):
        element = ty.element
        return [from_wit(element, item, f"{where}[{i}]", deeper) for i, item in enumerate(value)]
    if isinstance(ty, wc.TupleType):
        return [
            from_wit(t, item, f"{where}[{i}]", deeper)
            for i, (t, item) in enumerate(zip(ty.elements, value, strict=True))
        ]
    if isinstance(ty, wc.RecordType):
        return {
            name: from_wit(field_ty, getattr(value, name), f"{where}.{name}", deeper)
            for name, field_ty in ty.fields
        }
    cases = _cases(ty)
    if cases is not None:
        return _lift_variant(ty, cases, value, where, deeper)
    if isinstance(ty, wc.FlagsType):
        return [name for name in ty.names if name in value]
    raise _invalid(where, f"WIT {type(ty).__name__} has no JSON form")


def _lift_case(cases: list[Case], value: Any) -> str | None:
    """The case of an untagged value: exact Python type first (``bool`` is an ``int``)."""
    if value is None:
        for name, ty in cases:
            if ty is None or object in _classes(ty):
                return name
        return None
    for name, ty in cases:
        if ty is not None and type(value) in _classes(ty):
            return name
    return _wasmtime_pick(cases, value)


def _lift_variant(ty: Any, cases: list[Case], value: Any, where: str, depth: int) -> Any:
    if isinstance(value, wc.Variant):
        tag, payload = value.tag, value.payload
    else:
        found = _lift_case(cases, value)
        if found is None:
            raise _invalid(where, "matches none of the type's cases")
        tag, payload = found, value
    payload_ty = dict(cases).get(tag)
    inner = None if payload_ty is None else from_wit(payload_ty, payload, f"{where}.{tag}", depth)
    if isinstance(ty, wc.OptionType):
        return inner
    if isinstance(ty, wc.VariantType) and payload_ty is None:
        return tag
    return {tag: inner}
