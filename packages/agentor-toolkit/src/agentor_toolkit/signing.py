"""Detached Ed25519 signatures over a component's SHA-256 and its canonical manifest.

Two versions of ``<component>.sig``, both verified:

- ``agentor-signature/1`` (components built by ``agentor tool build``): the
  signed message is the RFC 8785 form of ``{"purpose": "agentor-tool-signature/1",
  "component_sha256": …, "manifest_sha256": …}`` over the embedded manifest.
- ``agentor-signature/2`` with ``kind = "generic"`` (any WASI preview 2
  component without an embedded manifest): the message is
  ``{"purpose": "agentor-tool-signature/2", "kind": "generic", "component_sha256": …,
  "manifest_sha256": …}``, where ``manifest_sha256`` is the digest of the
  component's generic subject (reflected tools and sidecar ``tool.toml``, see
  :mod:`agentor_toolkit.generic`). A different purpose string means a message
  of one version can never be taken for one of the other.

The component hash covers every byte (the embedded manifest included); the
manifest hash lets a runtime check that what the component *describes* at run
time is what was signed. The signature lives beside the component as
``<component>.sig`` (JSON), so signing never rewrites the component.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Final, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError, model_validator

from agentor_core.bounds import Sha256Hex
from agentor_core.canonical import canonical_json
from agentor_core.errors import AgentorError
from agentor_core.paths import config_dir
from agentor_core.validation import describe_validation_error
from agentor_toolkit.component import embedded_manifest, kind, read_bounded
from agentor_toolkit.errors import ToolkitCode
from agentor_toolkit.files import read_at_most
from agentor_toolkit.generic import generic_subject
from agentor_toolkit.manifest import Manifest

PURPOSE: Final = "agentor-tool-signature/1"
PURPOSE_V2: Final = "agentor-tool-signature/2"
FORMAT_V1: Final = "agentor-signature/1"
FORMAT_V2: Final = "agentor-signature/2"
SIGNATURE_SUFFIX: Final = ".sig"
MAX_KEY_FILE_BYTES: Final = 16 * 1024
MAX_SIGNATURE_FILE_BYTES: Final = 16 * 1024

B64 = Annotated[str, StringConstraints(max_length=256, pattern=r"^[A-Za-z0-9+/]*={0,2}$")]
KeyId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{16}$")]


class SignatureFile(BaseModel):
    """``<component>.sig``: who signed which component and manifest.

    ``kind`` is absent in version 1 (an embedded manifest) and ``generic`` in
    version 2; written without ``kind`` (``exclude_none``), a version-1 file is
    byte for byte what 0.1.0 wrote and read.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal["agentor-signature/1", "agentor-signature/2"] = FORMAT_V1
    algorithm: Literal["ed25519"] = "ed25519"
    kind: Literal["generic"] | None = None
    key_id: KeyId
    public_key: B64
    component_sha256: Sha256Hex
    manifest_sha256: Sha256Hex
    signature: B64

    @model_validator(mode="after")
    def _versioned(self) -> SignatureFile:
        if (self.format == FORMAT_V2) != (self.kind is not None):
            raise ValueError("format agentor-signature/2 needs kind; version 1 has none")
        return self

    def document(self) -> dict[str, object]:
        """The JSON written to ``<component>.sig``."""
        return self.model_dump(mode="json", exclude_none=True)


@dataclass(frozen=True, slots=True)
class Verified:
    """A signature that matched bytes, manifest and a trusted key."""

    key_id: str
    component_sha256: str
    manifest_sha256: str
    manifest: Manifest
    kind: str | None = None
    """``generic`` for a version-2 signature over a generic component; None for version 1."""


def key_id(public: Ed25519PublicKey) -> str:
    """First 16 hex digits of SHA-256 over the raw 32-byte public key."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def message(component_sha256: str, manifest_sha256: str, kind: str | None = None) -> bytes:
    """The bytes signed: version 1 without ``kind``, version 2 (its own purpose) with it."""
    if kind is None:
        return canonical_json(
            {
                "component_sha256": component_sha256,
                "manifest_sha256": manifest_sha256,
                "purpose": PURPOSE,
            }
        )
    return canonical_json(
        {
            "component_sha256": component_sha256,
            "kind": kind,
            "manifest_sha256": manifest_sha256,
            "purpose": PURPOSE_V2,
        }
    )


def signature_path(component: Path) -> Path:
    return component.with_name(component.name + SIGNATURE_SUFFIX)


def _key_error(path: Path, problem: str) -> AgentorError:
    return AgentorError(
        ToolkitCode.KEY_INVALID,
        f"{path}: {problem}",
        hint="create a key pair with 'agentor tool keygen' and pass the right file",
    )


def _read_small(path: Path, limit: int, code: ToolkitCode) -> bytes:
    try:
        if path.stat().st_size > limit:
            raise AgentorError(code, f"{path} is larger than {limit} bytes", hint="check the file")
        data = read_at_most(path, limit)
    except OSError as exc:
        raise AgentorError(
            code, f"cannot read {path}: {exc.strerror}", hint="check the path"
        ) from None
    if len(data) > limit:
        raise AgentorError(code, f"{path} is larger than {limit} bytes", hint="check the file")
    return data


def keygen(private_path: Path, *, force: bool = False) -> tuple[Path, Path, str]:
    """Write an Ed25519 private key (PKCS#8 PEM, mode 0600) and ``<path>.pub``."""
    public_path = private_path.with_name(private_path.name + ".pub")
    for path in (private_path, public_path):
        if path.exists() and not force:
            raise AgentorError(
                ToolkitCode.KEY_EXISTS,
                f"{path} already exists",
                hint="choose another path, or pass --force to replace it",
            )
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    private_path.parent.mkdir(parents=True, exist_ok=True)
    # Created 0600 from the start: never a moment when others could read it. A
    # file being replaced is removed first: truncating it would keep its mode
    # (perhaps 0644), and a symlink would be written through to its target.
    if force:
        private_path.unlink(missing_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    try:
        fd = os.open(private_path, flags, 0o600)
    except FileExistsError:  # appeared since the check, or a dangling symlink
        raise AgentorError(
            ToolkitCode.KEY_EXISTS,
            f"{private_path} already exists",
            hint="choose another path, or pass --force to replace it",
        ) from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    public = private.public_key()
    public_path.write_bytes(
        public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private_path, public_path, key_id(public)


def load_private_key(path: Path) -> Ed25519PrivateKey:
    data = _read_small(path, MAX_KEY_FILE_BYTES, ToolkitCode.KEY_INVALID)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise _key_error(path, "not an unencrypted PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise _key_error(path, "not an Ed25519 key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    data = _read_small(path, MAX_KEY_FILE_BYTES, ToolkitCode.KEY_INVALID)
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        raise _key_error(path, "not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise _key_error(path, "not an Ed25519 key")
    return key


class TrustStore:
    """The public keys whose signatures a host accepts, by key id."""

    def __init__(self, keys: dict[str, Ed25519PublicKey] | None = None) -> None:
        self._keys = dict(keys or {})

    @classmethod
    def from_paths(cls, paths: list[Path]) -> TrustStore:
        """Every ``*.pub`` in the given folders, and the given key files."""
        keys: dict[str, Ed25519PublicKey] = {}
        for path in paths:
            files = sorted(path.glob("*.pub")) if path.is_dir() else [path]
            for file in files:
                key = load_public_key(file)
                keys[key_id(key)] = key
        return cls(keys)

    @classmethod
    def default(cls) -> TrustStore:
        """``<config>/trusted-keys/*.pub`` (empty if the folder does not exist)."""
        folder = default_trust_dir()
        return cls.from_paths([folder]) if folder.is_dir() else cls()

    @property
    def key_ids(self) -> list[str]:
        return sorted(self._keys)

    def get(self, kid: str) -> Ed25519PublicKey | None:
        return self._keys.get(kid)


def default_trust_dir() -> Path:
    return config_dir() / "trusted-keys"


def _subject(data: bytes, component: Path) -> tuple[Literal["generic"] | None, str]:
    """``(kind, manifest_sha256)``: the embedded manifest, else the generic subject."""
    try:
        return None, embedded_manifest(data, source=str(component)).digest()
    except AgentorError as exc:
        if exc.code != ToolkitCode.MANIFEST_MISSING or kind(data) != "component":
            raise
    return "generic", generic_subject(data, component).digest()


def sign(component: Path, private_key: Path, out: Path | None = None) -> tuple[Path, SignatureFile]:
    """Sign ``component``; write ``<component>.sig``.

    A component with an embedded manifest gets a version-1 signature; a generic
    component (none embedded) a version-2 ``generic`` one over its reflected
    tools and sidecar ``<stem>.tool.toml`` (reflection needs agentor-sandbox).
    """
    key = load_private_key(private_key)
    data = read_bounded(component)
    subject_kind, manifest_sha = _subject(data, component)
    component_sha = hashlib.sha256(data).hexdigest()
    signature = key.sign(message(component_sha, manifest_sha, subject_kind))
    public = key.public_key()
    document = SignatureFile(
        format=FORMAT_V1 if subject_kind is None else FORMAT_V2,
        kind=subject_kind,
        key_id=key_id(public),
        public_key=base64.b64encode(
            public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        ).decode("ascii"),
        component_sha256=component_sha,
        manifest_sha256=manifest_sha,
        signature=base64.b64encode(signature).decode("ascii"),
    )
    target = out or signature_path(component)
    partial = target.with_name(f".{target.name}.partial")
    partial.write_bytes(canonical_json(document.document()) + b"\n")
    partial.replace(target)
    return target, document


def load_signature(path: Path) -> SignatureFile:
    raw = _read_small(path, MAX_SIGNATURE_FILE_BYTES, ToolkitCode.SIGNATURE_MALFORMED)
    try:
        return SignatureFile.model_validate_json(raw)
    except ValidationError as exc:
        raise AgentorError(
            ToolkitCode.SIGNATURE_MALFORMED,
            describe_validation_error(exc, source=str(path)),
            hint="sign the component again with 'agentor tool sign'",
        ) from None


def verify_bytes(
    data: bytes,
    signature: SignatureFile,
    trust: TrustStore,
    *,
    manifest: Manifest | None = None,
    source: str = "component",
    component: Path | None = None,
) -> Verified:
    """Check ``signature`` over ``data`` and its manifest, then that its key is trusted.

    ``manifest`` is what the component described at run time; by default the
    embedded one. For a ``generic`` signature the manifest is the component's
    generic subject: its tools are reflected from ``data`` (only once the bytes
    match: tampered bytes are never compiled) and its sidecar is read beside
    ``component`` (default: ``source`` as a path). Order matters: tampering is
    reported before trust, so a modified component is never called merely
    "untrusted".
    """
    component_sha = hashlib.sha256(data).hexdigest()
    if signature.kind == "generic":
        if component_sha != signature.component_sha256:
            embedded = described = None
            manifest_sha = ""
        else:
            subject = generic_subject(data, component or Path(source))
            embedded = described = subject.manifest
            manifest_sha = subject.digest()
    else:
        embedded = embedded_manifest(data, source=source)
        described = manifest or embedded
        manifest_sha = described.digest()
    try:
        raw_key = base64.b64decode(signature.public_key, validate=True)
        raw_sig = base64.b64decode(signature.signature, validate=True)
        public = Ed25519PublicKey.from_public_bytes(raw_key)
    except (binascii.Error, ValueError):
        raise AgentorError(
            ToolkitCode.SIGNATURE_MALFORMED,
            f"{source}: the signature's key or value is not valid base64 Ed25519",
            hint="sign the component again with 'agentor tool sign'",
        ) from None
    tampered = (
        component_sha != signature.component_sha256
        or manifest_sha != signature.manifest_sha256
        or key_id(public) != signature.key_id
    )
    if not tampered:
        try:
            public.verify(raw_sig, message(component_sha, manifest_sha, signature.kind))
        except InvalidSignature:
            tampered = True
    if tampered:
        what = (
            "the component's bytes"
            if component_sha != signature.component_sha256
            else "its manifest"
            if manifest_sha != signature.manifest_sha256 and signature.kind is None
            else "its reflected tools or its sidecar tool.toml"
            if manifest_sha != signature.manifest_sha256
            else "the signature itself"
        )
        raise AgentorError(
            ToolkitCode.SIGNATURE_INVALID,
            f"{source}: the signature does not match ({what} changed since signing)",
            hint="do not run it; rebuild from source or get the original from its publisher",
        )
    if embedded is None or described is None:  # pragma: no cover - tampered above
        raise AgentorError(ToolkitCode.SIGNATURE_INVALID, f"{source}: the signature does not match")
    if manifest is not None and manifest.canonical() != embedded.canonical():
        raise AgentorError(
            ToolkitCode.MANIFEST_MISMATCH,
            f"{source}: the manifest it describes differs from the one embedded at build",
            hint="do not run it; rebuild it with 'agentor tool build'",
        )
    trusted = trust.get(signature.key_id)
    if trusted is None or key_id(trusted) != key_id(public):
        raise AgentorError(
            ToolkitCode.UNTRUSTED_KEY,
            f"{source}: signed by key {signature.key_id}, which is not in the trust store",
            hint=f"if you trust the signer, copy their .pub file into {default_trust_dir()}",
        )
    return Verified(
        key_id=signature.key_id,
        component_sha256=component_sha,
        manifest_sha256=manifest_sha,
        manifest=described,
        kind=signature.kind,
    )


def verify(
    component: Path,
    trust: TrustStore,
    *,
    signature: Path | None = None,
    manifest: Manifest | None = None,
) -> Verified:
    """Verify ``component`` against ``<component>.sig`` (or ``signature``) and ``trust``.

    Raises ``toolkit.unsigned``, ``toolkit.signature_malformed``,
    ``toolkit.signature_invalid``, ``toolkit.manifest_mismatch`` or
    ``toolkit.untrusted_key``.
    """
    sig_path = signature or signature_path(component)
    if not sig_path.is_file():
        raise AgentorError(
            ToolkitCode.UNSIGNED,
            f"{component} has no signature ({sig_path} not found)",
            hint="sign it with 'agentor tool sign COMPONENT --key KEY', or run it without "
            "requiring signatures",
        )
    return verify_bytes(
        read_bounded(component),
        load_signature(sig_path),
        trust,
        manifest=manifest,
        source=str(component),
        component=component,
    )
