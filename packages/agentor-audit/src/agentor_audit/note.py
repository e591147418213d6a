"""C2SP signed notes (https://c2sp.org/signed-note) and checkpoints (https://c2sp.org/tlog-checkpoint).

A note is UTF-8 text ending in a newline, then a blank line, then signature lines
``— <key name> <base64(key ID || signature)>``. The Ed25519 key ID is the first
four bytes of SHA-256(key name || 0x0A || 0x01 || public key). A checkpoint is
a note whose text is the origin, the decimal tree size and the base64 root
hash, each on its own line, followed by optional extension lines (we add one,
``time <RFC 3339 UTC>``).

Key strings use the golang.org/x/mod/sumdb/note encoding so other tools can read them:
verifier ``<name>+<hex key ID>+<base64(0x01 || public key)>``, signer
``PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 || seed)>``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from agentor_audit.codes import AuditCode
from agentor_audit.merkle import HASH_SIZE
from agentor_core.errors import AgentorError

ALG_ED25519: Final = 0x01
EM_DASH: Final = "\u2014"
MAX_NOTE_BYTES: Final = 1_000_000
"""Notes larger than this are refused unread (the signed-note spec recommends a bound)."""
MAX_SIGNATURES: Final = 100
_NAME_RE: Final = re.compile(r"^[^\s+]+$")
_ORIGIN_RE: Final = re.compile(r"^[\x21-\x7e][\x20-\x7e]{0,254}$")
_SIZE_RE: Final = re.compile(r"^(0|[1-9][0-9]{0,19})$")


def key_id(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([ALG_ED25519]) + public).digest()[:4]


def _check_name(name: str) -> str:
    if not name or not _NAME_RE.fullmatch(name) or len(name) > 256:
        raise AgentorError(
            AuditCode.KEY_INVALID,
            "a key name must be 1-256 characters without spaces or '+'",
            hint="use a schema-less URL such as example.com/agentor-audit",
        )
    return name


def _b64decode(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not standard base64") from None


@dataclass(frozen=True, slots=True)
class NoteVerifier:
    name: str
    public: bytes

    @property
    def id(self) -> bytes:
        return key_id(self.name, self.public)

    def encode(self) -> str:
        raw = base64.b64encode(bytes([ALG_ED25519]) + self.public).decode()
        return f"{self.name}+{self.id.hex()}+{raw}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public).verify(signature, message)
        except InvalidSignature:
            return False
        return True

    @classmethod
    def decode(cls, text: str) -> NoteVerifier:
        # At most three fields: base64 itself may contain '+'.
        parts = text.strip().split("+", 2)
        invalid = AgentorError(
            AuditCode.KEY_INVALID,
            "not a verifier key (expected <name>+<hex key ID>+<base64 key>)",
            hint="use the .pub file written by 'agentor audit keygen'",
        )
        if len(parts) != 3 or len(parts[1]) != 8:
            raise invalid
        name, hex_id, raw = parts
        try:
            key = _b64decode(raw)
            wanted = bytes.fromhex(hex_id)
        except ValueError:
            raise invalid from None
        if len(key) != 33 or key[0] != ALG_ED25519:
            raise invalid
        verifier = cls(_check_name(name), key[1:])
        if verifier.id != wanted:
            raise AgentorError(
                AuditCode.KEY_INVALID,
                "the verifier key's ID does not match its name and key",
                hint="the key file was altered; get it again from its owner",
            )
        return verifier


@dataclass(frozen=True, slots=True)
class NoteSigner:
    name: str
    seed: bytes

    @classmethod
    def generate(cls, name: str) -> NoteSigner:
        seed = Ed25519PrivateKey.generate().private_bytes_raw()
        return cls(_check_name(name), seed)

    @property
    def verifier(self) -> NoteVerifier:
        public = (
            Ed25519PrivateKey.from_private_bytes(self.seed)
            .public_key()
            .public_bytes(Encoding.Raw, PublicFormat.Raw)
        )
        return NoteVerifier(self.name, public)

    def sign(self, message: bytes) -> bytes:
        return Ed25519PrivateKey.from_private_bytes(self.seed).sign(message)

    def encode(self) -> str:
        raw = base64.b64encode(bytes([ALG_ED25519]) + self.seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.verifier.id.hex()}+{raw}"

    @classmethod
    def decode(cls, text: str) -> NoteSigner:
        parts = text.strip().split("+", 4)
        invalid = AgentorError(
            AuditCode.KEY_INVALID,
            "not a signing key (expected PRIVATE+KEY+<name>+<hex key ID>+<base64 key>)",
            hint="use the key file written by 'agentor audit keygen'",
        )
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"] or len(parts[3]) != 8:
            raise invalid
        try:
            key = _b64decode(parts[4])
            wanted = bytes.fromhex(parts[3])
        except ValueError:
            raise invalid from None
        if len(key) != 33 or key[0] != ALG_ED25519:
            raise invalid
        signer = cls(_check_name(parts[2]), key[1:])
        if signer.verifier.id != wanted:
            raise invalid
        return signer


def sign_note(text: str, signer: NoteSigner) -> str:
    if not text.endswith("\n") or "\n\n" in text:
        raise ValueError("note text must end in a newline and hold no blank line")
    signature = base64.b64encode(signer.verifier.id + signer.sign(text.encode("utf-8"))).decode()
    return f"{text}\n{EM_DASH} {signer.name} {signature}\n"


@dataclass(frozen=True, slots=True)
class OpenedNote:
    text: str
    verified_by: tuple[str, ...]
    """Names of the trusted keys whose signature verified."""
    unverified: int
    """Signature lines from keys we were not given (ignored, as the spec says)."""
    bad: int
    """Signature lines claiming a trusted key's name and ID whose signature failed."""


def open_note(note: str, verifiers: tuple[NoteVerifier, ...]) -> OpenedNote:
    """Split and check a signed note. Raises ``audit.checkpoint_invalid`` if malformed."""
    if len(note.encode("utf-8", "surrogatepass")) > MAX_NOTE_BYTES:
        raise _malformed(f"a note larger than {MAX_NOTE_BYTES} bytes")
    split = note.rfind("\n\n")
    if split < 0 or not note.endswith("\n"):
        raise _malformed("no blank line before the signatures")
    text = note[: split + 1]
    lines = note[split + 2 :].removesuffix("\n").split("\n")
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise _malformed("control characters in the note text")
    if len(lines) > MAX_SIGNATURES:
        raise _malformed(f"more than {MAX_SIGNATURES} signatures")
    trusted = {(v.name, v.id): v for v in verifiers}
    verified: list[str] = []
    unverified = bad = 0
    for line in lines:
        fields = line.split(" ")
        if len(fields) != 3 or fields[0] != EM_DASH:
            raise _malformed("a signature line is not '— <name> <base64>'")
        try:
            blob = _b64decode(fields[2])
        except ValueError:
            raise _malformed("a signature is not base64") from None
        if len(blob) < 5:
            raise _malformed("a signature is too short")
        verifier = trusted.get((fields[1], blob[:4]))
        if verifier is None:
            unverified += 1
        elif verifier.verify(text.encode("utf-8"), blob[4:]):
            verified.append(verifier.name)
        else:
            bad += 1
    return OpenedNote(text=text, verified_by=tuple(verified), unverified=unverified, bad=bad)


def _malformed(what: str) -> AgentorError:
    return AgentorError(
        AuditCode.CHECKPOINT_INVALID,
        f"malformed signed note: {what}",
        hint="the checkpoint was damaged or is not a C2SP signed note",
    )


@dataclass(frozen=True, slots=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    time: datetime | None = None

    def body(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode()]
        if self.time is not None:
            lines.append("time " + self.time.isoformat().replace("+00:00", "Z"))
        return "\n".join(lines) + "\n"

    def sign(self, signer: NoteSigner) -> str:
        return sign_note(self.body(), signer)

    @classmethod
    def parse_body(cls, text: str) -> Checkpoint:
        lines = text.removesuffix("\n").split("\n")
        if len(lines) < 3:
            raise _malformed("a checkpoint needs origin, size and root hash lines")
        origin, size, root = lines[:3]
        if not _ORIGIN_RE.fullmatch(origin):
            raise _malformed("the origin line is empty or not printable ASCII")
        if not _SIZE_RE.fullmatch(size):
            raise _malformed("the tree size is not a decimal number")
        try:
            raw = _b64decode(root)
        except ValueError:
            raise _malformed("the root hash is not base64") from None
        if len(raw) != HASH_SIZE:
            raise _malformed("the root hash is not 32 bytes")
        when = None
        for extension in lines[3:]:
            if extension.startswith("time "):
                try:
                    when = datetime.fromisoformat(extension[5:])
                except ValueError:
                    raise _malformed("the time extension is not RFC 3339") from None
        return cls(origin=origin, size=int(size), root=raw, time=when)


@dataclass(frozen=True, slots=True)
class VerifiedCheckpoint:
    checkpoint: Checkpoint
    note: str


def verify_checkpoint(
    note: str, verifier: NoteVerifier, *, origin: str | None = None
) -> Checkpoint:
    """Parse ``note`` and require a valid signature by ``verifier``; raise otherwise."""
    opened = open_note(note, (verifier,))
    if not opened.verified_by:
        why = "its signature by that key does not verify" if opened.bad else "it is not signed"
        raise AgentorError(
            AuditCode.CHECKPOINT_INVALID,
            f"checkpoint is not trusted: {why} by key {verifier.name} ({verifier.id.hex()})",
            hint="check --key is this log's checkpoint key; if it is, the checkpoint is forged",
        )
    checkpoint = Checkpoint.parse_body(opened.text)
    if origin is not None and checkpoint.origin != origin:
        raise AgentorError(
            AuditCode.CHECKPOINT_INVALID,
            f"checkpoint is for log {checkpoint.origin!r}, not {origin!r}",
            hint="a checkpoint of another log was substituted",
        )
    return checkpoint
