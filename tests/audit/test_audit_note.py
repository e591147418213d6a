"""C2SP signed notes and checkpoints, including the golang.org/x/mod/sumdb/note example key."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime

import pytest

from agentor_audit.note import (
    EM_DASH,
    Checkpoint,
    NoteSigner,
    NoteVerifier,
    key_id,
    open_note,
    verify_checkpoint,
)
from agentor_core.errors import AgentorError

# The example key pair and signed note published with the Go note package.
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)


def test_go_example_key_decodes_to_its_published_verifier() -> None:
    signer = NoteSigner.decode(GO_SKEY)
    assert signer.verifier.encode() == GO_VKEY
    assert NoteVerifier.decode(GO_VKEY) == signer.verifier


def test_key_id_is_sha256_of_name_newline_alg_key() -> None:
    verifier = NoteVerifier.decode(GO_VKEY)
    expected = hashlib.sha256(b"PeterNeumann\n\x01" + verifier.public).digest()[:4]
    assert key_id("PeterNeumann", verifier.public) == expected == bytes.fromhex("c74f20a3")


def test_signature_line_is_em_dash_name_keyid_signature() -> None:
    signer = NoteSigner.decode(GO_SKEY)
    note = Checkpoint(origin="example.com/log", size=3, root=bytes(32)).sign(signer)
    body, _, sig = note.partition("\n\n")
    line = sig.removesuffix("\n")
    dash, name, blob = line.split(" ")
    assert dash == EM_DASH
    assert name == "PeterNeumann"
    raw = base64.b64decode(blob)
    assert raw[:4] == bytes.fromhex("c74f20a3")
    assert len(raw) == 68
    assert signer.verifier.verify((body + "\n").encode(), raw[4:])


def test_checkpoint_round_trip_and_body_layout() -> None:
    signer = NoteSigner.generate("example.com/audit")
    when = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    checkpoint = Checkpoint(origin="example.com/audit/1", size=42, root=bytes(range(32)), time=when)
    note = checkpoint.sign(signer)
    lines = note.split("\n")
    assert lines[:4] == [
        "example.com/audit/1",
        "42",
        base64.b64encode(bytes(range(32))).decode(),
        "time 2026-11-27T12:00:00Z",
    ]
    assert verify_checkpoint(note, signer.verifier) == checkpoint


def test_altered_text_or_other_key_is_not_trusted() -> None:
    signer = NoteSigner.generate("example.com/audit")
    other = NoteSigner.generate("example.com/audit")
    note = Checkpoint(origin="o", size=1, root=bytes(32)).sign(signer)
    with pytest.raises(AgentorError) as excinfo:
        verify_checkpoint(note.replace("\n1\n", "\n2\n"), signer.verifier)
    assert excinfo.value.code == "audit.checkpoint_invalid"
    opened = open_note(note, (other.verifier,))
    # Same name, different key: the key ID differs, so the line is simply not ours.
    assert opened.verified_by == ()
    assert opened.unverified == 1
    with pytest.raises(AgentorError):
        verify_checkpoint(note, other.verifier)


@pytest.mark.parametrize(
    "note",
    [
        "",
        "no blank line\n",
        "o\n1\nAAAA\n\nnot a signature\n",
        "o\n1\nAAAA\n\n\u2014 name !!!!\n",
        "o\n1\x07\nAAAA\n\n\u2014 name AAAAAAAA\n",
    ],
)
def test_malformed_notes_fail_closed(note: str) -> None:
    signer = NoteSigner.generate("n")
    with pytest.raises(AgentorError) as excinfo:
        verify_checkpoint(note, signer.verifier)
    assert excinfo.value.code == "audit.checkpoint_invalid"


@pytest.mark.parametrize("text", ["", "a+b", "x+12345678+AAAA", "PRIVATE+KEY+a+b+c"])
def test_bad_verifier_keys_are_refused(text: str) -> None:
    with pytest.raises(AgentorError) as excinfo:
        NoteVerifier.decode(text)
    assert excinfo.value.code == "audit.key_invalid"
