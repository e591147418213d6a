"""JSON Schema validation whose regular expressions cannot be made to run for ever.

A tool's ``inputSchema`` comes from its own manifest, and arguments come from
the client: with Python's backtracking ``re``, a ``pattern`` such as ``(a+)+$``
and a long argument would pin a host CPU (ReDoS). Here ``pattern`` and
``patternProperties`` run on RE2 (google-re2), which matches in time linear in
the input. Patterns RE2 cannot run (back-references, look-around) and patterns
longer than :data:`MAX_PATTERN_CHARS` are refused: the schema is treated as
invalid and the call fails closed with ``mcp.invalid_call``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from typing import Any, Final

import jsonschema  # type: ignore[import-untyped, unused-ignore]
import re2  # type: ignore[import-untyped, unused-ignore]

MAX_PATTERN_CHARS: Final = 1024
"""Longer patterns are refused: they are also what makes RE2's compile expensive."""
MAX_PROGRAM_SIZE: Final = 10_000
"""RE2's compiled-program bound (its own default is larger); beyond it the pattern is refused."""
_CACHE_SIZE: Final = 1024


class PatternRefusedError(ValueError):
    """The schema's regular expression cannot run in linear time (or is too long)."""


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False  # the refusal is reported by us, not written to stderr
    options.max_mem = 8 << 20
    return options


@functools.lru_cache(maxsize=_CACHE_SIZE)
def compile_pattern(pattern: str) -> Any:
    """The RE2 program for ``pattern``; raises :class:`PatternRefusedError`."""
    if len(pattern) > MAX_PATTERN_CHARS:
        raise PatternRefusedError(
            f"a pattern is {len(pattern)} characters; the limit is {MAX_PATTERN_CHARS}"
        )
    try:
        compiled = re2.compile(pattern, _options())
    except re2.error as exc:
        detail = (
            exc.args[0].decode("utf-8", "replace")
            if exc.args and isinstance(exc.args[0], bytes)
            else str(exc)
        )
        raise PatternRefusedError(
            f"pattern {pattern[:80]!r} uses a feature a linear-time engine cannot run "
            f"({detail[:120]})"
        ) from None
    if compiled.programsize > MAX_PROGRAM_SIZE:
        raise PatternRefusedError(f"pattern {pattern[:80]!r} compiles to too large a program")
    return compiled


def _pattern(
    validator: Any, pattern: str, instance: Any, _schema: Mapping[str, Any]
) -> Iterator[jsonschema.ValidationError]:
    if not validator.is_type(instance, "string"):
        return
    try:
        compiled = compile_pattern(pattern)
    except PatternRefusedError as exc:
        raise jsonschema.exceptions.SchemaError(str(exc)) from None
    if compiled.search(instance) is None:
        yield jsonschema.ValidationError(f"the value does not match the pattern {pattern[:80]!r}")


def _pattern_properties(
    validator: Any, patterns: Mapping[str, Any], instance: Any, _schema: Mapping[str, Any]
) -> Iterator[jsonschema.ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        try:
            compiled = compile_pattern(pattern)
        except PatternRefusedError as exc:
            raise jsonschema.exceptions.SchemaError(str(exc)) from None
        for key, value in instance.items():
            if compiled.search(key) is not None:
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional_properties(
    validator: Any, additional: Any, instance: Any, schema: Mapping[str, Any]
) -> Iterator[jsonschema.ValidationError]:
    # jsonschema's own keyword matches patternProperties with ``re``: redone with RE2.
    if not validator.is_type(instance, "object"):
        return
    properties = schema.get("properties", {})
    patterns = [compile_pattern(p) for p in schema.get("patternProperties", {})]
    extras = [
        key
        for key in instance
        if key not in properties and not any(c.search(key) is not None for c in patterns)
    ]
    if validator.is_type(additional, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], additional, path=extra)
    elif additional is False and extras:
        yield jsonschema.ValidationError(
            f"additional properties are not allowed ({', '.join(repr(e[:64]) for e in extras[:5])})"
        )


def check_patterns(schema: Any) -> None:
    """Refuse a schema whose regexes RE2 cannot run; raises :class:`PatternRefusedError`.

    Also refuses ``unevaluatedProperties`` next to ``patternProperties`` anywhere in the
    schema: jsonschema evaluates that pair with Python's backtracking ``re``.
    """
    found = {"unevaluated": False, "patterns": False}
    stack: list[Any] = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        pattern = node.get("pattern")
        if isinstance(pattern, str):
            compile_pattern(pattern)
        patterns = node.get("patternProperties")
        if isinstance(patterns, dict):
            found["patterns"] = True
            for key in patterns:
                compile_pattern(str(key))
        if "unevaluatedProperties" in node:
            found["unevaluated"] = True
        stack.extend(node.values())
    if found["unevaluated"] and found["patterns"]:
        raise PatternRefusedError(
            "unevaluatedProperties together with patternProperties is not supported "
            "(it would run patterns on a backtracking engine)"
        )


SafeValidator: Any = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    {
        "pattern": _pattern,
        "patternProperties": _pattern_properties,
        "additionalProperties": _additional_properties,
    },
)
"""Draft 2020-12 validation with every regular expression on RE2."""
