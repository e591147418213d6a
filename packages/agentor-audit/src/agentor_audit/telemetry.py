"""structlog logging and OpenTelemetry spans, through opentelemetry-api only.

Spans follow the GenAI semantic conventions for tool execution: the span is
named ``execute_tool {tool}``, kind INTERNAL, with ``gen_ai.operation.name =
"execute_tool"``, ``gen_ai.tool.name`` and ``gen_ai.tool.call.id``. The sink
adds to the current span, for every event it commits, the audit sequence number
and (for decisions) the verdict and rule id, so a trace links to the log.
Without an SDK installed these calls are no-ops.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

import structlog
from opentelemetry import trace

from agentor_core.audit import AuditEvent

TRACER_NAME: Final = "agentor_audit"
OPERATION: Final = "execute_tool"

ATTR_OPERATION: Final = "gen_ai.operation.name"
ATTR_TOOL_NAME: Final = "gen_ai.tool.name"
ATTR_TOOL_CALL_ID: Final = "gen_ai.tool.call.id"
ATTR_SEQUENCE: Final = "agentor.audit.sequence"
ATTR_VERDICT: Final = "agentor.decision.verdict"
ATTR_RULE: Final = "agentor.decision.rule_id"
ATTR_EVENT_TYPE: Final = "agentor.audit.event_type"

LOGGER_NAME: Final = "agentor.audit"

# structlog renders; the standard library routes. A library must not print to
# stdout on its own (it would corrupt a CLI's --json output), so events go to
# the "agentor.audit" logging logger and the application picks the handlers.
_renderer: list[Any] = [structlog.processors.KeyValueRenderer(key_order=["event"], sort_keys=True)]


def _render(logger: Any, method: str, event_dict: Any) -> Any:
    return _renderer[0](logger, method, event_dict)


log = structlog.wrap_logger(
    logging.getLogger(LOGGER_NAME),
    processors=[
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _render,
    ],
    wrapper_class=structlog.stdlib.BoundLogger,
)


def configure_logging(
    *, json: bool = False, level: int = logging.INFO, stream: Any = None
) -> logging.Handler:
    """Send agentor.audit logs to ``stream`` (stderr): readable text, or JSON lines for machines."""
    _renderer[0] = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    logger = logging.getLogger(LOGGER_NAME)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    logger.addHandler(handler)
    logger.setLevel(level)
    return handler


@contextmanager
def execute_tool_span(
    tool: str,
    call_id: str | None = None,
    *,
    tracer_provider: trace.TracerProvider | None = None,
) -> Iterator[trace.Span]:
    """Start the GenAI ``execute_tool`` span around one tool call."""
    tracer = trace.get_tracer(TRACER_NAME, tracer_provider=tracer_provider)
    attributes: dict[str, str] = {ATTR_OPERATION: OPERATION, ATTR_TOOL_NAME: tool}
    if call_id is not None:
        attributes[ATTR_TOOL_CALL_ID] = call_id
    with tracer.start_as_current_span(
        f"{OPERATION} {tool}", kind=trace.SpanKind.INTERNAL, attributes=attributes
    ) as span:
        yield span


def current_ids() -> tuple[str, str] | None:
    """(trace id, span id) of the current span as lowercase hex, if there is a valid one."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


def annotate(span: trace.Span, event: AuditEvent, sequence: int) -> None:
    """Mark ``span`` with the audit entry that recorded ``event``."""
    if not span.is_recording():
        return
    attributes: dict[str, str | int] = {ATTR_SEQUENCE: sequence, ATTR_EVENT_TYPE: event.type.value}
    if event.verdict is not None:
        attributes[ATTR_VERDICT] = event.verdict.value
        span.set_attribute(ATTR_VERDICT, event.verdict.value)
    if event.rule_id is not None:
        attributes[ATTR_RULE] = event.rule_id
        span.set_attribute(ATTR_RULE, event.rule_id)
    span.set_attribute(ATTR_SEQUENCE, sequence)
    span.add_event("agentor.audit.append", attributes=attributes)
