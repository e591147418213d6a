"""Reading and writing the top level of a WebAssembly component binary, bounded.

Only the section framing is parsed (id, LEB128 size, skip), which is enough to
find and append custom sections without trusting anything inside the code.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from agentor_core.errors import AgentorError
from agentor_toolkit.errors import ToolkitCode
from agentor_toolkit.files import read_at_most
from agentor_toolkit.manifest import SECTION_NAME, Manifest, parse_manifest_json

MAGIC: Final = b"\x00asm"
COMPONENT_VERSION: Final = b"\x0d\x00\x01\x00"
CORE_VERSION: Final = b"\x01\x00\x00\x00"
MAX_COMPONENT_BYTES: Final = 512 * 1024 * 1024
_CUSTOM: Final = 0


@dataclass(frozen=True, slots=True)
class Section:
    id: int
    start: int
    end: int
    name: str | None


def _invalid(message: str) -> AgentorError:
    return AgentorError(
        ToolkitCode.COMPONENT_INVALID,
        message,
        hint="pass a .wasm component built by 'agentor tool build' or another component toolchain",
    )


def _leb128(data: bytes, pos: int) -> tuple[int, int]:
    result = 0
    shift = 0
    while True:
        if pos >= len(data) or shift > 28:
            raise _invalid(f"malformed section size at byte {pos}")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _encode_leb128(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def kind(data: bytes) -> str:
    """``component`` or ``module``, else raise ``toolkit.component_invalid``."""
    if len(data) < 8 or data[:4] != MAGIC:
        raise _invalid("not a WebAssembly binary (wrong magic number)")
    if data[4:8] == COMPONENT_VERSION:
        return "component"
    if data[4:8] == CORE_VERSION:
        return "module"
    raise _invalid("unknown WebAssembly binary version or layer")


def sections(data: bytes) -> list[Section]:
    """The top-level sections, with custom sections' names."""
    kind(data)
    pos = 8
    found = []
    while pos < len(data):
        section_id = data[pos]
        size, body = _leb128(data, pos + 1)
        end = body + size
        if end > len(data):
            raise _invalid("a section runs past the end of the file (truncated?)")
        name = None
        if section_id == _CUSTOM:
            length, at = _leb128(data, body)
            if at + length > end:
                raise _invalid("a custom section's name runs past the section")
            name = data[at : at + length].decode("utf-8", "replace")
        found.append(Section(section_id, body, end, name))
        pos = end
    return found


def custom_section(data: bytes, name: str) -> bytes | None:
    """The payload of the last top-level custom section called ``name``."""
    hit = None
    for section in sections(data):
        if section.name == name:
            length, at = _leb128(data, section.start)
            hit = data[at + length : section.end]
    return hit


def append_custom_section(data: bytes, name: str, payload: bytes) -> bytes:
    encoded = name.encode("utf-8")
    body = _encode_leb128(len(encoded)) + encoded + payload
    return data + bytes([_CUSTOM]) + _encode_leb128(len(body)) + body


def read_bounded(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_COMPONENT_BYTES:
            raise _invalid(f"{path} is {size} bytes, over the {MAX_COMPONENT_BYTES}-byte limit")
        data = read_at_most(path, MAX_COMPONENT_BYTES)
    except OSError as exc:
        raise _invalid(f"cannot read {path}: {exc.strerror}") from None
    if len(data) > MAX_COMPONENT_BYTES:
        raise _invalid(f"{path} is over the {MAX_COMPONENT_BYTES}-byte limit")
    return data


def sha256_file_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def embedded_manifest(data: bytes, *, source: str) -> Manifest:
    """The manifest ``agentor tool build`` embedded, or ``toolkit.manifest_missing``."""
    payload = custom_section(data, SECTION_NAME)
    if payload is None:
        raise AgentorError(
            ToolkitCode.MANIFEST_MISSING,
            f"{source} carries no {SECTION_NAME!r} section",
            hint="build it with 'agentor tool build', or inspect it as a generic component",
        )
    manifest = parse_manifest_json(payload, source=source)
    if manifest.canonical() != payload:
        # Embedded by our build in canonical form; anything else was edited by hand.
        raise AgentorError(
            ToolkitCode.MANIFEST_INVALID,
            f"{source}: the embedded manifest is not in canonical form",
            hint="rebuild the component with 'agentor tool build'",
        )
    return manifest
