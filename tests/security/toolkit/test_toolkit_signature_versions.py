"""Signature version confusion: a signature of one version never passes as the other.

Version 1 (embedded manifest) and version 2 (`generic`) sign different messages
(their purpose strings differ), so relabelling a signature file's format or
kind, with the same signature bytes, must fail as tampering, never verify.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import wasmtime

from agentor_core.errors import AgentorError
from agentor_core.paths import cache_dir
from agentor_toolkit.build import build_cached
from agentor_toolkit.errors import ToolkitCode
from agentor_toolkit.signing import TrustStore, keygen, sign, signature_path, verify

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "toolkit" / "fixtures"
CALCULATOR = ROOT / "examples" / "tools" / "calculator"


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, TrustStore]:
    private, public, _kid = keygen(tmp_path / "keys" / "k")
    return private, TrustStore.from_paths([public])


def _relabel(component: Path, **changes: object) -> None:
    path = signature_path(component)
    document = json.loads(path.read_text(encoding="utf-8"))
    document.update(changes)
    document = {k: v for k, v in document.items() if v is not None}
    path.write_text(json.dumps(document), encoding="utf-8")


def test_a_generic_signature_relabelled_as_version_1_fails(
    tmp_path: Path, keys: tuple[Path, TrustStore]
) -> None:
    private, trust = keys
    component = tmp_path / "generic.wasm"
    component.write_bytes(bytes(wasmtime.wat2wasm((FIXTURES / "generic.wat").read_text())))
    sign(component, private)
    _relabel(component, format="agentor-signature/1", kind=None)
    with pytest.raises(AgentorError) as excinfo:
        verify(component, trust)
    # Version 1 needs an embedded manifest: a generic component has none to match.
    assert excinfo.value.code in {ToolkitCode.MANIFEST_MISSING, ToolkitCode.SIGNATURE_INVALID}


def test_a_version_1_signature_relabelled_as_generic_fails(
    tmp_path: Path, keys: tuple[Path, TrustStore]
) -> None:
    private, trust = keys
    component = tmp_path / "calculator.wasm"
    component.write_bytes(
        build_cached(CALCULATOR, cache_dir() / "test-fixtures" / "toolkit").path.read_bytes()
    )
    sign(component, private)
    verify(component, trust)  # a sound version-1 signature first
    _relabel(component, format="agentor-signature/2", kind="generic")
    with pytest.raises(AgentorError) as excinfo:
        verify(component, trust)
    assert excinfo.value.code == ToolkitCode.SIGNATURE_INVALID
