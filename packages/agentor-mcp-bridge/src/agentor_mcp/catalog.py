"""Resources and prompts of a toolbox: files under one granted root, and typed templates.

Resources are files the operator placed under ``[resources] root``; nothing
outside that folder is ever read (paths are resolved, symlinks followed and the
result must still be inside the root), and every read is bounded. Resource
templates map URI variables to path segments; a variable is a short run of
``[A-Za-z0-9_-]``, so no value can name a parent folder. Prompts are message
templates whose ``{argument}`` placeholders are filled from typed, bounded
arguments by plain substitution (never ``str.format``, which can reach attributes).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from agentor_core.bounds import Description, MimeType, Name, Title, Uri
from agentor_core.errors import AgentorError
from agentor_mcp.codes import McpCode

DEFAULT_MAX_RESOURCE_BYTES: Final = 1024 * 1024
MAX_RESOURCE_BYTES_LIMIT: Final = 64 * 1024 * 1024
MAX_ENTRIES: Final = 1024
MAX_COMPLETIONS: Final = 100
DEFAULT_MAX_ARGUMENT_CHARS: Final = 4096
_VAR_RE: Final = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]{0,63})\}")
_VAR_VALUE: Final = r"([A-Za-z0-9_\-]{1,128})"
_TEXT_TYPES: Final = ("text/", "application/json", "application/xml", "application/yaml")
RelPath = Annotated[str, StringConstraints(min_length=1, max_length=4096)]
Template = Annotated[str, StringConstraints(min_length=1, max_length=64 * 1024)]
Values = tuple[Annotated[str, StringConstraints(max_length=1024)], ...]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ResourceFile(_Model):
    uri: Uri
    file: RelPath
    name: Name
    title: Title | None = None
    description: Description = ""
    mime_type: MimeType = "text/plain"


class ResourceTemplate(_Model):
    """``uri_template`` like ``docs://{topic}/page``; ``file`` like ``pages/{topic}.md``."""

    uri_template: Uri
    file: RelPath
    name: Name
    title: Title | None = None
    description: Description = ""
    mime_type: MimeType = "text/plain"
    values: dict[Name, Values] = Field(default_factory=dict, max_length=64)
    """Suggestions for each variable (completion/complete)."""

    @model_validator(mode="after")
    def _same_variables(self) -> ResourceTemplate:
        in_uri = _VAR_RE.findall(self.uri_template)
        if not in_uri or len(set(in_uri)) != len(in_uri):
            raise ValueError("uri_template needs distinct {variables}")
        if set(_VAR_RE.findall(self.file)) != set(in_uri):
            raise ValueError("file must use exactly the variables of uri_template")
        if set(self.values) - set(in_uri):
            raise ValueError("values names a variable the uri_template does not have")
        return self

    def pattern(self) -> re.Pattern[str]:
        parts = _VAR_RE.split(self.uri_template)
        # split() alternates literal text and variable names.
        regex = "".join(
            re.escape(part) if index % 2 == 0 else _VAR_VALUE for index, part in enumerate(parts)
        )
        return re.compile(f"^{regex}$")

    def variables(self) -> list[str]:
        return _VAR_RE.findall(self.uri_template)


class ResourcesSection(_Model):
    root: RelPath
    """The only folder resources are read from (relative to agentor.toml)."""
    max_bytes: int = Field(default=DEFAULT_MAX_RESOURCE_BYTES, gt=0, le=MAX_RESOURCE_BYTES_LIMIT)
    files: tuple[ResourceFile, ...] = Field(default=(), max_length=MAX_ENTRIES)
    templates: tuple[ResourceTemplate, ...] = Field(default=(), max_length=MAX_ENTRIES)


class PromptArgument(_Model):
    name: Name
    description: Description = ""
    required: bool = False
    max_length: int = Field(default=DEFAULT_MAX_ARGUMENT_CHARS, gt=0, le=1024 * 1024)
    values: Values = Field(default=(), max_length=MAX_ENTRIES)
    """Suggestions offered by completion/complete."""


class PromptMessage(_Model):
    """Exactly one of ``text``, ``image`` (a file under the resource root) or ``resource_uri``."""

    role: Literal["user", "assistant"] = "user"
    text: Template | None = None
    image: RelPath | None = None
    mime_type: MimeType | None = None
    resource_uri: Template | None = None
    """An embedded resource whose ``uri`` is this template and whose body is ``text``."""

    @model_validator(mode="after")
    def _one_kind(self) -> PromptMessage:
        if self.image is not None and (self.text is not None or self.resource_uri is not None):
            raise ValueError("an image message has no text or resource_uri")
        if self.image is None and self.text is None:
            raise ValueError("a message needs text, image or resource_uri with text")
        return self


class PromptEntry(_Model):
    name: Name
    title: Title | None = None
    description: Description = ""
    arguments: tuple[PromptArgument, ...] = Field(default=(), max_length=64)
    messages: tuple[PromptMessage, ...] = Field(min_length=1, max_length=256)

    @model_validator(mode="after")
    def _known_placeholders(self) -> PromptEntry:
        names = [a.name for a in self.arguments]
        if len(set(names)) != len(names):
            raise ValueError("argument names must be distinct")
        for message in self.messages:
            for template in (message.text, message.resource_uri):
                unknown = set(_VAR_RE.findall(template or "")) - set(names)
                if unknown:
                    raise ValueError(f"placeholder {sorted(unknown)[0]!r} is not an argument")
        return self


@dataclass(frozen=True, slots=True)
class ResourceBody:
    uri: str
    mime_type: str
    text: str | None = None
    blob: str | None = None


def _fail(code: McpCode, message: str, hint: str) -> AgentorError:
    return AgentorError(code, message, hint=hint)


class ResourceStore:
    """Reads the resources of one ``[resources]`` section from its root, bounded."""

    def __init__(self, section: ResourcesSection, base: Path) -> None:
        root = Path(section.root).expanduser()
        self.root = (root if root.is_absolute() else base / root).resolve()
        self.section = section
        self._files = {entry.uri: entry for entry in section.files}
        self._templates = [(t, t.pattern()) for t in section.templates]

    def _read(self, relative: str, uri: str, mime_type: str) -> ResourceBody:
        path = (self.root / relative).resolve()
        # After resolve(): a symlink that leads out of the root is refused like "..".
        if not path.is_relative_to(self.root):
            raise _fail(
                McpCode.RESOURCE_NOT_FOUND,
                f"resource {uri[:200]!r} is outside the granted root",
                "serve only files under [resources] root",
            )
        limit = self.section.max_bytes
        try:
            if not path.is_file():
                raise FileNotFoundError(relative)
            size = path.stat().st_size
            if size > limit:
                raise _fail(
                    McpCode.RESOURCE_TOO_LARGE,
                    f"resource {uri[:200]!r} is {size} bytes; the limit is {limit}",
                    "raise [resources] max_bytes or serve a smaller file",
                )
            with path.open("rb") as handle:
                data = handle.read(limit + 1)
        except OSError:
            raise _fail(
                McpCode.RESOURCE_NOT_FOUND,
                f"resource {uri[:200]!r} cannot be read",
                "call resources/list for what is served",
            ) from None
        if len(data) > limit:  # grew between stat and read
            raise _fail(
                McpCode.RESOURCE_TOO_LARGE,
                f"resource {uri[:200]!r} is larger than {limit} bytes",
                "raise [resources] max_bytes or serve a smaller file",
            )
        if mime_type.startswith(_TEXT_TYPES):
            try:
                return ResourceBody(uri=uri, mime_type=mime_type, text=data.decode("utf-8"))
            except UnicodeDecodeError:
                pass
        return ResourceBody(uri=uri, mime_type=mime_type, blob=base64.b64encode(data).decode())

    def read(self, uri: str) -> ResourceBody:
        entry = self._files.get(uri)
        if entry is not None:
            return self._read(entry.file, uri, entry.mime_type)
        for template, pattern in self._templates:
            match = pattern.fullmatch(uri)
            if match is None:
                continue
            relative = _substitute(
                template.file, dict(zip(template.variables(), match.groups(), strict=True))
            )
            return self._read(relative, uri, template.mime_type)
        raise _fail(
            McpCode.RESOURCE_NOT_FOUND,
            f"no resource {uri[:200]!r} is served",
            "call resources/list and resources/templates/list",
        )

    def read_file(self, relative: str, mime_type: str) -> ResourceBody:
        """A file under the root for a prompt's image message."""
        return self._read(relative, f"file:{relative}", mime_type)

    def complete(self, uri_template: str, variable: str, prefix: str) -> list[str]:
        for template in self.section.templates:
            if template.uri_template == uri_template:
                return _matching(template.values.get(variable, ()), prefix)
        return []


def _substitute(template: str, values: Mapping[str, str]) -> str:
    return _VAR_RE.sub(lambda m: values.get(m.group(1), ""), template)


def _matching(values: Values, prefix: str) -> list[str]:
    return [value for value in values if value.startswith(prefix)][:MAX_COMPLETIONS]


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    role: Literal["user", "assistant"]
    kind: Literal["text", "image", "resource"]
    text: str = ""
    data: str = ""
    mime_type: str = ""
    uri: str = ""


class PromptBook:
    """The prompts of a toolbox; renders one with validated arguments."""

    def __init__(self, prompts: tuple[PromptEntry, ...], store: ResourceStore | None) -> None:
        self.prompts = {prompt.name: prompt for prompt in prompts}
        self._store = store

    def complete(self, prompt: str, argument: str, prefix: str) -> list[str]:
        entry = self.prompts.get(prompt)
        if entry is None:
            return []
        for arg in entry.arguments:
            if arg.name == argument:
                return _matching(arg.values, prefix)
        return []

    def render(self, name: str, arguments: Mapping[str, str] | None) -> list[RenderedMessage]:
        entry = self.prompts.get(name)
        if entry is None:
            raise _fail(
                McpCode.PROMPT_INVALID,
                f"no prompt named {name[:128]!r} is served",
                "call prompts/list",
            )
        given = dict(arguments or {})
        declared = {arg.name: arg for arg in entry.arguments}
        unknown = sorted(set(given) - set(declared))
        if unknown:
            raise _fail(
                McpCode.PROMPT_INVALID,
                f"prompt {name} has no argument {unknown[0][:128]!r}",
                "call prompts/list for its arguments",
            )
        for arg in entry.arguments:
            value = given.get(arg.name)
            if value is None and arg.required:
                raise _fail(
                    McpCode.PROMPT_INVALID,
                    f"prompt {name} needs the argument {arg.name!r}",
                    "send every required argument",
                )
            if value is not None and len(value) > arg.max_length:
                raise _fail(
                    McpCode.PROMPT_INVALID,
                    f"argument {arg.name!r} of prompt {name} is longer than {arg.max_length}",
                    "send a shorter value",
                )

        def fill(template: str) -> str:
            return _substitute(template, given)

        rendered = []
        for message in entry.messages:
            if message.image is not None:
                if self._store is None:
                    raise _fail(
                        McpCode.PROMPT_INVALID,
                        f"prompt {name} shows an image but no [resources] root is configured",
                        "add a [resources] section to agentor.toml",
                    )
                body = self._store.read_file(message.image, message.mime_type or "image/png")
                rendered.append(
                    RenderedMessage(
                        role=message.role,
                        kind="image",
                        data=body.blob or base64.b64encode((body.text or "").encode()).decode(),
                        mime_type=body.mime_type,
                    )
                )
            elif message.resource_uri is not None:
                uri = fill(message.resource_uri)
                if not uri:
                    raise _fail(
                        McpCode.PROMPT_INVALID,
                        f"prompt {name} needs a resource URI",
                        "send the URI argument",
                    )
                rendered.append(
                    RenderedMessage(
                        role=message.role,
                        kind="resource",
                        uri=uri,
                        text=fill(message.text or ""),
                        mime_type=message.mime_type or "text/plain",
                    )
                )
            else:
                rendered.append(
                    RenderedMessage(role=message.role, kind="text", text=fill(message.text or ""))
                )
        return rendered
