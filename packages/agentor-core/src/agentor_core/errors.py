"""Stable error codes and the error types every distribution raises.

A code is part of the public contract: operators grep logs for it, clients
branch on it, auditors count it. Codes are ``<area>.<condition>`` in lower snake
case, never renamed once released; the message is for a person and may improve.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, StringConstraints

from agentor_core.bounds import Message

CODE_PATTERN: Final = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$"
_CODE_RE: Final = re.compile(CODE_PATTERN)

Code = Annotated[str, StringConstraints(max_length=96, pattern=CODE_PATTERN)]
"""A stable error code such as ``sandbox.fuel_exhausted``."""


class CoreCode(StrEnum):
    """Codes raised by agentor-core itself.

    Other distributions declare their own ``StrEnum`` of codes under their own
    area prefix (``sandbox.``, ``egress.``, ``policy.``…).
    """

    INVALID_INPUT = "core.invalid_input"
    """A value from outside failed validation; the message names the field."""
    IMPLEMENTATION_MISSING = "core.implementation_missing"
    """No installed distribution provides an interface; install the one named."""
    IMPLEMENTATION_AMBIGUOUS = "core.implementation_ambiguous"
    """Several distributions provide an interface and none was chosen by name."""
    IMPLEMENTATION_BROKEN = "core.implementation_broken"
    """An entry point exists but failed to load or does not implement its interface."""
    UNKNOWN_TOOL = "core.unknown_tool"
    """A call named a tool that the runtime does not serve."""


class ToolError(BaseModel):
    """A failure reported to a caller: a stable machine code and a human message.

    ``hint`` says what to do next. Nothing secret belongs in any field: tool
    errors cross the sandbox and MCP boundaries and land in the audit log.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: Code
    message: Message
    hint: Annotated[str, StringConstraints(max_length=1024)] | None = None


class AgentorError(Exception):
    """The one exception type agentor distributions raise across their APIs.

    Carries a :class:`ToolError`, so callers never parse message text to decide
    what happened.
    """

    def __init__(self, code: str, message: str, *, hint: str | None = None) -> None:
        if len(code) > 96 or not _CODE_RE.fullmatch(code):
            # A malformed code is a bug in the raiser; refusing to build the
            # error would hide the original failure, so keep it under a fixed code.
            message = f"{message} (malformed error code {code[:64]!r})"
            code = CoreCode.INVALID_INPUT
        self.error = ToolError(
            code=code, message=message[:4096] or code, hint=hint[:1024] if hint else None
        )
        super().__init__(f"[{self.error.code}] {self.error.message}")

    @property
    def code(self) -> str:
        return self.error.code

    @property
    def message(self) -> str:
        return self.error.message

    @property
    def hint(self) -> str | None:
        return self.error.hint
