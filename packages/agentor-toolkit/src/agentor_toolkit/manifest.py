"""The manifest: a component's tools, their schemas and the capabilities it requests.

``describe()`` returns it inside the sandbox; ``agentor tool build`` also embeds
its RFC 8785 canonical form in a custom section of the component
(``agentor-manifest``), so ``inspect``, ``sign`` and ``verify`` read it without
running any code. Everything read here is bounded and validated by pydantic.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any, Final

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from agentor_core.bounds import Description, Name
from agentor_core.canonical import canonical_json, sha256_hex
from agentor_core.capabilities import Capabilities
from agentor_core.errors import AgentorError
from agentor_core.tools import ToolSpec
from agentor_core.validation import describe_validation_error, parse_untrusted_json
from agentor_toolkit.errors import ToolkitCode
from agentor_toolkit.files import read_at_most

SECTION_NAME: Final = "agentor-manifest"
MAX_MANIFEST_BYTES: Final = 4 * 1024 * 1024
MAX_TOOL_TOML_BYTES: Final = 256 * 1024
MAX_TOOLS: Final = 256

Version = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z.+\-]+$")
]
ModuleName = Annotated[str, StringConstraints(max_length=128, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


def _requests_are_requests(requests: Capabilities) -> Capabilities:
    # A request names what a tool wants; where it comes from on the host is the
    # operator's decision, made in the grant, never the tool author's.
    if any(path.host_path is not None for path in requests.filesystem):
        raise ValueError("a request names guest paths only: remove host_path")
    if any(env.value is not None for env in requests.env):
        raise ValueError("a request names environment variables only: remove value")
    return requests


class Manifest(BaseModel):
    """What ``describe()`` returns, as agentor-core models."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Name
    version: Version = "0.0.0"
    tools: tuple[ToolSpec, ...] = Field(default=(), max_length=MAX_TOOLS)
    requests: Capabilities = Field(default_factory=Capabilities)

    @model_validator(mode="after")
    def _check(self) -> Manifest:
        names = [tool.name for tool in self.tools]
        if len(names) != len(set(names)):
            raise ValueError("two tools share a name")
        _requests_are_requests(self.requests)
        return self

    def canonical(self) -> bytes:
        """RFC 8785 bytes: what is embedded, signed and compared."""
        return canonical_json(self.model_dump(mode="json"))

    def digest(self) -> str:
        return sha256_hex(self.canonical())

    def tool(self, name: str) -> ToolSpec | None:
        return next((tool for tool in self.tools if tool.name == name), None)


class ToolSection(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Name
    version: Version = "0.1.0"
    module: ModuleName | None = None
    description: Description = ""


class ToolToml(BaseModel):
    """``tool.toml`` beside a tool's source: ``[tool]`` and ``[requests]``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tool: ToolSection
    requests: Capabilities = Field(default_factory=Capabilities)

    @model_validator(mode="after")
    def _check(self) -> ToolToml:
        _requests_are_requests(self.requests)
        return self

    def head(self) -> dict[str, Any]:
        """The manifest fields the guest merges over what its code declared."""
        return {
            "name": self.tool.name,
            "version": self.tool.version,
            "requests": self.requests.model_dump(mode="json", exclude_defaults=True),
        }


def parse_manifest(data: Any, *, source: str) -> Manifest:
    try:
        return Manifest.model_validate(data)
    except ValidationError as exc:
        raise AgentorError(
            ToolkitCode.MANIFEST_INVALID,
            describe_validation_error(exc, source=source),
            hint="fix the tool's tool.toml or declare() call and build again",
        ) from None


def parse_manifest_json(raw: bytes | str, *, source: str) -> Manifest:
    """Validate a manifest document; pydantic's parser bounds nesting (no recursion errors)."""
    return parse_untrusted_json(
        Manifest,
        raw,
        max_bytes=MAX_MANIFEST_BYTES,
        source=source,
        code=ToolkitCode.MANIFEST_INVALID,
        hint="fix the tool's tool.toml or declare() call and build again",
    )


def load_tool_toml(path: Path) -> ToolToml:
    try:
        raw = read_at_most(path, MAX_TOOL_TOML_BYTES)
    except OSError as exc:
        raise AgentorError(
            ToolkitCode.SOURCE_INVALID,
            f"cannot read {path}: {exc.strerror}",
            hint="create a tool.toml beside the tool's module (see examples/tools/)",
        ) from None
    if len(raw) > MAX_TOOL_TOML_BYTES:
        raise AgentorError(
            ToolkitCode.SOURCE_INVALID,
            f"{path} is larger than {MAX_TOOL_TOML_BYTES} bytes",
            hint="tool.toml holds a name and requests only",
        )
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise AgentorError(
            ToolkitCode.SOURCE_INVALID,
            f"{path} is not valid TOML: {exc}",
            hint="fix the TOML syntax",
        ) from None
    try:
        return ToolToml.model_validate(data)
    except ValidationError as exc:
        raise AgentorError(
            ToolkitCode.SOURCE_INVALID,
            describe_validation_error(exc, source=str(path)),
            hint="see examples/tools/*/tool.toml for the fields",
        ) from None
