"""ToolSpec schemas, ToolCall fingerprints, ToolResult and content blocks."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap

import pytest
from pydantic import ValidationError

from agentor_core import (
    AudioContent,
    EmbeddedResource,
    ImageContent,
    JsonContent,
    Label,
    LabelSet,
    Source,
    TextContent,
    ToolCall,
    ToolError,
    ToolResult,
    ToolSpec,
)
from agentor_core.canonical import canonical_json
from agentor_core.tools import JSON_SCHEMA_2020_12

SHA_A = "a" * 64
SHA_B = "b" * 64

# --- ToolSpec --------------------------------------------------------------------------


def test_default_input_schema_is_an_empty_object_schema() -> None:
    spec = ToolSpec(name="t")
    assert spec.input_schema == {"type": "object", "properties": {}}
    assert spec.output_schema is None
    assert spec.description == ""


@pytest.mark.parametrize(
    "schema",
    [{}, {"type": "string"}, {"type": "array"}, {"type": ["object", "null"]}, {"properties": {}}],
)
def test_input_schema_must_describe_an_object(schema: dict[str, object]) -> None:
    with pytest.raises(ValidationError, match='"type": "object"'):
        ToolSpec(name="t", input_schema=schema)
    with pytest.raises(ValidationError, match="output_schema"):
        ToolSpec(name="t", output_schema=schema)


@pytest.mark.parametrize("declared", [JSON_SCHEMA_2020_12, JSON_SCHEMA_2020_12 + "#"])
def test_schema_2020_12_accepted(declared: str) -> None:
    schema = {"$schema": declared, "type": "object"}
    spec = ToolSpec(name="t", input_schema=schema, output_schema=schema)
    assert spec.input_schema["$schema"] == declared


@pytest.mark.parametrize(
    "declared",
    [
        "http://json-schema.org/draft-07/schema#",
        "https://json-schema.org/draft/2019-09/schema",
        "http://json-schema.org/draft/2020-12/schema",
        "https://json-schema.org/draft/2020-12/schema/",
        "",
        7,
        ["https://json-schema.org/draft/2020-12/schema"],
        {"$ref": "x"},
        True,
    ],
)
def test_other_schema_dialects_refused(declared: object) -> None:
    with pytest.raises(ValidationError, match="2020-12"):
        ToolSpec(name="t", input_schema={"$schema": declared, "type": "object"})
    with pytest.raises(ValidationError, match="2020-12"):
        ToolSpec(name="t", output_schema={"$schema": declared, "type": "object"})


def test_input_schema_must_be_an_object_value() -> None:
    with pytest.raises(ValidationError, match="input_schema"):
        ToolSpec.model_validate({"name": "t", "input_schema": ["type", "object"]})


# --- ToolCall.fingerprint --------------------------------------------------------------


def call(**overrides: object) -> ToolCall:
    fields: dict[str, object] = {
        "id": "call-1",
        "tool": "fs.write_file",
        "arguments": {"path": "/out/a.txt", "text": "hi", "opts": {"mode": "w", "sync": True}},
        "component_hash": SHA_A,
    }
    return ToolCall.model_validate(fields | overrides)


def test_fingerprint_is_deterministic_sha256_hex() -> None:
    first = call().fingerprint()
    assert first == call().fingerprint()
    assert len(first) == 64
    assert set(first) <= set("0123456789abcdef")


def test_fingerprint_known_answer() -> None:
    # The exact bytes hashed: RFC 8785 of {arguments, component_hash, tool}.
    expected = hashlib.sha256(
        b'{"arguments":{"a":null,"b":[1,2.5,"\xe2\x82\xac"]},"component_hash":null,"tool":"t"}'
    ).hexdigest()
    value = ToolCall(id="x", tool="t", arguments={"b": [1, 2.5, "\u20ac"], "a": None})
    assert value.fingerprint() == expected


def test_fingerprint_independent_of_key_order() -> None:
    reordered = call(
        arguments={"opts": {"sync": True, "mode": "w"}, "text": "hi", "path": "/out/a.txt"}
    )
    assert reordered.fingerprint() == call().fingerprint()


def test_fingerprint_ignores_id_and_labels() -> None:
    labelled = call(
        id="call-2",
        labels={"path": LabelSet.of(Label.of(Source.USER))},
        context_labels=LabelSet.of(Label.of(Source.DOCUMENT)),
    )
    assert labelled.fingerprint() == call().fingerprint()


@pytest.mark.parametrize(
    "change",
    [
        {"arguments": {"path": "/out/b.txt", "text": "hi", "opts": {"mode": "w", "sync": True}}},
        {"arguments": {"path": "/out/a.txt", "text": "hi!", "opts": {"mode": "w", "sync": True}}},
        {"arguments": {"path": "/out/a.txt", "text": "hi", "opts": {"mode": "w", "sync": False}}},
        {"arguments": {"path": "/out/a.txt", "text": "hi", "opts": {"mode": "w", "sync": 1}}},
        {"arguments": {"path": "/out/a.txt", "text": "hi", "opts": {"mode": "w"}}},
        {
            "arguments": {
                "path": "/out/a.txt",
                "text": "hi",
                "opts": {"mode": "w", "sync": True},
                "x": None,
            }
        },
        {"arguments": {}},
        {"tool": "fs.write_file2"},
        {"tool": "fs.read_file"},
        {"component_hash": SHA_B},
        {"component_hash": None},
    ],
)
def test_fingerprint_changes_with_every_input(change: dict[str, object]) -> None:
    assert call(**change).fingerprint() != call().fingerprint()


def test_fingerprint_uses_json_number_equality() -> None:
    # RFC 8785 writes 1.0 as 1: the same JSON value, the same fingerprint.
    assert call(arguments={"n": 1.0}).fingerprint() == call(arguments={"n": 1}).fingerprint()
    assert call(arguments={"n": 1.5}).fingerprint() != call(arguments={"n": 1}).fingerprint()
    assert call(arguments={"n": "1"}).fingerprint() != call(arguments={"n": 1}).fingerprint()


def test_labels_must_name_arguments() -> None:
    user = LabelSet.of(Label.of(Source.USER))
    assert call(labels={"path": user, "text": user}).labels["path"] == user
    with pytest.raises(ValidationError, match=r"labels given for arguments .*\['nope'\]"):
        call(labels={"path": user, "nope": user})
    with pytest.raises(ValidationError):
        call(labels={"bad name": user})


def test_component_hash_is_lower_hex_sha256() -> None:
    for bad in ("A" * 64, "a" * 63, "a" * 65, "g" * 64):
        with pytest.raises(ValidationError, match="component_hash"):
            call(component_hash=bad)


# --- ToolResult ------------------------------------------------------------------------

ERROR = ToolError(code="sandbox.trapped", message="the tool trapped")


def test_result_content_or_error_not_both() -> None:
    with pytest.raises(ValidationError, match="content or an error, not both"):
        ToolResult(call_id="c", content=[TextContent(text="x")], error=ERROR)
    failed = ToolResult(call_id="c", error=ERROR)
    assert failed.is_error
    assert failed.content == ()
    succeeded = ToolResult(call_id="c", content=[TextContent(text="x")])
    assert not succeeded.is_error
    assert not ToolResult(call_id="c").is_error


def test_result_labels_default_trusted_public_empty() -> None:
    result = ToolResult(call_id="c")
    assert result.labels == LabelSet()


def test_result_digest_is_stable_and_sensitive() -> None:
    def result(text: str, sources: tuple[Source, ...] = (Source.UNTRUSTED_TOOL,)) -> ToolResult:
        return ToolResult(
            call_id="c",
            content=[TextContent(text=text), JsonContent(data={"b": 1, "a": [2]})],
            labels=LabelSet.of(*(Label.of(s) for s in sources)),
        )

    digest = result("x").digest()
    assert digest == result("x").digest()
    assert digest == hashlib.sha256(canonical_json(result("x").model_dump(mode="json"))).hexdigest()
    assert result("y").digest() != digest
    assert result("x", (Source.USER,)).digest() != digest
    assert (
        ToolResult(call_id="c", error=ERROR).digest()
        != ToolResult(call_id="d", error=ERROR).digest()
    )


def test_result_digest_same_in_every_process() -> None:
    # Set-valued fields (label sources, methods) must not leak hash-seed order into digests.
    script = textwrap.dedent(
        """
        from agentor_core import *
        from agentor_core.canonical import canonical_json, sha256_hex
        result = ToolResult(
            call_id="c",
            content=[TextContent(text="x")],
            labels=LabelSet.of(*(Label.of(s, private=True) for s in Source)),
        )
        everywhere = NetworkDestination(host="a.example", methods=set(HttpMethod))
        grant = Capabilities(network=[everywhere])
        print(result.digest(), sha256_hex(canonical_json(grant.model_dump(mode="json"))))
        """
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in (0, 1, 2)
    }
    assert len(outputs) == 1


# --- content blocks --------------------------------------------------------------------


def test_embedded_resource_exactly_one_body() -> None:
    assert EmbeddedResource(uri="memo://a", text="").text == ""
    assert EmbeddedResource(uri="memo://a", blob="").blob == ""
    with pytest.raises(ValidationError, match="exactly one of text or blob"):
        EmbeddedResource(uri="memo://a", text="t", blob="AAAA")
    with pytest.raises(ValidationError, match="exactly one of text or blob"):
        EmbeddedResource(uri="memo://a")
    with pytest.raises(ValidationError, match="uri"):
        EmbeddedResource(uri="", text="t")


@pytest.mark.parametrize("data", ["not base64!", "AAAA===", "AA AA", "\u00e9"])
def test_binary_blocks_require_base64(data: str) -> None:
    with pytest.raises(ValidationError, match="data"):
        ImageContent(data=data, mime_type="image/png")
    with pytest.raises(ValidationError, match="data"):
        AudioContent(data=data, mime_type="audio/wav")
    with pytest.raises(ValidationError, match="blob"):
        EmbeddedResource(uri="memo://a", blob=data)


@pytest.mark.parametrize("mime", ["image", "/png", "image/", "image/png; x=1", "ima ge/png"])
def test_mime_types_checked(mime: str) -> None:
    with pytest.raises(ValidationError, match="mime_type"):
        ImageContent(data="", mime_type=mime)


def test_content_blocks_discriminated_by_type() -> None:
    data = {
        "call_id": "c",
        "content": [
            {"type": "text", "text": "t"},
            {"type": "json", "data": {"a": 1}},
            {"type": "image", "data": "", "mime_type": "image/png"},
            {"type": "audio", "data": "", "mime_type": "audio/wav"},
            {"type": "resource", "uri": "memo://a", "text": "t"},
        ],
    }
    result = ToolResult.model_validate(data)
    assert [type(b) for b in result.content] == [
        TextContent,
        JsonContent,
        ImageContent,
        AudioContent,
        EmbeddedResource,
    ]
    with pytest.raises(ValidationError):
        ToolResult.model_validate({"call_id": "c", "content": [{"text": "no type"}]})
    with pytest.raises(ValidationError):
        ToolResult.model_validate_json(json.dumps({"call_id": "c", "content": [{"type": "video"}]}))
