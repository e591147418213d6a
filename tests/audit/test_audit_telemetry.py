"""OpenTelemetry execute_tool spans carry the decision and the audit sequence; structlog logs."""

from __future__ import annotations

import io
import json
import logging
from datetime import UTC, datetime
from pathlib import Path

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agentor_audit import AuditLog, NoteSigner, StoreReader, configure_logging, execute_tool_span
from agentor_core.audit import AuditEvent, AuditEventType


def test_execute_tool_span_follows_genai_conventions_and_links_the_log(tmp_path: Path) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    db = tmp_path / "a.db"
    with AuditLog(db, NoteSigner.generate("t")) as log:
        log.append(AuditEvent(type=AuditEventType.CONFIG_CHANGED, time=datetime.now(UTC)))
        with execute_tool_span("fetch", "call-7", tracer_provider=provider) as span:
            receipt = log.append(
                AuditEvent(
                    type=AuditEventType.DECISION,
                    time=datetime.now(UTC),
                    tool="fetch",
                    call_id="call-7",
                    verdict="deny",
                    rule_id="no-egress",
                )
            )
            context = span.get_span_context()
    (finished,) = exporter.get_finished_spans()
    assert finished.name == "execute_tool fetch"
    attributes = dict(finished.attributes or {})
    assert attributes["gen_ai.operation.name"] == "execute_tool"
    assert attributes["gen_ai.tool.name"] == "fetch"
    assert attributes["gen_ai.tool.call.id"] == "call-7"
    assert attributes["agentor.audit.sequence"] == receipt.sequence == 1
    assert attributes["agentor.decision.verdict"] == "deny"
    assert attributes["agentor.decision.rule_id"] == "no-egress"
    assert [e.name for e in finished.events] == ["agentor.audit.append"]
    # The record names the span, so a trace and the log point at each other.
    with StoreReader(db) as reader:
        record = json.loads(reader.record(1) or b"{}")["event"]
    assert record["trace_id"] == format(context.trace_id, "032x")
    assert record["span_id"] == format(context.span_id, "016x")


def test_structlog_json_logs_go_to_the_configured_stream(tmp_path: Path) -> None:
    stream = io.StringIO()
    handler = configure_logging(json=True, stream=stream)
    try:
        with AuditLog(tmp_path / "a.db", NoteSigner.generate("t")) as log:
            log.append(AuditEvent(type=AuditEventType.CONFIG_CHANGED, time=datetime.now(UTC)))
    finally:
        logging.getLogger("agentor.audit").removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    checkpoint = next(line for line in lines if line["event"] == "audit.checkpoint")
    assert checkpoint["size"] == 1
    assert checkpoint["level"] == "info"
