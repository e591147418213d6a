"""Every model round-trips through JSON, is frozen, forbids unknown fields, and
reports invalid input by field path without echoing the input."""

from __future__ import annotations

import inspect
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

import agentor_core
from agentor_core import (
    AgentorError,
    ApprovalRequest,
    ApprovalResponse,
    AudioContent,
    AuditEvent,
    AuditEventType,
    AuditReceipt,
    Capabilities,
    CoreCode,
    Decision,
    EmbeddedResource,
    EnvGrant,
    HttpMethod,
    HttpRequest,
    HttpResponse,
    ImageContent,
    JsonContent,
    Label,
    LabelSet,
    NetworkDestination,
    Obligations,
    PathAccess,
    PolicyContext,
    ResourceLimits,
    Scheme,
    SecretGrant,
    Source,
    TextContent,
    ToolAnnotations,
    ToolCall,
    ToolError,
    ToolResult,
    ToolSpec,
    Verdict,
    audit,
    capabilities,
    decisions,
    egress,
    errors,
    labels,
    llm,
    memory,
    tools,
)
from agentor_core.canonical import canonical_json
from agentor_core.llm import (
    ChatMessage,
    FinishReason,
    ModelDelta,
    ModelRequest,
    ModelResponse,
    Role,
    ToolCallProposal,
    Usage,
)
from agentor_core.memory import MemoryRecord
from agentor_core.tools import JSON_SCHEMA_2020_12
from agentor_core.validation import parse_untrusted, parse_untrusted_json

SHA_A = "a" * 64
SHA_B = "0123456789abcdef" * 4
NOW = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
LATER = datetime(2026, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2)))
SECRET = "sk-live-7f3c9a1e5b2d4c6f8a0b"  # noqa: S105 - a fake secret that must not be echoed

USER = LabelSet.of(Label.of(Source.USER))
MIXED = LabelSet.of(
    Label.of(Source.USER), Label.of(Source.DOCUMENT, private=True), Label.of(Source.MODEL)
)

SPEC = ToolSpec(
    name="fs.read_file",
    title="Read a file",
    description="Reads a file under /data.",
    input_schema={
        "$schema": JSON_SCHEMA_2020_12,
        "type": "object",
        "properties": {"path": {"type": "string", "maxLength": 1024}},
        "required": ["path"],
        "additionalProperties": False,
    },
    output_schema={"type": "object", "properties": {"text": {"type": "string"}}},
    annotations=ToolAnnotations(
        title="Read", read_only=True, destructive=False, idempotent=True, open_world=False
    ),
)

GRANT = Capabilities(
    filesystem=(
        PathAccess(guest_path="/data", host_path="/srv/agentor/data"),
        PathAccess(guest_path="/out", host_path="/srv/agentor/out", write=True),
    ),
    network=(
        NetworkDestination(
            host="api.example.com",
            port=8443,
            path_prefix="/v1",
            methods=frozenset({HttpMethod.GET, HttpMethod.POST, HttpMethod.DELETE}),
        ),
        NetworkDestination(
            scheme=Scheme.HTTP, host="*.internal.example", address_ranges=("10.0.0.0/8",)
        ),
    ),
    env=(EnvGrant(name="LANG", value="C.UTF-8"), EnvGrant(name="TZ")),
    secrets=(SecretGrant(name="github.token", audiences=("https://api.github.com",)),),
    limits=ResourceLimits(fuel=10_000, deadline_ms=500, memory_bytes=1024 * 1024, http_requests=2),
)

RESULT = ToolResult(
    call_id="call-1",
    content=(
        TextContent(text="héllo\n\u0000 world"),
        JsonContent(data={"n": 1, "f": 0.1, "list": [True, None, "x"], "nested": {"k": -2.5e-9}}),
        ImageContent(data="iVBORw0KGgo=", mime_type="image/png"),
        AudioContent(data="UklGRg==", mime_type="audio/wav"),
        EmbeddedResource(uri="file:///data/a.txt", mime_type="text/plain", text="contents"),
        EmbeddedResource(uri="file:///data/a.bin", blob="AAEC/w=="),
    ),
    labels=MIXED,
)

MESSAGE = ChatMessage(
    role=Role.ASSISTANT,
    content="I will read it.",
    tool_calls=(ToolCallProposal(id="p1", name="fs.read_file", arguments={"path": "/data/a"}),),
    labels=MIXED,
)

SAMPLES: list[BaseModel] = [
    ToolAnnotations(),
    SPEC.annotations,
    ToolSpec(name="minimal"),
    SPEC,
    ToolCall(
        id="call-1",
        tool="fs.read_file",
        arguments={"path": "/data/a.txt", "limit": 10, "ratio": 0.25, "opts": {"z": [1, {}]}},
        component_hash=SHA_A,
        labels={"path": USER, "limit": MIXED},
        context_labels=MIXED,
    ),
    ToolCall(id="c", tool="t"),
    TextContent(text=""),
    JsonContent(data=None),
    JsonContent(data=[1, "two", 3.5, {"four": False}]),
    ImageContent(data="iVBORw0KGgo=", mime_type="image/png"),
    AudioContent(data="", mime_type="audio/mpeg"),
    EmbeddedResource(uri="memo://x", text="inline"),
    EmbeddedResource(uri="memo://y", mime_type="application/octet-stream", blob="AAEC/w=="),
    RESULT,
    ToolResult(
        call_id="call-2",
        error=ToolError(code="sandbox.fuel_exhausted", message="out of fuel", hint="raise fuel"),
    ),
    ToolError(code="core.invalid_input", message="bad"),
    GRANT,
    Capabilities(),
    *GRANT.filesystem,
    *GRANT.network,
    *GRANT.env,
    *GRANT.secrets,
    GRANT.limits,
    ResourceLimits(),
    Label.of(Source.DOCUMENT, private=True),
    Label(source=Source.MODEL, trust="trusted"),
    LabelSet(),
    MIXED,
    LabelSet.of(*(Label.of(source) for source in Source)),
    Obligations(),
    Obligations(grant=GRANT, trusted_output=True),
    Decision(verdict=Verdict.ASK, rule_id="ask-writes", reason="writes need approval"),
    Decision(
        verdict=Verdict.ALLOW,
        rule_id="r1",
        reason="granted",
        obligations=Obligations(grant=GRANT),
        policy_hash=SHA_B,
    ),
    PolicyContext(now=NOW),
    PolicyContext(now=LATER, session_id="s", agent_id="agent-1", user_id="u@example.com"),
    ApprovalRequest(
        fingerprint=SHA_A,
        tool="fs.write_file",
        summary="write /out/a.txt",
        rule_id="ask-writes",
        reason="writes need approval",
        expires_at=LATER,
    ),
    ApprovalResponse(fingerprint=SHA_A, approved=True, approver="alice", decided_at=NOW),
    ApprovalResponse(
        fingerprint=SHA_B, approved=False, approver="bob", decided_at=LATER, note="no"
    ),
    AuditEvent(type=AuditEventType.POLICY_LOADED, time=NOW),
    AuditEvent(
        type=AuditEventType.DECISION,
        time=LATER,
        session_id="s1",
        agent_id="a1",
        user_id="u1",
        call_id="call-1",
        tool="fs.read_file",
        component_hash=SHA_A,
        argument_digest=SHA_B,
        arguments={"path": "[redacted]"},
        verdict=Verdict.DENY,
        rule_id="deny-all",
        policy_hash=SHA_A,
        outcome="policy.denied",
        result_digest=SHA_B,
        trace_id="0" * 31 + "1",
        span_id="f" * 16,
        detail={"why": ["x", 1, 2.5, None]},
    ),
    AuditReceipt(sequence=0, leaf_hash=SHA_A),
    AuditReceipt(sequence=2**40, leaf_hash=SHA_B),
    HttpRequest(url="https://api.example.com/v1"),
    HttpRequest(
        method=HttpMethod.POST,
        url="https://api.example.com/v1/items?q=1",
        headers=(("Content-Type", "application/json"), ("X-Dup", "1"), ("X-Dup", "2")),
        body=b"\xff\x00\x80 not utf-8 \xfe",
    ),
    HttpResponse(status=200, url="https://api.example.com/v1"),
    HttpResponse(
        status=302,
        url="https://api.example.com/v2",
        headers=(("Location", "/v2"),),
        body=bytes(range(256)),
    ),
    ToolCallProposal(id="p", name="t"),
    MESSAGE,
    ChatMessage(role=Role.TOOL, content="42", tool_call_id="p1", labels=USER),
    Usage(input_tokens=10, output_tokens=3),
    ModelRequest(
        model="gpt-x",
        messages=(ChatMessage(role=Role.USER, content="hi", labels=USER), MESSAGE),
        tools=(SPEC,),
        max_output_tokens=100,
        temperature=0.7,
    ),
    ModelResponse(message=MESSAGE, finish_reason=FinishReason.TOOL_CALLS, usage=Usage()),
    ModelDelta(text="par"),
    ModelDelta(
        tool_call=MESSAGE.tool_calls[0],
        final=ModelResponse(message=MESSAGE, finish_reason=FinishReason.STOP),
    ),
    MemoryRecord(
        id="m1",
        namespace="agent-1/notes",
        text="the user likes tea",
        labels=MIXED,
        created_at=NOW,
        metadata={"score": 0.5, "tags": ["a"]},
    ),
]


def _id(model: BaseModel) -> str:
    return type(model).__name__


@pytest.mark.parametrize("model", SAMPLES, ids=_id)
def test_round_trip_through_python_json(model: BaseModel) -> None:
    dumped = model.model_dump(mode="json")
    # mode="json" output is plain JSON: the standard library can encode it.
    assert json.loads(json.dumps(dumped)) == dumped
    again = type(model).model_validate(dumped)
    assert again == model
    assert again.model_dump(mode="json") == dumped


@pytest.mark.parametrize("model", SAMPLES, ids=_id)
def test_round_trip_through_json_text(model: BaseModel) -> None:
    text = model.model_dump_json()
    again = type(model).model_validate_json(text)
    assert again == model
    assert again.model_dump_json() == text


@pytest.mark.parametrize("model", SAMPLES, ids=_id)
def test_json_form_is_canonicalisable(model: BaseModel) -> None:
    # Digests are taken over RFC 8785 of the JSON form: it must always exist.
    assert json.loads(canonical_json(model.model_dump(mode="json"))) == json.loads(
        model.model_dump_json()
    )


@pytest.mark.parametrize("model", SAMPLES, ids=_id)
def test_models_are_frozen(model: BaseModel) -> None:
    name = next(iter(type(model).model_fields))
    with pytest.raises(ValidationError, match="frozen"):
        setattr(model, name, getattr(model, name))


@pytest.mark.parametrize("model", SAMPLES, ids=_id)
def test_models_forbid_unknown_fields(model: BaseModel) -> None:
    data = model.model_dump(mode="json")
    data["unexpected_field"] = 1
    with pytest.raises(ValidationError) as info:
        type(model).model_validate(data)
    assert [e["type"] for e in info.value.errors()] == ["extra_forbidden"]
    with pytest.raises(ValidationError):
        type(model).model_validate_json(json.dumps(data))


def test_every_model_in_core_has_a_sample() -> None:
    modules = [audit, capabilities, decisions, egress, errors, labels, llm, memory, tools]
    defined = {
        obj
        for module in modules
        for _, obj in inspect.getmembers(module, inspect.isclass)
        if issubclass(obj, BaseModel) and obj.__module__.startswith("agentor_core.")
    }
    assert defined - {type(sample) for sample in SAMPLES} == set()
    exported = {
        getattr(agentor_core, name)
        for name in agentor_core.__all__
        if inspect.isclass(getattr(agentor_core, name))
        and issubclass(getattr(agentor_core, name), BaseModel)
    }
    assert exported <= defined


def test_http_body_is_base64_in_json() -> None:
    request = HttpRequest(url="https://x.example", body=b"\xff\x00")
    assert request.model_dump(mode="json")["body"] == "/wA="
    assert request.model_dump()["body"] == b"\xff\x00"
    assert (
        HttpRequest.model_validate_json('{"url": "https://x.example", "body": "/wA="}') == request
    )
    with pytest.raises(ValidationError, match="body"):
        HttpRequest.model_validate_json('{"url": "https://x.example", "body": "not base64!"}')


def test_http_header_values_refuse_line_breaks() -> None:
    with pytest.raises(ValidationError, match="headers"):
        HttpRequest(url="https://x.example", headers=(("X-A", "1\r\nX-Injected: 2"),))
    with pytest.raises(ValidationError, match="headers"):
        HttpRequest(url="https://x.example", headers=(("Bad Name", "1"),))
    with pytest.raises(ValidationError, match="status"):
        HttpResponse(status=600, url="https://x.example")


def test_aware_datetimes_required() -> None:
    naive = datetime(2026, 1, 1)  # noqa: DTZ001 - the naive value under test
    with pytest.raises(ValidationError, match="now"):
        PolicyContext(now=naive)
    with pytest.raises(ValidationError, match="time"):
        AuditEvent(type=AuditEventType.RESULT, time=naive)
    with pytest.raises(ValidationError, match="decided_at"):
        ApprovalResponse(fingerprint=SHA_A, approved=True, approver="a", decided_at=naive)


def test_decision_allowed_property() -> None:
    assert Decision(verdict=Verdict.ALLOW, rule_id="r", reason="ok").allowed
    assert not Decision(verdict=Verdict.ASK, rule_id="r", reason="ok").allowed
    assert not Decision(verdict=Verdict.DENY, rule_id="r", reason="ok").allowed
    with pytest.raises(ValidationError, match="reason"):
        Decision(verdict=Verdict.DENY, rule_id="r", reason="")
    with pytest.raises(ValidationError, match="policy_hash"):
        Decision(verdict=Verdict.DENY, rule_id="r", reason="x", policy_hash="A" * 64)


# --- validation errors: the field is named, the value is not --------------------------


def _invalid(model: type[BaseModel], data: Any) -> AgentorError:
    with pytest.raises(AgentorError) as info:
        parse_untrusted(model, data)
    assert info.value.code == CoreCode.INVALID_INPUT
    assert info.value.hint
    return info.value


@pytest.mark.parametrize(
    ("model", "data", "field"),
    [
        (ToolCall, {"id": "c", "tool": f"{SECRET} x"}, "tool"),
        (ToolCall, {"id": "c", "tool": "t", "arguments": SECRET}, "arguments"),
        (ToolCall, {"id": "c", "tool": "t", "component_hash": SECRET}, "component_hash"),
        (ToolSpec, {"name": "t", "input_schema": {"type": "string", "x": SECRET}}, "input_schema"),
        (
            ToolSpec,
            {"name": "t", "input_schema": {"type": "object", "$schema": SECRET}},
            "input_schema",
        ),
        (ToolSpec, {"name": "t", "output_schema": {"description": SECRET}}, "output_schema"),
        (ToolResult, {"call_id": "c", "content": [{"type": SECRET}]}, "content.0"),
        (
            ToolResult,
            {"call_id": "c", "content": [{"type": "text", "text": 5}]},
            "content.0.text.text",
        ),
        (NetworkDestination, {"host": f"{SECRET}..example"}, "host"),
        (NetworkDestination, {"host": "a.example", "address_ranges": [SECRET]}, "address_ranges"),
        (PathAccess, {"guest_path": f"/{SECRET}/../etc"}, "guest_path"),
        (SecretGrant, {"name": "k", "audiences": [f"ftp://{SECRET}"]}, "audiences.0"),
        (EnvGrant, {"name": f"{SECRET}!"}, "name"),
        (Decision, {"verdict": SECRET, "rule_id": "r", "reason": "x"}, "verdict"),
        (Label, {"source": SECRET, "trust": "trusted"}, "source"),
        (ResourceLimits, {"fuel": 0}, "fuel"),
    ],
)
def test_validation_error_names_field_not_value(
    model: type[BaseModel], data: dict[str, Any], field: str
) -> None:
    error = _invalid(model, data)
    assert f"{field}:" in error.message
    assert model.__name__ in error.message
    assert SECRET not in error.message
    assert SECRET not in str(error)
    assert SECRET not in (error.hint or "")


def test_validation_error_names_nested_field() -> None:
    error = _invalid(
        ToolResult, {"call_id": "c", "error": {"code": "sandbox.x", "message": "m", "hint": 3}}
    )
    assert "error.hint:" in error.message


def test_validation_error_lists_at_most_five() -> None:
    data = {"fuel": 0, "deadline_ms": 0, "memory_bytes": 0, "table_elements": 0}
    data |= {"instances": 0, "output_bytes": -1, "log_bytes": -1}
    error = _invalid(ResourceLimits, data)
    assert error.message.count(": Input should be") == 5
    assert "... and 2 more" in error.message


def test_validation_error_source_prefix() -> None:
    with pytest.raises(AgentorError) as info:
        parse_untrusted(ToolCall, {"id": "c"}, source="mcp server 'files'")
    assert info.value.message.startswith("mcp server 'files': invalid ToolCall:")
    assert "tool: Field required" in info.value.message


def test_parse_untrusted_returns_model() -> None:
    call = parse_untrusted(ToolCall, {"id": "c", "tool": "t", "arguments": {"a": 1}})
    assert call == ToolCall(id="c", tool="t", arguments={"a": 1})
    raw = call.model_dump_json()
    assert parse_untrusted_json(ToolCall, raw, max_bytes=len(raw)) == call
    assert parse_untrusted_json(ToolCall, raw.encode(), max_bytes=len(raw)) == call


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ('{"id": "c", "tool": "' + SECRET + ' x"}', "tool"),
        ('{"id": "c", "tool": "t", "arguments": "' + SECRET + '"}', "arguments"),
        ('{"name": "t", "input_schema": {"type": "array", "k": "' + SECRET + '"}}', "input_schema"),
    ],
)
def test_parse_untrusted_json_names_field_not_value(raw: str, field: str) -> None:
    model = ToolSpec if '"name"' in raw else ToolCall
    with pytest.raises(AgentorError) as info:
        parse_untrusted_json(model, raw, max_bytes=10_000)
    assert info.value.code == CoreCode.INVALID_INPUT
    assert f"{field}:" in info.value.message
    assert SECRET not in info.value.message


def test_parse_untrusted_json_refuses_malformed_json() -> None:
    with pytest.raises(AgentorError) as info:
        parse_untrusted_json(ToolCall, '{"id": "c", "tool": ' + SECRET, max_bytes=10_000)
    assert info.value.code == CoreCode.INVALID_INPUT
    assert "Invalid JSON" in info.value.message
    assert SECRET not in info.value.message


def test_parse_untrusted_json_size_limit_counts_bytes() -> None:
    raw = '{"id": "c", "tool": "t", "arguments": {"x": "' + "\u20ac" * 400 + '"}}'
    assert len(raw) < 1000 < len(raw.encode())
    with pytest.raises(AgentorError) as info:
        parse_untrusted_json(ToolCall, raw, max_bytes=1000, source="peer")
    assert info.value.code == CoreCode.INVALID_INPUT
    assert (
        info.value.message
        == f"peer: document of {len(raw.encode())} bytes exceeds the 1000-byte limit"
    )
    assert parse_untrusted_json(ToolCall, raw, max_bytes=len(raw.encode())).arguments["x"]
    with pytest.raises(AgentorError, match="exceeds the 1000-byte limit"):
        parse_untrusted_json(ToolCall, raw.encode(), max_bytes=1000)
