"""Size bounds applied to every value that may come from outside the host.

Models, tool output and MCP peers are untrusted. Every string, list and JSON
document they hand us is bounded here before anything else reads it, so a
hostile peer cannot make the host allocate without limit or recurse without end.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Final

from pydantic import AfterValidator, Field, StringConstraints

MAX_NAME_CHARS: Final = 128
MAX_TITLE_CHARS: Final = 256
MAX_DESCRIPTION_CHARS: Final = 16 * 1024
MAX_REASON_CHARS: Final = 4 * 1024
MAX_MESSAGE_CHARS: Final = 4 * 1024
MAX_TEXT_CHARS: Final = 4 * 1024 * 1024
MAX_URI_CHARS: Final = 8 * 1024
MAX_BLOB_BASE64_CHARS: Final = 16 * 1024 * 1024
MAX_LIST_ITEMS: Final = 1024
MAX_CONTENT_BLOCKS: Final = 256

MAX_JSON_DEPTH: Final = 64
MAX_JSON_NODES: Final = 100_000
MAX_JSON_STRING_CHARS: Final = 1024 * 1024
MAX_JSON_KEY_CHARS: Final = 1024
MAX_JSON_TOTAL_CHARS: Final = 8 * 1024 * 1024

NAME_PATTERN: Final = r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$"
"""Tool and server names: the character set MCP allows, no leading dot or dash."""

Name = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_NAME_CHARS, pattern=NAME_PATTERN),
]
Title = Annotated[str, StringConstraints(max_length=MAX_TITLE_CHARS)]
Description = Annotated[str, StringConstraints(max_length=MAX_DESCRIPTION_CHARS)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=MAX_REASON_CHARS)]
Message = Annotated[str, StringConstraints(min_length=1, max_length=MAX_MESSAGE_CHARS)]
Text = Annotated[str, StringConstraints(max_length=MAX_TEXT_CHARS)]
Uri = Annotated[str, StringConstraints(min_length=1, max_length=MAX_URI_CHARS)]
Sha256Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
MimeType = Annotated[
    str,
    StringConstraints(max_length=255, pattern=r"^[A-Za-z0-9][\w!#$&^.+\-]*/[\w!#$&^.+\-]+$"),
]
Base64 = Annotated[
    str,
    StringConstraints(max_length=MAX_BLOB_BASE64_CHARS, pattern=r"^[A-Za-z0-9+/]*={0,2}$"),
]
NonNegativeInt = Annotated[int, Field(ge=0)]


class JsonBoundsError(ValueError):
    """A JSON value is too deep, too large, or holds a non-JSON type."""


def check_json(value: Any) -> Any:
    """Return ``value`` unchanged if it is bounded JSON, else raise :class:`JsonBoundsError`.

    Iterative on purpose: a recursive walk would hand a hostile document the
    Python stack. Counts every node and every character so the total work done
    here is linear in a bounded size.
    """
    nodes = 0
    chars = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        nodes += 1
        if nodes > MAX_JSON_NODES:
            raise JsonBoundsError(f"JSON value has more than {MAX_JSON_NODES} nodes")
        if depth > MAX_JSON_DEPTH:
            raise JsonBoundsError(f"JSON value is nested deeper than {MAX_JSON_DEPTH} levels")
        if item is None or isinstance(item, bool | int):
            chars += 8
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise JsonBoundsError("JSON numbers must be finite (no NaN or Infinity)")
            chars += 24
        elif isinstance(item, str):
            if len(item) > MAX_JSON_STRING_CHARS:
                raise JsonBoundsError(f"JSON string longer than {MAX_JSON_STRING_CHARS} characters")
            chars += len(item)
        elif isinstance(item, list | tuple):
            stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, dict):
            for key, child in item.items():
                if not isinstance(key, str):
                    raise JsonBoundsError("JSON object keys must be strings")
                if len(key) > MAX_JSON_KEY_CHARS:
                    raise JsonBoundsError(
                        f"JSON object key longer than {MAX_JSON_KEY_CHARS} characters"
                    )
                chars += len(key)
                stack.append((child, depth + 1))
        else:
            raise JsonBoundsError(f"{type(item).__name__} is not a JSON type")
        if chars > MAX_JSON_TOTAL_CHARS:
            raise JsonBoundsError(f"JSON value larger than {MAX_JSON_TOTAL_CHARS} characters")
    return value


BoundedJson = Annotated[Any, AfterValidator(check_json)]
"""Any JSON value, bounded in depth, node count and size."""

BoundedJsonObject = Annotated[dict[str, Any], AfterValidator(check_json)]
"""A JSON object, bounded like :data:`BoundedJson`."""
