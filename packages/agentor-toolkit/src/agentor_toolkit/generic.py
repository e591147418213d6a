"""What a signature over a generic component covers: its bytes, its reflected tools, its sidecar.

A generic component (any WASI preview 2 component, no embedded manifest) has no
manifest to sign, so its *subject* stands in for one: the RFC 8785 canonical
form of ``{"sidecar": <tool.toml fields or null>, "tools": <reflected tool specs>}``.

- ``tools``: every exported function as agentor-core's ``ToolSpec`` (name,
  description, input and output JSON Schemas), reflected from its WIT types by
  the installed ``ComponentReflector``. The bytes already fix the WIT types, but
  the schemas a client and the policy see are produced by the host's reflector:
  signing them means a signature says "these bytes, served as exactly these
  tools", and a host whose reflector would present them differently refuses
  the component instead of serving tools nobody reviewed.
- ``sidecar``: ``<stem>.tool.toml`` beside the component (``calc.wasm`` →
  ``calc.tool.toml``), the operator-side manifest fields a generic component
  cannot carry itself: its name, version and requested capabilities. They are
  not in the component's bytes, so they are signed here; otherwise anyone able
  to write next to a signed component could widen what it requests. A plain
  ``tool.toml`` is not used: several components in one folder would share it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from agentor_core.canonical import canonical_json, sha256_hex
from agentor_core.capabilities import Capabilities
from agentor_core.errors import AgentorError
from agentor_core.tools import ToolSpec
from agentor_toolkit.errors import ToolkitCode
from agentor_toolkit.manifest import Manifest, ToolToml, load_tool_toml, parse_manifest
from agentor_toolkit.reflect import reflect_bytes

SIDECAR_SUFFIX: Final = ".tool.toml"


def sidecar_path(component: Path) -> Path:
    """``<stem>.tool.toml`` beside ``component``."""
    return component.with_name(component.stem + SIDECAR_SUFFIX)


def load_sidecar(component: Path) -> ToolToml | None:
    """The component's sidecar ``tool.toml``, or None when there is none."""
    path = sidecar_path(component)
    if not path.is_file():
        return None
    return load_tool_toml(path)


def default_name(component: Path) -> str:
    """A manifest name from the file name (only shown; never signed)."""
    return re.sub(r"[^A-Za-z0-9_.\-]", "_", component.stem)[:128].lstrip(".-") or "component"


@dataclass(frozen=True, slots=True)
class GenericSubject:
    """What a ``generic`` signature's ``manifest_sha256`` is computed over."""

    tools: tuple[ToolSpec, ...]
    sidecar: ToolToml | None
    manifest: Manifest
    """The manifest a host uses: name and version from the sidecar, else from the file name."""

    def canonical(self) -> bytes:
        # exclude_defaults: a field added to a model later (with its default)
        # must not change the digest of what was signed before it existed.
        return canonical_json(
            {
                "sidecar": None
                if self.sidecar is None
                else self.sidecar.model_dump(mode="json", exclude_defaults=True),
                "tools": [
                    tool.model_dump(mode="json", exclude_defaults=True) for tool in self.tools
                ],
            }
        )

    def digest(self) -> str:
        return sha256_hex(self.canonical())


def generic_subject(data: bytes, component: Path) -> GenericSubject:
    """Reflect ``data`` (the bytes of ``component``) and read its sidecar.

    Raises ``toolkit.reflection_unavailable`` without agentor-sandbox,
    ``toolkit.component_invalid`` when no export has a JSON form, and
    ``toolkit.source_invalid`` for a malformed sidecar.
    """
    reflected = reflect_bytes(data, source=str(component))
    if not reflected.tools:
        reasons = "; ".join(f"{s.name}: {s.reason}" for s in reflected.skipped[:3])
        raise AgentorError(
            ToolkitCode.COMPONENT_INVALID,
            f"{component} exports no function with a JSON form"
            + (f" ({reasons})" if reasons else ""),
            hint="export functions of plain WIT types",
        )
    sidecar = load_sidecar(component)
    manifest = parse_manifest(
        {
            "name": sidecar.tool.name if sidecar else default_name(component),
            "version": sidecar.tool.version if sidecar else "0.0.0",
            "tools": [tool.model_dump(mode="json") for tool in reflected.tools],
            "requests": (sidecar.requests if sidecar else Capabilities()).model_dump(mode="json"),
        },
        source=str(component),
    )
    return GenericSubject(tools=reflected.tools, sidecar=sidecar, manifest=manifest)
