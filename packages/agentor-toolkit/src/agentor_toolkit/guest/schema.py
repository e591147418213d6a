"""Type hints → JSON Schema 2020-12, and JSON values → the Python values the hints name.

Standard library only: this module is compiled into the component, where
pydantic's native core cannot go. Supported: ``str``, ``int``, ``float``,
``bool``, ``None``, ``list[T]``, ``dict[str, T]``, ``Optional``/``Union``,
``Literal``, ``Enum`` (string or integer values), ``TypedDict``, dataclasses and
``Annotated[T, "description" | Field(...)]``, and ``Any`` (any JSON value).
Anything else is refused at decoration time with a message naming the parameter, never at call time.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import types
import typing
from dataclasses import dataclass
from typing import Any, Final, Literal, Union

JSON_SCHEMA_2020_12: Final = "https://json-schema.org/draft/2020-12/schema"
_MAX_NESTING: Final = 32


class SchemaError(TypeError):
    """A type hint has no JSON Schema here; the message names where it was found."""


@dataclass(frozen=True, slots=True)
class Field:
    """Constraints and a description for ``Annotated[T, Field(...)]``.

    Each bound becomes the JSON Schema keyword of the same meaning and is
    checked inside the guest before the tool runs.
    """

    description: str | None = None
    ge: float | None = None
    le: float | None = None
    gt: float | None = None
    lt: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    examples: tuple[Any, ...] = ()

    def keywords(self, schema_type: object) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.description:
            out["description"] = self.description
        for attr, key in (
            ("ge", "minimum"),
            ("le", "maximum"),
            ("gt", "exclusiveMinimum"),
            ("lt", "exclusiveMaximum"),
        ):
            value = getattr(self, attr)
            if value is not None:
                out[key] = value
        if self.min_length is not None or self.max_length is not None:
            # One length vocabulary per JSON type: characters for strings, items for arrays.
            prefix = "Items" if schema_type == "array" else "Length"
            if self.min_length is not None:
                out[f"min{prefix}"] = self.min_length
            if self.max_length is not None:
                out[f"max{prefix}"] = self.max_length
        if self.pattern is not None:
            out["pattern"] = self.pattern
        if self.examples:
            out["examples"] = list(self.examples)
        return out


def _name(hint: object) -> str:
    return getattr(hint, "__name__", None) or repr(hint)


def _is_typeddict(hint: object) -> bool:
    return isinstance(hint, type) and typing.is_typeddict(hint)


def _enum_schema(hint: type[enum.Enum], where: str) -> dict[str, Any]:
    values = [member.value for member in hint]
    if all(isinstance(v, str) for v in values):
        return {"type": "string", "enum": values}
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return {"type": "integer", "enum": values}
    raise SchemaError(f"{where}: enum {hint.__name__} must have only str or only int values")


def _json_literal(value: object) -> bool:
    return value is None or isinstance(value, str | int | bool)


def json_default(value: object) -> object:
    """A parameter default as JSON, or a :class:`SchemaError` if it has no JSON form."""
    if isinstance(value, enum.Enum):
        return value.value
    if _json_literal(value):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    raise SchemaError("default has no JSON form; use None, a str, a number or a bool")


def schema_for(hint: object, where: str, _depth: int = 0) -> dict[str, Any]:
    """The JSON Schema of ``hint``; ``where`` names the parameter in errors."""
    if _depth > _MAX_NESTING:
        raise SchemaError(f"{where}: types nested deeper than {_MAX_NESTING} (recursive type?)")
    depth = _depth + 1
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Annotated:
        base = schema_for(args[0], where, depth)
        for meta in args[1:]:
            if isinstance(meta, str):
                base = {**base, "description": meta}
            elif isinstance(meta, Field):
                base = {**base, **meta.keywords(base.get("type"))}
        return base
    if hint is None or hint is type(None):
        return {"type": "null"}
    if hint is Any:
        # Any JSON value: the host bounds its size and depth.
        return {}
    if hint is bool:
        return {"type": "boolean"}
    if hint is int:
        return {"type": "integer"}
    if hint is float:
        return {"type": "number"}
    if hint is str:
        return {"type": "string"}
    if origin is Literal:
        if not all(_json_literal(a) for a in args):
            raise SchemaError(f"{where}: Literal values must be str, int, bool or None")
        return {"enum": list(args)}
    if origin is Union or origin is types.UnionType:
        return {"anyOf": [schema_for(a, where, depth) for a in args]}
    if origin is list or hint is list:
        if not args:
            raise SchemaError(f"{where}: say what the list holds, e.g. list[str]")
        return {"type": "array", "items": schema_for(args[0], where, depth)}
    if origin is dict or hint is dict:
        if len(args) != 2 or args[0] is not str:
            raise SchemaError(f"{where}: dicts must be dict[str, T] (JSON keys are strings)")
        return {"type": "object", "additionalProperties": schema_for(args[1], where, depth)}
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return _enum_schema(hint, where)
    if _is_typeddict(hint):
        hints = typing.get_type_hints(hint, include_extras=True)
        required = sorted(getattr(hint, "__required_keys__", frozenset(hints)))
        return {
            "type": "object",
            "title": _name(hint),
            "properties": {
                key: schema_for(value, f"{where}.{key}", depth) for key, value in hints.items()
            },
            "required": required,
            "additionalProperties": False,
        }
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        hints = typing.get_type_hints(hint, include_extras=True)
        props: dict[str, Any] = {}
        required = []
        for field in dataclasses.fields(hint):
            props[field.name] = schema_for(hints[field.name], f"{where}.{field.name}", depth)
            if field.default is not dataclasses.MISSING:
                props[field.name]["default"] = json_default(field.default)
            elif field.default_factory is dataclasses.MISSING:
                required.append(field.name)
        return {
            "type": "object",
            "title": hint.__name__,
            "properties": props,
            "required": required,
            "additionalProperties": False,
        }
    raise SchemaError(
        f"{where}: type {_name(hint)} is not supported; use str, int, float, bool, None, "
        "list[T], dict[str, T], Optional/Union, Literal, Enum, TypedDict or a dataclass"
    )


def from_json(hint: object, value: Any) -> Any:
    """Turn an already-validated JSON value into what ``hint`` names (dataclasses, enums)."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Annotated:
        return from_json(args[0], value)
    if origin is Union or origin is types.UnionType:
        # Validation already chose a branch that fits; pick the first that converts.
        for arg in args:
            if _fits(arg, value):
                return from_json(arg, value)
        return value
    if origin is list:
        return [from_json(args[0], item) for item in value]
    if origin is dict:
        return {key: from_json(args[1], item) for key, item in value.items()}
    if hint is float and isinstance(value, int):
        return float(value)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint(value)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        hints = typing.get_type_hints(hint, include_extras=True)
        return hint(**{k: from_json(hints[k], v) for k, v in value.items()})
    if _is_typeddict(hint):
        hints = typing.get_type_hints(hint, include_extras=True)
        return {k: from_json(hints[k], v) for k, v in value.items()}
    return value


def _fits(hint: object, value: Any) -> bool:
    origin = typing.get_origin(hint)
    if origin is typing.Annotated:
        return _fits(typing.get_args(hint)[0], value)
    if hint is None or hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if origin is Literal:
        return value in typing.get_args(hint)
    if origin is list:
        return isinstance(value, list)
    if origin is dict or _is_typeddict(hint):
        return isinstance(value, dict)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return any(member.value == value for member in hint)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return isinstance(value, dict)
    return True


def to_json(value: Any) -> Any:
    """A tool's return value as plain JSON (dataclasses and enums unwrapped)."""
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    return value
