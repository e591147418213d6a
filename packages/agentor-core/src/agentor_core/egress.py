"""The shape of an HTTP exchange through the egress guard."""

from __future__ import annotations

import base64
from typing import Annotated, Final

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
)

from agentor_core.bounds import Uri
from agentor_core.capabilities import HttpMethod

MAX_HEADERS: Final = 128
MAX_BODY_BYTES: Final = 64 * 1024 * 1024

HeaderName = Annotated[
    str, StringConstraints(min_length=1, max_length=256, pattern=r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
]
HeaderValue = Annotated[str, StringConstraints(max_length=16 * 1024, pattern=r"^[^\r\n\x00]*$")]


def _body_from_base64(value: object) -> object:
    # In JSON a body is base64 text (see Body); bytes pass through unchanged.
    return base64.b64decode(value, validate=True) if isinstance(value, str) else value


Body = Annotated[
    bytes,
    BeforeValidator(_body_from_base64),
    PlainSerializer(
        lambda b: base64.b64encode(b).decode("ascii"), return_type=str, when_used="json"
    ),
    Field(max_length=MAX_BODY_BYTES),
]
"""Any bytes; standard base64 in JSON, since a body need not be UTF-8."""


class HttpRequest(BaseModel):
    """A request a tool asked the host to send. Headers keep their order and repeats."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    method: HttpMethod = HttpMethod.GET
    url: Uri
    headers: tuple[tuple[HeaderName, HeaderValue], ...] = Field(default=(), max_length=MAX_HEADERS)
    body: Body = b""


class HttpResponse(BaseModel):
    """What came back, after the guard's caps and leak scanning."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    status: Annotated[int, Field(ge=100, le=599)]
    url: Uri
    """The final URL, after any redirects the guard followed and re-checked."""
    headers: tuple[tuple[HeaderName, HeaderValue], ...] = Field(default=(), max_length=MAX_HEADERS)
    body: Body = b""
