"""What a tool is, how it is called, and what it returns.

The shapes follow MCP's tool model (name, title, description, input and output
JSON Schemas, annotations, content blocks) so the bridge can map them one to
one, with bounds added because every field may come from an untrusted peer.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agentor_core.bounds import (
    MAX_CONTENT_BLOCKS,
    Base64,
    BoundedJson,
    BoundedJsonObject,
    Description,
    MimeType,
    Name,
    Sha256Hex,
    Text,
    Title,
    Uri,
)
from agentor_core.canonical import canonical_json, sha256_hex
from agentor_core.errors import ToolError
from agentor_core.labels import LabelSet

JSON_SCHEMA_2020_12: Final = "https://json-schema.org/draft/2020-12/schema"


def _check_schema(schema: dict[str, Any], *, require_object: bool) -> dict[str, Any]:
    declared = schema.get("$schema")
    if declared is not None and (
        not isinstance(declared, str) or declared.rstrip("#") != JSON_SCHEMA_2020_12
    ):
        raise ValueError(f"only JSON Schema 2020-12 ({JSON_SCHEMA_2020_12}) is accepted")
    if require_object and schema.get("type") != "object":
        raise ValueError('a tool schema must describe an object: "type": "object"')
    return schema


class ToolAnnotations(BaseModel):
    """Hints about a tool's behaviour, as in MCP.

    Hints only: a client must not trust them from an untrusted server. Agentor
    derives the ones it serves from the capabilities a tool was granted.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    title: Title | None = None
    read_only: bool | None = None
    destructive: bool | None = None
    idempotent: bool | None = None
    open_world: bool | None = None


class ToolSpec(BaseModel):
    """The description of one tool: its name, purpose and JSON Schemas (2020-12)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Name
    title: Title | None = None
    description: Description = ""
    input_schema: BoundedJsonObject = Field(
        default_factory=lambda: {"type": "object", "properties": {}}
    )
    output_schema: BoundedJsonObject | None = None
    annotations: ToolAnnotations = Field(default_factory=ToolAnnotations)

    @field_validator("input_schema")
    @classmethod
    def _input_is_object_schema(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _check_schema(value, require_object=True)

    @field_validator("output_schema")
    @classmethod
    def _output_is_object_schema(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        # MCP's structuredContent is always an object, so its schema must be too.
        return None if value is None else _check_schema(value, require_object=True)


class ToolCall(BaseModel):
    """A proposal to run one tool with arguments, and where each argument came from.

    ``labels`` maps a top-level argument name to the provenance of its value;
    ``context_labels`` is the provenance of everything in play when the call was
    proposed, used when an argument's own origin cannot be known.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Annotated[str, Field(min_length=1, max_length=128)]
    tool: Name
    arguments: BoundedJsonObject = Field(default_factory=dict)
    component_hash: Sha256Hex | None = None
    labels: dict[Name, LabelSet] = Field(default_factory=dict, max_length=256)
    context_labels: LabelSet = Field(default_factory=LabelSet)
    embedded_labels: dict[Name, LabelSet] = Field(default_factory=dict, max_length=256)
    """For a string argument that contains destinations (URLs, e-mail addresses), the
    join of those destinations' own labels: a recipient follows a link in a body."""
    off_plan: bool = False
    """The agent declared a plan of tools while its context was trusted, this tool is
    not in it, and untrusted content is now in the context: untrusted text may have
    chosen to call it (control flow, not data flow). Set only by a runtime with a plan
    in force; the policy decides what an off-plan call may do."""

    @model_validator(mode="after")
    def _labels_name_arguments(self) -> ToolCall:
        unknown = sorted((set(self.labels) | set(self.embedded_labels)) - set(self.arguments))
        if unknown:
            raise ValueError(f"labels given for arguments that are not in the call: {unknown}")
        return self

    def fingerprint(self) -> str:
        """SHA-256 over tool, component hash and canonical arguments (RFC 8785).

        An approval is bound to this value: change any argument, or swap the
        component under the same name, and the approval no longer matches.
        """
        document = {
            "arguments": self.arguments,
            "component_hash": self.component_hash,
            "tool": self.tool,
        }
        return sha256_hex(canonical_json(document))


class TextContent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    type: Literal["text"] = "text"
    text: Text


class JsonContent(BaseModel):
    """Structured output; maps to MCP's ``structuredContent``."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    type: Literal["json"] = "json"
    data: BoundedJson


class ImageContent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    type: Literal["image"] = "image"
    data: Base64
    mime_type: MimeType


class AudioContent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    type: Literal["audio"] = "audio"
    data: Base64
    mime_type: MimeType


class EmbeddedResource(BaseModel):
    """A resource returned inline: exactly one of ``text`` or ``blob`` (base64)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    type: Literal["resource"] = "resource"
    uri: Uri
    mime_type: MimeType | None = None
    text: Text | None = None
    blob: Base64 | None = None

    @model_validator(mode="after")
    def _one_body(self) -> EmbeddedResource:
        if (self.text is None) == (self.blob is None):
            raise ValueError("an embedded resource carries exactly one of text or blob")
        return self


ContentBlock = Annotated[
    TextContent | JsonContent | ImageContent | AudioContent | EmbeddedResource,
    Field(discriminator="type"),
]


class ToolResult(BaseModel):
    """What a call produced: content blocks, or an error, never both.

    ``labels`` is the provenance of the output: untrusted unless the tool was
    declared trusted by the operator's policy.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    call_id: Annotated[str, Field(min_length=1, max_length=128)]
    content: tuple[ContentBlock, ...] = Field(default=(), max_length=MAX_CONTENT_BLOCKS)
    error: ToolError | None = None
    labels: LabelSet = Field(default_factory=LabelSet)

    @model_validator(mode="after")
    def _content_or_error(self) -> ToolResult:
        if self.error is not None and self.content:
            raise ValueError("a result carries content or an error, not both")
        return self

    @property
    def is_error(self) -> bool:
        return self.error is not None

    def digest(self) -> str:
        """SHA-256 of the canonical result, recorded by the audit log."""
        return sha256_hex(canonical_json(self.model_dump(mode="json")))
