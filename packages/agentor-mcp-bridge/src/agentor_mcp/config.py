"""The serve configuration (``agentor.toml``): tools, policy, audit, and how to listen.

Read with a size bound and validated by pydantic before anything uses it. Paths
in it are relative to the file's own directory, so a toolbox folder can move.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from agentor_core.bounds import BoundedJsonObject, Description, Name, Title
from agentor_core.errors import AgentorError
from agentor_core.tools import ToolSpec
from agentor_core.validation import describe_validation_error
from agentor_mcp.catalog import PromptEntry, ResourcesSection
from agentor_mcp.codes import McpCode
from agentor_mcp.upstream import MAX_SERVERS, ProxySection, ServerEntry, ServerName

MAX_CONFIG_BYTES: Final = 1024 * 1024
MAX_TOOLS: Final = 256
RelPath = Annotated[str, StringConstraints(min_length=1, max_length=4096)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ServerSection(_Model):
    name: Name = "agentor"
    instructions: Annotated[str, StringConstraints(max_length=4096)] | None = None


class PolicySection(_Model):
    file: RelPath


class AuditSection(_Model):
    path: RelPath | None = None
    """The audit database; default: ``<state dir>/audit/audit.db``."""
    durability: Literal["full", "normal"] = "full"
    """``full``: a committed event survives power loss; ``normal``: it survives a crash."""


class HttpSection(_Model):
    listen: Annotated[str, StringConstraints(max_length=300)] = "127.0.0.1:8765"
    token_file: RelPath | None = None
    allowed_hosts: tuple[Annotated[str, StringConstraints(max_length=300)], ...] = Field(
        default=(), max_length=64
    )
    stateless: bool = False


class ToolEntry(_Model):
    """One WebAssembly file. A preview-1 module is named and described here (it has no manifest)."""

    file: RelPath
    name: Name | None = None
    title: Title | None = None
    description: Description | None = None
    input_schema: BoundedJsonObject | None = None
    output_schema: BoundedJsonObject | None = None
    result: Literal["json", "content"] = "json"
    """``content``: the tool prints ``{"content": [blocks]}`` (text, image, audio, resource)."""

    def override(self, runtime_spec: ToolSpec) -> ToolSpec | None:
        """The spec the operator describes for this tool, or ``None`` to keep the runtime's."""
        if all(
            v is None for v in (self.title, self.description, self.input_schema, self.output_schema)
        ):
            return None
        return ToolSpec(
            name=runtime_spec.name,
            title=self.title if self.title is not None else runtime_spec.title,
            description=self.description
            if self.description is not None
            else runtime_spec.description,
            input_schema=self.input_schema
            if self.input_schema is not None
            else runtime_spec.input_schema,
            output_schema=self.output_schema
            if self.output_schema is not None
            else runtime_spec.output_schema,
            annotations=runtime_spec.annotations,
        )


class ToolboxSection(_Model):
    """Who may publish the tools this server loads (``agentor serve --require-signed``)."""

    require_signed: bool = False
    """Refuse a tool file unless a trusted key signed it; a signature present is always checked."""
    trusted_keys: tuple[RelPath, ...] = Field(default=(), max_length=64)
    """Trusted ``.pub`` files or folders of them; default: the config trust folder."""


class ServeConfig(_Model):
    version: Literal[1] = 1
    server: ServerSection = Field(default_factory=ServerSection)
    policy: PolicySection
    audit: AuditSection = Field(default_factory=AuditSection)
    http: HttpSection = Field(default_factory=HttpSection)
    tools: tuple[ToolEntry, ...] = Field(default=(), max_length=MAX_TOOLS)
    toolbox: ToolboxSection = Field(default_factory=ToolboxSection)
    resources: ResourcesSection | None = None
    prompts: tuple[PromptEntry, ...] = Field(default=(), max_length=1024)
    servers: dict[ServerName, ServerEntry] = Field(default_factory=dict, max_length=MAX_SERVERS)
    """Outside MCP servers whose tools are re-served as ``NAME.tool`` under the policy."""
    proxy: ProxySection = Field(default_factory=ProxySection)


@dataclass(frozen=True, slots=True)
class LoadedConfig:
    config: ServeConfig
    base: Path
    source: Path

    def resolve(self, relative: str) -> Path:
        path = Path(relative).expanduser()
        return path if path.is_absolute() else self.base / path


def _invalid(path: Path, message: str) -> AgentorError:
    return AgentorError(
        McpCode.CONFIG_INVALID,
        f"{path}: {message}",
        hint="fix the file (see the agentor-mcp-bridge README for its keys)",
    )


def load_config(path: Path) -> LoadedConfig:
    try:
        size = path.stat().st_size
        if size > MAX_CONFIG_BYTES:
            raise _invalid(path, f"{size} bytes; the limit is {MAX_CONFIG_BYTES}")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _invalid(path, f"cannot read it ({type(exc).__name__})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _invalid(path, f"not valid TOML: {str(exc)[:300]}") from None
    except RecursionError:
        raise _invalid(path, "nested too deeply") from None
    try:
        config = ServeConfig.model_validate(data)
    except ValidationError as exc:
        raise _invalid(path, describe_validation_error(exc)) from None
    resolved = path.resolve()
    return LoadedConfig(config=config, base=resolved.parent, source=resolved)
