"""Generic components as tools: each exported WIT function becomes a tool with a JSON Schema.

For components written without our SDK (Rust, JavaScript, Go…). The mapping
from WIT types to JSON (documented in ``agentor_sandbox.witjson``) belongs to
the sandbox, which also converts the values when it calls such a component: one
implementation, so a schema shown here is exactly what a call accepts. This
distribution reaches it only through the ``ComponentReflector`` interface of
agentor-core (``pip install 'agentor-toolkit[components]'`` installs
agentor-sandbox, which provides it); nothing is instantiated or run.
"""

from __future__ import annotations

import re
from pathlib import Path

from agentor_core.components import ComponentReflection
from agentor_core.discovery import create
from agentor_core.errors import AgentorError, CoreCode
from agentor_core.interfaces import ComponentReflector
from agentor_toolkit.component import kind, read_bounded
from agentor_toolkit.errors import ToolkitCode
from agentor_toolkit.manifest import Manifest


def reflector() -> ComponentReflector:
    try:
        return create(ComponentReflector)  # type: ignore[type-abstract]
    except AgentorError as exc:
        if exc.code != CoreCode.IMPLEMENTATION_MISSING:
            raise
        raise AgentorError(
            ToolkitCode.REFLECTION_UNAVAILABLE,
            "no component reflector is installed, so generic components cannot be reflected",
            hint="pip install 'agentor-toolkit[components]' (it brings agentor-sandbox)",
        ) from None


def reflect_bytes(data: bytes, *, source: str = "component") -> ComponentReflection:
    """Every exported function of the component ``data`` (and of its exported instances).

    A function whose types have no JSON form (resources, streams) is skipped and
    named in ``skipped`` with the reason; the others still become tools.
    """
    if kind(data) != "component":
        raise AgentorError(
            ToolkitCode.COMPONENT_INVALID,
            f"{source} is a core module, not a component: it has no WIT types to reflect",
            hint="run a WASI preview 1 module as a command tool (JSON on stdin and stdout)",
        )
    found = reflector()
    try:
        reflection = found.reflect(data, source=source)
    except AgentorError as exc:
        raise AgentorError(
            ToolkitCode.COMPONENT_INVALID, exc.message, hint=exc.error.hint
        ) from None
    if not isinstance(reflection, ComponentReflection):
        raise AgentorError(
            CoreCode.IMPLEMENTATION_BROKEN,
            "the component reflector returned something other than a ComponentReflection",
            hint="reinstall agentor-sandbox",
        )
    return reflection


def reflect_component(path: Path) -> Manifest:
    """A manifest for a generic component: its exports as tools, requesting nothing."""
    reflected = reflect_bytes(read_bounded(path), source=str(path))
    if not reflected.tools:
        reasons = "; ".join(f"{s.name}: {s.reason}" for s in reflected.skipped[:3])
        raise AgentorError(
            ToolkitCode.COMPONENT_INVALID,
            f"{path} exports no function with a JSON form" + (f" ({reasons})" if reasons else ""),
            hint="export functions of plain WIT types",
        )
    name = re.sub(r"[^A-Za-z0-9_.\-]", "_", path.stem)[:128].lstrip(".-") or "component"
    return Manifest(name=name, version="0.0.0", tools=reflected.tools)
