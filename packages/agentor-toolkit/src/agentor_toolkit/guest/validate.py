"""A validator for the JSON Schema subset :mod:`agentor_toolkit.guest.schema` generates.

Standard library only (it runs inside the component). It checks arguments
before a tool function runs and names the first offending field, e.g.
``items[2]: expected integer``. The recursion follows the schema, whose depth
is bounded when it is generated, never the value alone.
"""

from __future__ import annotations

import math
import re
from typing import Any

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


class ArgumentError(ValueError):
    """Arguments do not match the schema; ``path`` names the field."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path or "(arguments)"
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


def _type_ok(expected: str, value: Any) -> bool:
    if expected == "null":
        return value is None
    if isinstance(value, bool) and expected != "boolean":
        return False
    if expected == "number" and isinstance(value, float) and not math.isfinite(value):
        return False
    if expected == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _TYPES.get(expected, ()))


def _describe(value: Any) -> str:
    # Name the JSON type only: the value itself may be long, secret or hostile.
    if value is None:
        return "null"
    for name, kinds in (("boolean", (bool,)), *_TYPES.items()):
        if isinstance(value, kinds):
            return name
    return type(value).__name__


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def validate(schema: dict[str, Any], value: Any, path: str = "") -> None:
    """Raise :class:`ArgumentError` for the first place ``value`` breaks ``schema``."""
    if "anyOf" in schema:
        for branch in schema["anyOf"]:
            try:
                validate(branch, value, path)
            except ArgumentError:
                continue
            break
        else:
            raise ArgumentError(path, f"{_describe(value)} matches none of the allowed types")
    if "enum" in schema and value not in schema["enum"]:
        choices = ", ".join(repr(choice) for choice in schema["enum"][:20])
        raise ArgumentError(path, f"must be one of {choices}")
    expected = schema.get("type")
    if expected is None:
        return
    if not _type_ok(expected, value):
        raise ArgumentError(path, f"expected {expected}, got {_describe(value)}")
    if expected in {"integer", "number"}:
        _check_number(schema, value, path)
    elif expected == "string":
        _check_string(schema, value, path)
    elif expected == "array":
        _check_array(schema, value, path)
    elif expected == "object":
        _check_object(schema, value, path)


def _check_number(schema: dict[str, Any], value: float, path: str) -> None:
    if "minimum" in schema and value < schema["minimum"]:
        raise ArgumentError(path, f"must be >= {schema['minimum']}")
    if "maximum" in schema and value > schema["maximum"]:
        raise ArgumentError(path, f"must be <= {schema['maximum']}")
    if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
        raise ArgumentError(path, f"must be > {schema['exclusiveMinimum']}")
    if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
        raise ArgumentError(path, f"must be < {schema['exclusiveMaximum']}")


def _check_string(schema: dict[str, Any], value: str, path: str) -> None:
    if "minLength" in schema and len(value) < schema["minLength"]:
        raise ArgumentError(path, f"must be at least {schema['minLength']} characters")
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        raise ArgumentError(path, f"must be at most {schema['maxLength']} characters")
    if "pattern" in schema and re.search(schema["pattern"], value) is None:
        raise ArgumentError(path, f"must match the pattern {schema['pattern']!r}")


def _check_array(schema: dict[str, Any], value: list[Any], path: str) -> None:
    if "minItems" in schema and len(value) < schema["minItems"]:
        raise ArgumentError(path, f"must have at least {schema['minItems']} items")
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        raise ArgumentError(path, f"must have at most {schema['maxItems']} items")
    items = schema.get("items")
    if items is not None:
        for index, item in enumerate(value):
            validate(items, item, f"{path}[{index}]")


def _check_object(schema: dict[str, Any], value: dict[str, Any], path: str) -> None:
    props: dict[str, Any] = schema.get("properties", {})
    for key in schema.get("required", ()):
        if key not in value:
            raise ArgumentError(_join(path, key), "required field is missing")
    extra = schema.get("additionalProperties", True)
    for key, item in value.items():
        if key in props:
            validate(props[key], item, _join(path, key))
        elif extra is False:
            # The key is input: bound it before naming it.
            raise ArgumentError(_join(path, key[:64]), "unknown field")
        elif isinstance(extra, dict):
            validate(extra, item, _join(path, key[:64]))
