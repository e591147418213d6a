"""Parsing untrusted input into models, with errors a person can act on."""

from __future__ import annotations

from typing import Any, Final, TypeVar

from pydantic import BaseModel, ValidationError

from agentor_core.errors import AgentorError, CoreCode

M = TypeVar("M", bound=BaseModel)

_MAX_REPORTED: Final = 5


_MAX_PART_CHARS: Final = 64


def _location_part(part: object) -> str:
    # A location holds dict keys, which are input: bounded and escaped like values would be.
    text = str(part)
    if len(text) > _MAX_PART_CHARS:
        text = text[: _MAX_PART_CHARS - 3] + "..."
    return text if text.isprintable() else repr(text)[1:-1]


def describe_validation_error(exc: ValidationError, *, source: str | None = None) -> str:
    """Render a pydantic error as ``field.path: problem`` lines, bounded in size.

    Input values are left out on purpose: they may be secret or hostile (ANSI
    escapes, megabytes of text), and the field path is what a person needs.
    """
    lines = []
    for err in exc.errors(include_url=False, include_input=False)[:_MAX_REPORTED]:
        where = ".".join(_location_part(part) for part in err["loc"]) or "(root)"
        msg = err["msg"]
        if err["type"] == "union_tag_invalid":
            # pydantic quotes the offending tag, which is input; name the choices only.
            ctx = err.get("ctx", {})
            msg = f"unknown {ctx.get('discriminator')}; expected one of {ctx.get('expected_tags')}"
        lines.append(f"{where}: {msg}")
    more = exc.error_count() - _MAX_REPORTED
    if more > 0:
        lines.append(f"... and {more} more")
    prefix = f"{source}: " if source else ""
    return prefix + f"invalid {exc.title}: " + "; ".join(lines)


def parse_untrusted(model: type[M], data: Any, *, source: str | None = None) -> M:
    """Validate ``data`` (already-decoded JSON) into ``model`` or raise ``core.invalid_input``."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise AgentorError(
            CoreCode.INVALID_INPUT,
            describe_validation_error(exc, source=source),
            hint="correct the named fields and retry",
        ) from None


def parse_untrusted_json(
    model: type[M],
    raw: str | bytes,
    *,
    max_bytes: int,
    source: str | None = None,
    code: str = CoreCode.INVALID_INPUT,
    hint: str = "correct the named fields and retry",
) -> M:
    """Validate a JSON document into ``model``, refusing documents over ``max_bytes`` unread.

    ``code`` and ``hint`` let a distribution report the failure in its own terms
    (``toolkit.manifest_invalid``…); the checks are the same for everyone.
    """
    # A str is measured in UTF-8 bytes, not characters (up to 4 bytes each).
    size = len(raw) if isinstance(raw, bytes) else len(raw.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise AgentorError(
            code,
            f"{source + ': ' if source else ''}document of {size} bytes exceeds "
            f"the {max_bytes}-byte limit",
            hint="send a smaller document or raise the limit in the configuration",
        )
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise AgentorError(code, describe_validation_error(exc, source=source), hint=hint) from None
