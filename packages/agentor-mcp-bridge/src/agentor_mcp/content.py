"""Mapping between agentor's tool model and MCP's wire types."""

from __future__ import annotations

import json
from typing import Any, Final

import mcp_types as types
from pydantic import TypeAdapter, ValidationError

from agentor_core.errors import AgentorError, ToolError
from agentor_core.tools import (
    AudioContent,
    ContentBlock,
    EmbeddedResource,
    ImageContent,
    JsonContent,
    TextContent,
    ToolAnnotations,
    ToolResult,
    ToolSpec,
)
from agentor_core.validation import describe_validation_error
from agentor_mcp.codes import McpCode

META_PREFIX: Final = "io.agentor/"
"""Namespace of the ``_meta`` keys the bridge adds (provenance labels, error codes)."""


def mcp_tool(spec: ToolSpec, annotations: ToolAnnotations) -> types.Tool:
    return types.Tool(
        name=spec.name,
        title=spec.title,
        description=spec.description or None,
        input_schema=dict(spec.input_schema),
        output_schema=dict(spec.output_schema) if spec.output_schema is not None else None,
        annotations=types.ToolAnnotations(
            title=annotations.title,
            read_only_hint=annotations.read_only,
            destructive_hint=annotations.destructive,
            idempotent_hint=annotations.idempotent,
            open_world_hint=annotations.open_world,
        ),
    )


def _json_text(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def error_result(error: ToolError, *, detail: dict[str, Any] | None = None) -> types.CallToolResult:
    """A tool error as MCP sees it: ``isError`` with the code, message and what to do next."""
    text = f"[{error.code}] {error.message}"
    if error.hint:
        text += f"\nwhat to do: {error.hint}"
    meta: dict[str, Any] = {f"{META_PREFIX}error": error.model_dump(mode="json")}
    if detail:
        meta[f"{META_PREFIX}detail"] = detail
    return types.CallToolResult(content=[types.TextContent(text=text)], is_error=True, meta=meta)


def call_result(result: ToolResult, spec: ToolSpec) -> types.CallToolResult:
    """A tool's result as MCP content; structured when the tool declares an output schema."""
    if result.error is not None:
        return error_result(result.error)
    blocks: list[
        types.TextContent
        | types.ImageContent
        | types.AudioContent
        | types.ResourceLink
        | types.EmbeddedResource
    ] = []
    structured: dict[str, Any] | None = None
    for block in result.content:
        if isinstance(block, JsonContent):
            if (
                spec.output_schema is not None
                and structured is None
                and isinstance(block.data, dict)
            ):
                structured = block.data
            # Text as well: clients that predate structured content still see the result.
            blocks.append(types.TextContent(text=_json_text(block.data)))
        elif isinstance(block, TextContent):
            blocks.append(types.TextContent(text=block.text))
        elif isinstance(block, ImageContent):
            blocks.append(types.ImageContent(data=block.data, mime_type=block.mime_type))
        elif isinstance(block, AudioContent):
            blocks.append(types.AudioContent(data=block.data, mime_type=block.mime_type))
        elif isinstance(block, EmbeddedResource):
            resource: types.TextResourceContents | types.BlobResourceContents
            if block.text is not None:
                resource = types.TextResourceContents(
                    uri=block.uri, mime_type=block.mime_type, text=block.text
                )
            else:
                resource = types.BlobResourceContents(
                    uri=block.uri, mime_type=block.mime_type, blob=block.blob or ""
                )
            blocks.append(types.EmbeddedResource(resource=resource))
    meta = {f"{META_PREFIX}labels": result.labels.model_dump(mode="json")}
    return types.CallToolResult(content=blocks, structured_content=structured, meta=meta)


_BLOCKS: Final = TypeAdapter(tuple[ContentBlock, ...])


def unwrap_content(tool: str, result: ToolResult) -> ToolResult:
    """A content-mode tool prints ``{"content": [blocks]}``; its blocks are parsed, bounded.

    The blocks are agentor-core content models (text, json, image, audio, resource);
    anything else is withheld with ``mcp.invalid_result``, like a failed outputSchema.
    """
    if result.error is not None:
        return result
    data = next((b.data for b in result.content if isinstance(b, JsonContent)), None)
    raw = data.get("content") if isinstance(data, dict) and len(data) == 1 else None
    try:
        blocks = _BLOCKS.validate_python(raw)
    except ValidationError as exc:
        problem = describe_validation_error(exc)[:300]
        return ToolResult(
            call_id=result.call_id,
            error=AgentorError(
                McpCode.INVALID_RESULT,
                f'{tool} is a content tool but did not print {{"content": [blocks]}}: {problem}',
                hint="a bug in the tool or its toolbox entry; report it to its author",
            ).error,
        )
    return result.model_copy(update={"content": blocks})
