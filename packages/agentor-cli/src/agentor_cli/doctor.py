"""The checks behind ``agentor doctor``: what is installed, what is missing, how to fix it."""

from __future__ import annotations

import os
import platform
import sys
from enum import StrEnum
from importlib import metadata
from pathlib import Path
from typing import Final

from pydantic import BaseModel, ConfigDict

from agentor_core import discovery, paths

MIN_PYTHON: Final = (3, 11)
MIN_WASMTIME: Final = (50, 0, 1)
"""wasmtime releases before 50.0.1 on PyPI carry published sandbox-escape and WASI advisories."""

DISTRIBUTIONS: Final = (
    ("agentor-core", "interfaces and domain models"),
    ("agentor-cli", "the agentor command"),
    ("agentor-sandbox", "runs tools in WebAssembly sandboxes"),
    ("agentor-egress", "the only road out: allowlist and SSRF defence"),
    ("agentor-secrets", "secret stores; values never reach a tool"),
    ("agentor-toolkit", "build, sign and inspect tools"),
    ("agentor-policy", "deterministic decisions and approvals"),
    ("agentor-audit", "tamper-evident audit log"),
    ("agentor-mcp-bridge", "MCP server and proxy"),
    ("agentor-llm-providers", "language model providers"),
    ("agentor-memory", "sessions and long-term memory"),
    ("agentor-runtime", "the agent loop"),
    ("agentor-compliance", "evidence and SBOMs"),
)


class Status(StrEnum):
    OK = "ok"
    INFO = "info"
    """Not a problem now; something optional is absent."""
    WARN = "warn"
    """Works, but something an operator should know about or fix."""
    ERROR = "error"
    """agentor cannot work safely until this is fixed."""


class Check(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    area: str
    name: str
    status: Status
    detail: str
    fix: str | None = None


def _version_tuple(text: str) -> tuple[int, ...]:
    # Leading digits of each release segment only, stopping at the first
    # suffix: "50.0.0rc1" is (50, 0, 0), a pre-release of 50.0.0, not 50.0.1.
    parts = []
    for piece in text.split("."):
        digits = piece[: len(piece) - len(piece.lstrip("0123456789"))]
        if not digits:
            break
        parts.append(int(digits))
        if len(digits) != len(piece):
            break
    return tuple(parts)


def check_python() -> Check:
    version = platform.python_version()
    if sys.version_info[:2] < MIN_PYTHON:
        return Check(
            area="python",
            name="python",
            status=Status.ERROR,
            detail=f"Python {version} at {sys.executable}",
            fix="install Python 3.11 or newer",
        )
    return Check(
        area="python",
        name="python",
        status=Status.OK,
        detail=f"Python {version} ({platform.python_implementation()}) at {sys.executable}",
    )


def check_wasmtime() -> Check:
    try:
        version = metadata.version("wasmtime")
    except metadata.PackageNotFoundError:
        return Check(
            area="runtime",
            name="wasmtime",
            status=Status.INFO,
            detail="not installed; tools cannot run in a sandbox without it",
            fix="pip install agentor-sandbox (it brings wasmtime>=50.0.1)",
        )
    if _version_tuple(version) < MIN_WASMTIME:
        return Check(
            area="runtime",
            name="wasmtime",
            status=Status.ERROR,
            detail=f"wasmtime {version} has published sandbox-escape and WASI advisories",
            fix="pip install 'wasmtime>=50.0.1'",
        )
    return Check(area="runtime", name="wasmtime", status=Status.OK, detail=f"wasmtime {version}")


def check_distributions() -> list[Check]:
    installed = {d.name: d.version for d in discovery.installed_distributions()}
    known = {name for name, _ in DISTRIBUTIONS}
    checks = []
    for name, purpose in DISTRIBUTIONS:
        if name in installed:
            checks.append(
                Check(
                    area="distributions",
                    name=name,
                    status=Status.OK,
                    detail=f"{installed[name]}: {purpose}",
                )
            )
        else:
            checks.append(
                Check(
                    area="distributions",
                    name=name,
                    status=Status.INFO,
                    detail=f"not installed: {purpose}",
                    fix=f"pip install {name}",
                )
            )
    checks.extend(
        Check(
            area="distributions",
            name=name,
            status=Status.WARN,
            detail=f"{version}: not an official agentor distribution; it can register plugins",
            fix=f"pip uninstall {name} unless you installed it on purpose",
        )
        for name, version in installed.items()
        if name not in known
    )
    return checks


def check_interfaces() -> list[Check]:
    checks = []
    for info in discovery.INTERFACES:
        found = discovery.implementations(info.interface)
        name = info.interface.__name__
        if not found:
            checks.append(
                Check(
                    area="interfaces",
                    name=name,
                    status=Status.INFO,
                    detail=f"no implementation ({info.group})",
                    fix=f"pip install {info.distribution}",
                )
            )
            continue
        listed = ", ".join(f"{impl.name} from {impl.distribution}" for impl in found)
        checks.append(Check(area="interfaces", name=name, status=Status.OK, detail=listed))
    return checks


def _check_dir(kind: paths.Kind) -> Check:
    path = paths.user_dir(kind)
    name = f"{kind} directory"
    if not path.exists():
        parent = next((p for p in path.parents if p.exists()), Path("/"))
        if os.access(parent, os.W_OK):
            return Check(
                area="directories",
                name=name,
                status=Status.OK,
                detail=f"{path} (created with mode 0700 on first use)",
            )
        return Check(
            area="directories",
            name=name,
            status=Status.ERROR,
            detail=f"{path} does not exist and {parent} is not writable",
            fix=f"set AGENTOR_{kind.upper()}_DIR to a writable folder",
        )
    if not path.is_dir():
        return Check(
            area="directories",
            name=name,
            status=Status.ERROR,
            detail=f"{path} exists but is not a directory",
            fix=f"remove it or set AGENTOR_{kind.upper()}_DIR elsewhere",
        )
    if not os.access(path, os.W_OK):
        return Check(
            area="directories",
            name=name,
            status=Status.ERROR,
            detail=f"{path} is not writable",
            fix=f"fix its ownership or set AGENTOR_{kind.upper()}_DIR",
        )
    mode = path.stat().st_mode & 0o777
    if os.name == "posix" and mode & 0o022:
        return Check(
            area="directories",
            name=name,
            status=Status.ERROR,
            detail=f"{path} is writable by group or others (mode {mode:o})",
            fix=f"chmod 700 {path}",
        )
    return Check(area="directories", name=name, status=Status.OK, detail=f"{path} (mode {mode:o})")


def check_directories() -> list[Check]:
    return [_check_dir("cache"), _check_dir("state"), _check_dir("config")]


def run_all() -> list[Check]:
    return [
        check_python(),
        check_wasmtime(),
        *check_distributions(),
        *check_interfaces(),
        *check_directories(),
    ]
