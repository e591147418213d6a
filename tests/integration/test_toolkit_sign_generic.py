"""Signing generic WIT components: their bytes, reflected tools and sidecar tool.toml.

Reflection needs agentor-sandbox's ComponentReflector, so this runs with both.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
import wasmtime
from click.testing import CliRunner

from agentor_cli.app import cli
from agentor_core.capabilities import Capabilities
from agentor_core.errors import AgentorError
from agentor_toolkit.admission import admit
from agentor_toolkit.errors import ToolkitCode
from agentor_toolkit.generic import generic_subject, sidecar_path
from agentor_toolkit.inspection import inspect_component
from agentor_toolkit.signing import (
    TrustStore,
    keygen,
    load_signature,
    sign,
    signature_path,
    verify,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sandbox"))

from sandbox_fixtures import build_generic

FIXTURES = Path(__file__).parent.parent / "toolkit" / "fixtures"
SIDECAR = """
[tool]
name = "shapes"
version = "1.2.0"

[[requests.filesystem]]
guest_path = "/data"
"""


def _wat(name: str, tmp_path: Path) -> Path:
    path = tmp_path / f"{name}.wasm"
    path.write_bytes(bytes(wasmtime.wat2wasm((FIXTURES / f"{name}.wat").read_text())))
    return path


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, TrustStore]:
    private, public, _kid = keygen(tmp_path / "keys" / "publisher")
    return private, TrustStore.from_paths([public])


def _code(excinfo: pytest.ExceptionInfo[AgentorError]) -> str:
    return str(excinfo.value.code)


def test_sign_then_verify_a_generic_component(
    tmp_path: Path, keys: tuple[Path, TrustStore]
) -> None:
    private, trust = keys
    component = _wat("generic", tmp_path)
    path, document = sign(component, private)
    assert path == signature_path(component)
    assert (document.format, document.kind) == ("agentor-signature/2", "generic")
    assert json.loads(path.read_text())["kind"] == "generic"
    verified = verify(component, trust)
    assert verified.kind == "generic"
    assert verified.manifest_sha256 == generic_subject(component.read_bytes(), component).digest()
    assert sorted(t.name for t in verified.manifest.tools) == [
        "area",
        "check",
        "dist",
        "greet",
        "origin",
        "paint",
        "total",
    ]
    found = inspect_component(component, trust)
    assert (found.signature, found.reflected) == ("valid", True)


def test_a_flipped_byte_fails(tmp_path: Path, keys: tuple[Path, TrustStore]) -> None:
    private, trust = keys
    component = _wat("generic", tmp_path)
    sign(component, private)
    data = bytearray(component.read_bytes())
    data[len(data) // 2] ^= 0x01
    component.write_bytes(bytes(data))
    with pytest.raises(AgentorError) as excinfo:
        verify(component, trust)
    assert _code(excinfo) == ToolkitCode.SIGNATURE_INVALID
    assert "the component's bytes" in excinfo.value.message


def test_a_signature_for_one_component_does_not_verify_another(
    tmp_path: Path, keys: tuple[Path, TrustStore]
) -> None:
    private, trust = keys
    first = _wat("generic", tmp_path)
    second = _wat("generic_instance", tmp_path)
    sign(first, private)
    shutil.copyfile(signature_path(first), signature_path(second))
    with pytest.raises(AgentorError) as excinfo:
        verify(second, trust)
    assert _code(excinfo) == ToolkitCode.SIGNATURE_INVALID


def test_the_sidecar_is_signed_and_its_requests_checked(
    tmp_path: Path, keys: tuple[Path, TrustStore]
) -> None:
    private, trust = keys
    component = _wat("generic", tmp_path)
    sidecar_path(component).write_text(SIDECAR, encoding="utf-8")
    sign(component, private)
    admitted = admit(component, None, trust=trust)
    assert (admitted.manifest.name, admitted.manifest.version) == ("shapes", "1.2.0")
    assert admitted.generic
    # Requests beyond the grant are refused, listing the difference.
    with pytest.raises(AgentorError) as excinfo:
        admit(component, Capabilities(), trust=trust)
    assert _code(excinfo) == ToolkitCode.CAPABILITIES_EXCEED_GRANT
    # Widening the requests after signing is tampering, not a new manifest.
    sidecar_path(component).write_text(
        SIDECAR + '\n[[requests.filesystem]]\nguest_path = "/etc"\n', encoding="utf-8"
    )
    with pytest.raises(AgentorError) as excinfo:
        verify(component, trust)
    assert _code(excinfo) == ToolkitCode.SIGNATURE_INVALID
    assert "sidecar" in excinfo.value.message
    # Removing it is a change too.
    sidecar_path(component).unlink()
    with pytest.raises(AgentorError):
        verify(component, trust)


def test_unsigned_generic_is_refused_when_required_and_untrusted_reported(
    tmp_path: Path, keys: tuple[Path, TrustStore]
) -> None:
    private, _trust = keys
    component = _wat("generic", tmp_path)
    with pytest.raises(AgentorError) as excinfo:
        admit(component, None, trust=TrustStore())
    assert _code(excinfo) == ToolkitCode.UNSIGNED
    assert admit(component, None, require_signature=False).generic
    sign(component, private)
    with pytest.raises(AgentorError) as excinfo:
        verify(component, TrustStore())
    assert _code(excinfo) == ToolkitCode.UNTRUSTED_KEY


def test_version_1_signatures_keep_their_format(tmp_path: Path) -> None:
    document = {
        "format": "agentor-signature/1",
        "algorithm": "ed25519",
        "key_id": "0" * 16,
        "public_key": "AA==",
        "component_sha256": "a" * 64,
        "manifest_sha256": "b" * 64,
        "signature": "AA==",
    }
    path = tmp_path / "old.sig"
    path.write_text(json.dumps(document), encoding="utf-8")
    loaded = load_signature(path)
    assert loaded.kind is None
    assert loaded.document() == document
    for bad in ({**document, "kind": "generic"}, {**document, "format": "agentor-signature/2"}):
        path.write_text(json.dumps(bad), encoding="utf-8")
        with pytest.raises(AgentorError) as excinfo:
            load_signature(path)
        assert _code(excinfo) == ToolkitCode.SIGNATURE_MALFORMED


# -- through the CLI: sign, verify, inspect, call --require-signed, serve -----------------

POLICY = """
version = 1
[[tool]]
id = "color"
name = "next-color"
[tool.args.c]
type = "string"
required = true
"""


def _run(*args: str) -> tuple[int, Any]:
    result = CliRunner().invoke(cli, [*args, "--json"])
    return result.exit_code, json.loads(result.stdout)


@pytest.fixture
def box(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AGENTOR_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("AGENTOR_CONFIG_DIR", str(tmp_path / "config"))
    (tmp_path / "policy.toml").write_text(POLICY, encoding="utf-8")
    shutil.copyfile(build_generic(), tmp_path / "signed.wasm")
    shutil.copyfile(build_generic(), tmp_path / "unsigned.wasm")
    code, out = _run("tool", "keygen", str(tmp_path / "publisher"))
    assert code == 0, out
    code, out = _run(
        "tool", "sign", str(tmp_path / "signed.wasm"), "--key", str(tmp_path / "publisher")
    )
    assert code == 0, out
    assert out["kind"] == "generic"
    return tmp_path


def test_cli_verifies_inspects_and_calls_a_signed_generic_component(box: Path) -> None:
    trust = ("--trust", str(box / "publisher.pub"))
    code, out = _run("tool", "verify", str(box / "signed.wasm"), *trust)
    assert (code, out["kind"]) == (0, "generic"), out
    code, out = _run("tool", "inspect", str(box / "signed.wasm"), *trust)
    assert (code, out["signature"]["status"], out["reflected"]) == (0, "valid", True), out
    call = ("next-color", "--args", '{"c": "red"}', "--require-signed", *trust)
    code, out = _run("tool", "call", str(box / "signed.wasm"), *call)
    assert code == 0, out
    assert out["result"]["content"][0]["data"] == {"result": "green"}
    code, out = _run("tool", "call", str(box / "unsigned.wasm"), *call)
    assert (code, out["error"]["code"]) == (1, "toolkit.unsigned")


def _serve(box: Path, wasm: str) -> tuple[int, Any]:
    config = box / "agentor.toml"
    config.write_text(
        'version = 1\n[policy]\nfile = "policy.toml"\n'
        f'[audit]\npath = "{box / "audit.db"}"\n'
        '[toolbox]\nrequire_signed = true\ntrusted_keys = ["publisher.pub"]\n'
        f'[[tools]]\nfile = "{wasm}"\n',
        encoding="utf-8",
    )
    return _run(
        *("serve", "--config", str(config), "--check", "--no-reload"),
        *("--check-tool", "next-color", "--check-args", '{"c": "red"}'),
    )


def test_serve_requiring_signatures_lists_a_signed_generic_component(box: Path) -> None:
    code, out = _serve(box, "signed.wasm")
    assert code == 0, out
    assert {"next-color", "divide", "move-point"} <= set(out["tools"])
    assert out["call"]["structured_content"] == {"result": "green"}


def test_serve_requiring_signatures_refuses_an_unsigned_generic_component(box: Path) -> None:
    code, out = _serve(box, "unsigned.wasm")
    assert code == 1
    assert out["error"]["code"] == "toolkit.unsigned"
    assert "unsigned" in out["error"]["message"]
