"""``agentor tool inspect``: what a component is, asks for, and who signed it, without running it.

Reads the embedded manifest and the import and export names straight from the
binary (bounded parsing of the top-level import and export sections only).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from agentor_core.errors import AgentorError
from agentor_toolkit.component import (
    _leb128,
    embedded_manifest,
    kind,
    read_bounded,
    sections,
    sha256_file_bytes,
)
from agentor_toolkit.errors import ToolkitCode
from agentor_toolkit.generic import generic_subject
from agentor_toolkit.manifest import Manifest
from agentor_toolkit.signing import TrustStore, load_signature, signature_path, verify_bytes

_IMPORT_SECTION: Final = 10
_EXPORT_SECTION: Final = 11
_MAX_NAMES: Final = 10_000


@dataclass(frozen=True, slots=True)
class Inspection:
    path: Path
    kind: str
    sha256: str
    size: int
    manifest: Manifest | None
    manifest_error: str | None
    signature: str
    """``valid``, ``unsigned``, or an error code such as ``toolkit.untrusted_key``."""
    signer: str | None
    imports: list[str] = field(default_factory=list)
    exports: list[str] = field(default_factory=list)
    reflected: bool = False
    """True when the tools come from the component's WIT types (no embedded manifest)."""

    def as_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "kind": self.kind,
            "sha256": self.sha256,
            "size": self.size,
            "name": self.manifest.name if self.manifest else None,
            "version": self.manifest.version if self.manifest else None,
            "manifest_sha256": self.manifest.digest() if self.manifest else None,
            "manifest_error": self.manifest_error,
            "signature": {"status": self.signature, "key_id": self.signer},
            "tools": [t.model_dump(mode="json") for t in self.manifest.tools]
            if self.manifest
            else [],
            "requests": self.manifest.requests.model_dump(mode="json", exclude_defaults=True)
            if self.manifest
            else {},
            "imports": self.imports,
            "exports": self.exports,
            "reflected": self.reflected,
        }


def _name(data: bytes, pos: int) -> tuple[str, int]:
    tag = data[pos]
    if tag not in (0x00, 0x01):
        raise ValueError("unknown name encoding")
    length, pos = _leb128(data, pos + 1)
    return data[pos : pos + length].decode("utf-8", "replace"), pos + length


def _externdesc(data: bytes, pos: int) -> int:
    sort = data[pos]
    pos += 1
    if sort == 0x00:  # core module: 0x11 typeidx
        return _leb128(data, pos + 1)[1]
    if sort in (0x01, 0x04, 0x05):  # func, component, instance: typeidx
        return _leb128(data, pos)[1]
    if sort in (0x02, 0x03):  # value or type bound: a tag then an index or primitive
        return _leb128(data, pos + 1)[1]
    raise ValueError("unknown extern kind")


def component_names(data: bytes) -> tuple[list[str], list[str]]:
    """Top-level import and export names of a component (empty lists for a core module)."""
    imports: list[str] = []
    exports: list[str] = []
    if kind(data) != "component":
        return imports, exports
    for section in sections(data):
        if section.id not in (_IMPORT_SECTION, _EXPORT_SECTION):
            continue
        try:
            count, pos = _leb128(data, section.start)
            for _ in range(min(count, _MAX_NAMES)):
                name, pos = _name(data, pos)
                if section.id == _IMPORT_SECTION:
                    imports.append(name)
                    pos = _externdesc(data, pos)
                else:
                    exports.append(name)
                    sort = data[pos]
                    pos += 2 if sort == 0x00 else 1
                    _, pos = _leb128(data, pos)
                    has_type = data[pos]
                    pos = _externdesc(data, pos + 1) if has_type == 0x01 else pos + 1
        except (ValueError, IndexError):
            # Names are informative here; a layout we cannot read leaves them partial.
            continue
    return sorted(set(imports)), sorted(set(exports))


def inspect_component(
    path: Path, trust: TrustStore | None = None, *, reflect: bool = True
) -> Inspection:
    """Everything ``agentor tool inspect`` shows. Runs nothing from the component.

    Without an embedded manifest, a component's tools are reflected from its WIT
    types when ``reflect`` is true and wasmtime is installed (this compiles it).
    """
    data = read_bounded(path)
    wasm_kind = kind(data)
    manifest: Manifest | None = None
    manifest_error = None
    reflected = False
    try:
        manifest = embedded_manifest(data, source=str(path))
    except AgentorError as exc:
        manifest_error = exc.code
    if manifest_error == ToolkitCode.MANIFEST_MISSING and reflect and wasm_kind == "component":
        try:
            manifest = generic_subject(data, path).manifest
            reflected = True
        except AgentorError as exc:
            if exc.code != ToolkitCode.REFLECTION_UNAVAILABLE:
                manifest_error = exc.code
    sig_path = signature_path(path)
    status, signer = "unsigned", None
    if sig_path.is_file():
        try:
            document = load_signature(sig_path)
            signer = document.key_id
            verify_bytes(
                data, document, trust or TrustStore.default(), source=str(path), component=path
            )
            status = "valid"
        except AgentorError as exc:
            status = exc.code
    imports, exports = component_names(data)
    return Inspection(
        path=path,
        kind=wasm_kind,
        sha256=sha256_file_bytes(data),
        size=len(data),
        manifest=manifest,
        manifest_error=manifest_error,
        signature=status,
        signer=signer,
        imports=imports,
        exports=exports,
        reflected=reflected,
    )
