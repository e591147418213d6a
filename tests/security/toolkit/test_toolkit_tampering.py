"""Adversarial inputs: hostile component bytes, flipped bytes, forged signatures, bad manifests."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentor_core.errors import AgentorError
from agentor_toolkit.component import (
    COMPONENT_VERSION,
    MAGIC,
    append_custom_section,
    custom_section,
    sections,
)
from agentor_toolkit.errors import ToolkitCode
from agentor_toolkit.inspection import component_names
from agentor_toolkit.manifest import SECTION_NAME, Manifest
from agentor_toolkit.signing import TrustStore, keygen, sign, verify

HEADER = MAGIC + COMPONENT_VERSION
MANIFEST = Manifest.model_validate({"name": "victim", "tools": [{"name": "t"}]})


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=256))
def test_section_parser_never_crashes(tail: bytes) -> None:
    codes = set()
    try:
        sections(HEADER + tail)
        custom_section(HEADER + tail, SECTION_NAME)
        component_names(HEADER + tail)
    except AgentorError as exc:
        codes.add(exc.code)
    assert codes <= {ToolkitCode.COMPONENT_INVALID}


def test_oversized_section_lengths_are_refused_without_reading() -> None:
    # A section claiming 2**35 bytes, and a LEB128 that never ends.
    for tail in (b"\x00\x80\x80\x80\x80\x80\x01", b"\x00" + b"\xff" * 20, b"\x00\x05\x09ab"):
        with pytest.raises(AgentorError) as caught:
            sections(HEADER + tail)
        assert caught.value.code == ToolkitCode.COMPONENT_INVALID


@pytest.fixture
def signed(tmp_path: Path) -> tuple[Path, TrustStore]:
    data = append_custom_section(HEADER, "pad", b"0123456789")
    data = append_custom_section(data, SECTION_NAME, MANIFEST.canonical())
    component = tmp_path / "c.wasm"
    component.write_bytes(data)
    private, public, _ = keygen(tmp_path / "k")
    sign(component, private)
    return component, TrustStore.from_paths([public])


def test_every_single_byte_flip_is_refused(signed: tuple[Path, TrustStore]) -> None:
    component, trust = signed
    original = component.read_bytes()
    allowed = {
        ToolkitCode.SIGNATURE_INVALID,
        ToolkitCode.COMPONENT_INVALID,
        ToolkitCode.MANIFEST_INVALID,
        ToolkitCode.MANIFEST_MISSING,
    }
    for index in range(len(original)):
        flipped = bytearray(original)
        flipped[index] ^= 0x20
        component.write_bytes(bytes(flipped))
        with pytest.raises(AgentorError) as caught:
            verify(component, trust)
        assert caught.value.code in allowed, (index, caught.value.code)


def test_forged_signature_files(signed: tuple[Path, TrustStore], tmp_path: Path) -> None:
    component, trust = signed
    sig = component.with_name(component.name + ".sig")
    good = json.loads(sig.read_text())
    forgeries = [
        # An attacker's own key named with the trusted key's id.
        {**good, "public_key": base64.b64encode(b"\x01" * 32).decode()},
        {**good, "signature": base64.b64encode(b"\x00" * 64).decode()},
        {**good, "signature": "!!notbase64"},
        {**good, "algorithm": "rsa"},
        {**good, "extra": 1},
        {**good, "component_sha256": "0" * 64},
    ]
    for forged in forgeries:
        sig.write_text(json.dumps(forged))
        with pytest.raises(AgentorError) as caught:
            verify(component, trust)
        assert caught.value.code in {
            ToolkitCode.SIGNATURE_INVALID,
            ToolkitCode.SIGNATURE_MALFORMED,
        }
    sig.write_bytes(b"{" * 100_000)
    with pytest.raises(AgentorError) as caught:
        verify(component, trust)
    assert caught.value.code == ToolkitCode.SIGNATURE_MALFORMED


def test_hostile_manifest_in_the_section_is_refused() -> None:
    for payload in (
        b'{"name": "../../etc", "tools": []}',
        b'{"name": "x", "requests": {"filesystem": [{"guest_path": "/a/../.."}]}}',
        b'{"name": "x", "tools": [{"name": "t"}, {"name": "t"}]}',
        b"[" * 10_000,
    ):
        data = append_custom_section(HEADER, SECTION_NAME, payload)
        from agentor_toolkit.component import embedded_manifest

        with pytest.raises(AgentorError) as caught:
            embedded_manifest(data, source="hostile")
        assert caught.value.code == ToolkitCode.MANIFEST_INVALID
