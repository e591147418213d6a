"""keygen, sign, verify, trust: tampering and over-broad requests fail with clear codes."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from agentor_core.capabilities import Capabilities, NetworkDestination, PathAccess
from agentor_core.errors import AgentorError
from agentor_toolkit.component import (
    COMPONENT_VERSION,
    MAGIC,
    append_custom_section,
    custom_section,
    embedded_manifest,
)
from agentor_toolkit.errors import ToolkitCode
from agentor_toolkit.grants import check_grant
from agentor_toolkit.inspection import inspect_component
from agentor_toolkit.manifest import SECTION_NAME, Manifest
from agentor_toolkit.signing import (
    TrustStore,
    keygen,
    load_signature,
    sign,
    signature_path,
    verify,
)

MANIFEST = Manifest.model_validate(
    {
        "name": "demo",
        "version": "1.0.0",
        "tools": [{"name": "echo", "description": "Echo."}],
        "requests": {
            "filesystem": [{"guest_path": "/data"}],
            "network": [{"host": "api.example.com"}],
        },
    }
)


def _component(tmp_path: Path, manifest: Manifest = MANIFEST) -> Path:
    # A real component header plus a custom section is a well-formed component
    # as far as signing is concerned; the build tests use a compiled one.
    data = MAGIC + COMPONENT_VERSION + append_custom_section(b"", "other", b"x")
    data = append_custom_section(data, SECTION_NAME, manifest.canonical())
    path = tmp_path / "demo.wasm"
    path.write_bytes(data)
    return path


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    private, public, _ = keygen(tmp_path / "keys" / "signer")
    return private, public


def _code(exc: pytest.ExceptionInfo[AgentorError]) -> str:
    return exc.value.code


def test_keygen_writes_private_key_0600_and_refuses_overwrite(tmp_path: Path) -> None:
    private, public, kid = keygen(tmp_path / "k")
    assert public.name == "k.pub"
    assert len(kid) == 16
    if os.name == "posix":
        assert stat.S_IMODE(private.stat().st_mode) == 0o600
    with pytest.raises(AgentorError) as caught:
        keygen(tmp_path / "k")
    assert _code(caught) == ToolkitCode.KEY_EXISTS
    assert keygen(tmp_path / "k", force=True)[2] != kid


def test_sign_then_verify(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    component = _component(tmp_path)
    sig, document = sign(component, keys[0])
    assert sig == signature_path(component)
    assert load_signature(sig) == document
    verified = verify(component, TrustStore.from_paths([keys[1]]))
    assert verified.manifest == MANIFEST
    assert verified.manifest_sha256 == MANIFEST.digest()
    # A folder of .pub files is a trust store too.
    assert verify(component, TrustStore.from_paths([keys[1].parent])).key_id == document.key_id


def test_flipped_byte_in_component_fails(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    component = _component(tmp_path)
    sign(component, keys[0])
    data = bytearray(component.read_bytes())
    data[12] ^= 0x01  # inside the first custom section's payload
    component.write_bytes(bytes(data))
    with pytest.raises(AgentorError) as caught:
        verify(component, TrustStore.from_paths([keys[1]]))
    assert _code(caught) == ToolkitCode.SIGNATURE_INVALID
    assert "component's bytes" in caught.value.message


def test_flipped_byte_in_manifest_fails(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    component = _component(tmp_path)
    sign(component, keys[0])
    trust = TrustStore.from_paths([keys[1]])
    # What the component describes at run time differs from what was signed.
    described = MANIFEST.model_copy(update={"version": "1.0.1"})
    with pytest.raises(AgentorError) as caught:
        verify(component, trust, manifest=described)
    assert _code(caught) == ToolkitCode.SIGNATURE_INVALID
    assert "manifest" in caught.value.message
    # A manifest byte flipped inside the component: the embedded JSON no longer parses
    # canonically, or the hash no longer matches; either way it is refused.
    data = component.read_bytes()
    payload = custom_section(data, SECTION_NAME)
    assert payload is not None
    flipped = data.replace(b'"demo"', b'"dema"')
    component.write_bytes(flipped)
    with pytest.raises(AgentorError) as caught:
        verify(component, trust)
    assert _code(caught) == ToolkitCode.SIGNATURE_INVALID


def test_flipped_signature_and_malformed_file(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    component = _component(tmp_path)
    sig, document = sign(component, keys[0])
    trust = TrustStore.from_paths([keys[1]])
    raw = json.loads(sig.read_text())
    raw["signature"] = ("B" if raw["signature"][0] == "A" else "A") + raw["signature"][1:]
    sig.write_text(json.dumps(raw))
    with pytest.raises(AgentorError) as caught:
        verify(component, trust)
    assert _code(caught) == ToolkitCode.SIGNATURE_INVALID
    sig.write_text("{not json")
    with pytest.raises(AgentorError) as caught:
        verify(component, trust)
    assert _code(caught) == ToolkitCode.SIGNATURE_MALFORMED
    assert document.key_id


def test_unsigned_and_untrusted(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    component = _component(tmp_path)
    trust = TrustStore.from_paths([keys[1]])
    with pytest.raises(AgentorError) as caught:
        verify(component, trust)
    assert _code(caught) == ToolkitCode.UNSIGNED
    other, _, _ = keygen(tmp_path / "other")
    sign(component, other)
    with pytest.raises(AgentorError) as caught:
        verify(component, trust)
    assert _code(caught) == ToolkitCode.UNTRUSTED_KEY
    with pytest.raises(AgentorError) as caught:
        verify(component, TrustStore())
    assert _code(caught) == ToolkitCode.UNTRUSTED_KEY


def test_bad_keys(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.pem"
    bogus.write_text("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    with pytest.raises(AgentorError) as caught:
        sign(_component(tmp_path), bogus)
    assert _code(caught) == ToolkitCode.KEY_INVALID
    with pytest.raises(AgentorError) as caught:
        TrustStore.from_paths([bogus])
    assert _code(caught) == ToolkitCode.KEY_INVALID


def test_requests_beyond_grant_are_refused_with_the_difference() -> None:
    grant = Capabilities(
        filesystem=(PathAccess(guest_path="/data", host_path="/srv/data"),),
        network=(NetworkDestination(host="api.example.com"),),
    )
    check_grant(MANIFEST, grant)
    with pytest.raises(AgentorError) as caught:
        check_grant(MANIFEST, Capabilities(filesystem=grant.filesystem))
    assert _code(caught) == ToolkitCode.CAPABILITIES_EXCEED_GRANT
    assert "network: GET,HEAD https://api.example.com:443/" in caught.value.message
    assert "filesystem" not in caught.value.message


def test_inspect_reports_manifest_and_signature(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    component = _component(tmp_path)
    found = inspect_component(component, TrustStore.from_paths([keys[1]]))
    assert found.signature == "unsigned"
    assert found.manifest == MANIFEST
    sign(component, keys[0])
    found = inspect_component(component, TrustStore.from_paths([keys[1]]))
    assert found.signature == "valid"
    document = found.as_json()
    assert document["tools"][0]["name"] == "echo"
    assert document["requests"]["filesystem"] == [{"guest_path": "/data"}]
    assert inspect_component(component, TrustStore()).signature == ToolkitCode.UNTRUSTED_KEY


def test_component_framing_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.wasm"
    for data in (
        b"",
        b"\x00asm\x01",
        b"ELF\x00\x00\x00\x00\x00",
        MAGIC + COMPONENT_VERSION + b"\x00\xff",
    ):
        bad.write_bytes(data)
        with pytest.raises(AgentorError) as caught:
            inspect_component(bad)
        assert _code(caught) == ToolkitCode.COMPONENT_INVALID
    bare = MAGIC + COMPONENT_VERSION
    with pytest.raises(AgentorError) as caught:
        embedded_manifest(bare, source="bare")
    assert _code(caught) == ToolkitCode.MANIFEST_MISSING
    edited = append_custom_section(bare, SECTION_NAME, b'{"name": "x"}')
    with pytest.raises(AgentorError) as caught:
        embedded_manifest(edited, source="edited")
    assert _code(caught) == ToolkitCode.MANIFEST_INVALID


def test_manifest_refuses_host_paths_and_env_values() -> None:
    with pytest.raises(ValueError, match="guest paths only"):
        Manifest.model_validate(
            {"name": "x", "requests": {"filesystem": [{"guest_path": "/a", "host_path": "/etc"}]}}
        )
    with pytest.raises(ValueError, match="environment variables only"):
        Manifest.model_validate({"name": "x", "requests": {"env": [{"name": "A", "value": "1"}]}})


def test_admission_requires_trusted_signature_and_a_covering_grant(
    tmp_path: Path, keys: tuple[Path, Path]
) -> None:
    from agentor_toolkit.admission import admit

    component = _component(tmp_path)
    trust = TrustStore.from_paths([keys[1]])
    grant = Capabilities(
        filesystem=(PathAccess(guest_path="/", host_path="/srv"),),
        network=(NetworkDestination(host="*.example.com"),),
    )
    with pytest.raises(AgentorError) as caught:
        admit(component, grant, trust=trust)
    assert _code(caught) == ToolkitCode.UNSIGNED
    assert admit(component, grant, trust=trust, require_signature=False).signer is None
    sign(component, keys[0])
    admitted = admit(component, grant, trust=trust)
    assert admitted.manifest == MANIFEST
    assert admitted.signer is not None
    with pytest.raises(AgentorError) as caught:
        admit(component, Capabilities(), trust=trust)
    assert _code(caught) == ToolkitCode.CAPABILITIES_EXCEED_GRANT
    with pytest.raises(AgentorError) as caught:
        admit(component, grant, trust=trust, described=MANIFEST.model_copy(update={"name": "x"}))
    assert _code(caught) == ToolkitCode.SIGNATURE_INVALID
