"""An :class:`~agentor_core.interfaces.ApprovalChannel` that asks a person at a terminal.

It writes the question to ``output`` and reads one line from ``input`` (real
pipes, a TTY, or ``io.StringIO`` in tests). Only ``y`` or ``yes`` approves;
anything else, end of input, or an answer after the question expired refuses.
Everything shown is escaped: a tool's arguments may carry terminal escape
sequences meant to redraw the prompt.
"""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final, TextIO

from agentor_core.decisions import ApprovalRequest, ApprovalResponse

MAX_ANSWER_CHARS: Final = 256
# Line breaks and tabs too: each field is one line, so a summary holding a
# newline could draw a forged "call:" line below the real one.
_UNPRINTABLE: Final = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069]")


def _visible(text: str) -> str:
    return _UNPRINTABLE.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class TerminalApprovalChannel:
    """Asks on ``output``, reads the answer from ``input``; refuses when in doubt."""

    def __init__(
        self,
        input: TextIO,  # noqa: A002 - the name a reader expects beside ``output``
        output: TextIO,
        *,
        approver: str = "terminal",
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._input = input
        self._output = output
        self._approver = approver[:256] or "terminal"
        self._clock = clock

    async def request_approval(self, request: ApprovalRequest) -> ApprovalResponse:
        return await asyncio.to_thread(self.ask, request)

    def ask(self, request: ApprovalRequest) -> ApprovalResponse:
        """The blocking form of :meth:`request_approval`."""
        out = self._output
        out.write(
            "\n=== approval needed ===\n"
            f"tool:        {_visible(request.tool)}\n"
            f"call:        {_visible(request.summary)}\n"
            f"why asked:   {_visible(request.reason)} [{_visible(request.rule_id)}]\n"
            f"fingerprint: {request.fingerprint}\n"
            f"expires at:  {request.expires_at.isoformat()}\n"
            "Run this exact call once? Type 'yes' to approve [no]: "
        )
        out.flush()
        try:
            line = self._input.readline(MAX_ANSWER_CHARS)
        except (OSError, ValueError, UnicodeDecodeError):
            line = ""
        now = self._clock()
        answer = line.strip().lower()
        approved = answer in {"y", "yes"}
        note = None
        if not line:
            approved, note = False, "no answer (end of input)"
        elif approved and now >= request.expires_at:
            approved, note = False, "answered after the question expired"
        out.write("approved\n" if approved else f"refused{f' ({note})' if note else ''}\n")
        out.flush()
        return ApprovalResponse(
            fingerprint=request.fingerprint,
            approved=approved,
            approver=self._approver,
            decided_at=now,
            note=note,
        )


def terminal_channel(
    input: TextIO | None = None,  # noqa: A002 - mirrors TerminalApprovalChannel
    output: TextIO | None = None,
    *,
    approver: str = "terminal",
) -> TerminalApprovalChannel:
    """Entry-point factory (``agentor.approval_channel``, name ``terminal``): stdin and stderr."""
    return TerminalApprovalChannel(
        input if input is not None else sys.stdin,
        output if output is not None else sys.stderr,
        approver=approver,
    )
