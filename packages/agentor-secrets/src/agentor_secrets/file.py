"""An encrypted file store: AES-256-GCM under a key derived from a passphrase with scrypt.

File layout (JSON, mode 0600, replaced atomically on every change)::

    {"format": "agentor-secrets", "version": 1,
     "kdf": {"name": "scrypt", "n": 32768, "r": 8, "p": 1, "salt": "<base64, 16 bytes>"},
     "cipher": "aes-256-gcm", "nonce": "<base64, 12 bytes>", "ciphertext": "<base64>"}

Names and values are both inside the ciphertext. The header (everything but
nonce and ciphertext) is the AEAD's associated data, so a changed KDF parameter
or cipher name fails to decrypt like a wrong passphrase does.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import secrets as _secrets
import stat
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Final, Literal

if sys.platform != "win32":
    import fcntl

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from agentor_core.canonical import canonical_json
from agentor_core.errors import AgentorError
from agentor_secrets.codes import SecretsCode
from agentor_secrets.validation import (
    MAX_SECRETS,
    MAX_VALUE_CHARS,
    check_name,
    check_value,
)

PASSPHRASE_ENV: Final = "AGENTOR_SECRETS_PASSPHRASE"  # noqa: S105 - a variable name, not a secret
"""The environment variable a passphrase is read from when none is passed."""

MIN_PASSPHRASE_CHARS: Final = 8
DEFAULT_SCRYPT_N: Final = 2**15
MIN_SCRYPT_N: Final = 2**14
MAX_SCRYPT_N: Final = 2**20
MAX_FILE_BYTES: Final = 32 * 1024 * 1024
_SALT_BYTES: Final = 16
_NONCE_BYTES: Final = 12

_B64 = Annotated[
    str, StringConstraints(max_length=MAX_FILE_BYTES, pattern=r"^[A-Za-z0-9+/]*={0,2}$")
]


class _Kdf(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Literal["scrypt"]
    # Bounded: a planted file must not make the host allocate gigabytes.
    n: Annotated[int, Field(ge=MIN_SCRYPT_N, le=MAX_SCRYPT_N)]
    r: Literal[8]
    p: Annotated[int, Field(ge=1, le=4)]
    salt: _B64


class _Envelope(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal["agentor-secrets"]
    version: Literal[1]
    kdf: _Kdf
    cipher: Literal["aes-256-gcm"]
    nonce: _B64
    ciphertext: _B64

    def header(self) -> bytes:
        return canonical_json(self.model_dump(mode="json", exclude={"nonce", "ciphertext"}))


class _Plain(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    secrets: dict[
        Annotated[str, StringConstraints(max_length=128)],
        Annotated[str, StringConstraints(max_length=MAX_VALUE_CHARS)],
    ] = Field(max_length=MAX_SECRETS)


def _fail_io(path: Path, exc: OSError, doing: str) -> AgentorError:
    return AgentorError(
        SecretsCode.IO_ERROR,
        f"could not {doing} {path}: {exc.strerror or type(exc).__name__}",
        hint="check that the folder exists and belongs to you",
    )


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive advisory lock beside ``path``, so two writers never lose each other's change."""
    if sys.platform == "win32":  # pragma: no cover - fcntl is POSIX-only
        yield
        return
    lock_path = path.with_name(path.name + ".lock")
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise _fail_io(lock_path, exc, "open the lock file") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _check_private(path: Path, info: os.stat_result) -> None:
    if os.name != "posix":  # pragma: no cover - POSIX modes only
        return
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise AgentorError(
            SecretsCode.UNSAFE_PERMISSIONS,
            f"{path} belongs to another user",
            hint="use a secret file you own",
        )
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise AgentorError(
            SecretsCode.UNSAFE_PERMISSIONS,
            f"{path} can be read or written by other users (mode {stat.S_IMODE(info.st_mode):o})",
            hint=f"chmod 600 {path}, and rotate the secrets if others may have read them",
        )


class EncryptedFileStore:
    """Secrets in one encrypted file. Every method re-reads the file, so processes stay in step.

    ``passphrase`` defaults to the ``AGENTOR_SECRETS_PASSPHRASE`` environment
    variable. The key is derived once per salt and kept in memory for the life
    of the object, and so is the passphrase (a file rewritten by another process
    under a new salt needs its key derived again).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        passphrase: str | None = None,
        *,
        scrypt_n: int = DEFAULT_SCRYPT_N,
    ) -> None:
        if passphrase is None:
            passphrase = os.environ.get(PASSPHRASE_ENV) or None
        if not passphrase:
            raise AgentorError(
                SecretsCode.PASSPHRASE_MISSING,
                "the encrypted secret file needs a passphrase",
                hint=f"set {PASSPHRASE_ENV} or pass the passphrase",
            )
        if not MIN_SCRYPT_N <= scrypt_n <= MAX_SCRYPT_N or scrypt_n & (scrypt_n - 1):
            raise AgentorError(
                SecretsCode.CORRUPT,
                f"scrypt_n must be a power of two between {MIN_SCRYPT_N} and {MAX_SCRYPT_N}",
                hint="leave scrypt_n at its default",
            )
        self._path: Final = Path(path)
        self._secret: Final = passphrase.encode("utf-8")
        self._scrypt_n: Final = scrypt_n
        self._keys: dict[tuple[bytes, int, int], bytes] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"EncryptedFileStore({str(self._path)!r})"

    @property
    def path(self) -> Path:
        return self._path

    # -- the SecretStore protocol -------------------------------------------------

    def names(self) -> list[str]:
        return sorted(self._load()[0])

    def exists(self, name: str) -> bool:
        return name in self._load()[0]

    def reveal(self, name: str) -> str | None:
        return self._load()[0].get(name)

    def set(self, name: str, value: str) -> None:
        check_name(name)
        check_value(value)
        with self._lock, _locked(self._path):
            values, kdf = self._load()
            if name not in values and len(values) >= MAX_SECRETS:
                raise AgentorError(
                    SecretsCode.INVALID_VALUE,
                    f"a store holds at most {MAX_SECRETS} secrets",
                    hint="delete secrets that are no longer used",
                )
            values[name] = value
            self._store(values, kdf)

    def delete(self, name: str) -> bool:
        with self._lock, _locked(self._path):
            values, kdf = self._load()
            if values.pop(name, None) is None:
                return False
            self._store(values, kdf)
            return True

    # -- reading and writing ------------------------------------------------------

    def _key(self, salt: bytes, n: int, p: int) -> bytes:
        cached = self._keys.get((salt, n, p))
        if cached is None:
            cached = Scrypt(salt=salt, length=32, n=n, r=8, p=p).derive(self._secret)
            self._keys[(salt, n, p)] = cached
        return cached

    def _load(self) -> tuple[dict[str, str], _Kdf | None]:
        """The secrets and the KDF parameters, or ``({}, None)`` if the file does not exist."""
        try:
            fd = os.open(self._path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except FileNotFoundError:
            return {}, None
        except OSError as exc:
            raise _fail_io(self._path, exc, "open") from None
        with os.fdopen(fd, "rb") as handle:
            _check_private(self._path, os.fstat(handle.fileno()))
            raw = handle.read(MAX_FILE_BYTES + 1)
        if len(raw) > MAX_FILE_BYTES:
            raise AgentorError(
                SecretsCode.CORRUPT,
                f"{self._path} is larger than {MAX_FILE_BYTES} bytes",
                hint="restore the file from a backup",
            )
        try:
            envelope = _Envelope.model_validate_json(raw)
            salt = base64.b64decode(envelope.kdf.salt, validate=True)
            nonce = base64.b64decode(envelope.nonce, validate=True)
            ciphertext = base64.b64decode(envelope.ciphertext, validate=True)
        except (ValidationError, binascii.Error):
            raise AgentorError(
                SecretsCode.CORRUPT,
                f"{self._path} is not an agentor secret file (format 1)",
                hint="restore the file from a backup, or move it away to start a new store",
            ) from None
        if len(nonce) != _NONCE_BYTES or len(salt) < _SALT_BYTES:
            raise AgentorError(
                SecretsCode.CORRUPT,
                f"{self._path} has a malformed nonce or salt",
                hint="restore the file from a backup",
            )
        key = self._key(salt, envelope.kdf.n, envelope.kdf.p)
        try:
            plain = AESGCM(key).decrypt(nonce, ciphertext, envelope.header())
        except InvalidTag:
            raise AgentorError(
                SecretsCode.WRONG_PASSPHRASE,
                f"{self._path} did not decrypt: the passphrase is wrong or the file was altered",
                hint=f"check {PASSPHRASE_ENV}; if the passphrase is right, restore a backup",
            ) from None
        try:
            values = dict(_Plain.model_validate_json(plain).secrets)
        except ValidationError:
            raise AgentorError(
                SecretsCode.CORRUPT,
                f"{self._path} decrypted to something that is not a secret map",
                hint="restore the file from a backup",
            ) from None
        return values, envelope.kdf

    def _store(self, values: dict[str, str], kdf: _Kdf | None) -> None:
        if kdf is None:
            if len(self._secret) < MIN_PASSPHRASE_CHARS:
                raise AgentorError(
                    SecretsCode.WEAK_PASSPHRASE,
                    f"a new secret file needs a passphrase of at least {MIN_PASSPHRASE_CHARS} "
                    "characters",
                    hint="choose a longer passphrase (a few random words)",
                )
            kdf = _Kdf(
                name="scrypt",
                n=self._scrypt_n,
                r=8,
                p=1,
                salt=base64.b64encode(_secrets.token_bytes(_SALT_BYTES)).decode("ascii"),
            )
        salt = base64.b64decode(kdf.salt)
        # A fresh random nonce per write: 96 bits keep collisions negligible for
        # far more writes than a secret file ever sees under one key.
        nonce = _secrets.token_bytes(_NONCE_BYTES)
        shell = _Envelope(
            format="agentor-secrets",
            version=1,
            kdf=kdf,
            cipher="aes-256-gcm",
            nonce=base64.b64encode(nonce).decode("ascii"),
            ciphertext="",
        )
        plain = json.dumps({"secrets": values}, ensure_ascii=False).encode("utf-8")
        sealed = AESGCM(self._key(salt, kdf.n, kdf.p)).encrypt(nonce, plain, shell.header())
        document = shell.model_copy(
            update={"ciphertext": base64.b64encode(sealed).decode("ascii")}
        ).model_dump_json()
        self._write_atomically(document.encode("utf-8"))

    def _write_atomically(self, data: bytes) -> None:
        parent = self._path.parent
        try:
            parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            # mkstemp creates the file with mode 0600 in the same folder, so the
            # rename below is atomic and the secrets are never world-readable.
            fd, tmp = tempfile.mkstemp(dir=parent, prefix=f".{self._path.name}.", suffix=".tmp")
        except OSError as exc:
            raise _fail_io(self._path, exc, "write") from None
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            Path(tmp).replace(self._path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                Path(tmp).unlink()
            raise _fail_io(self._path, exc, "write") from None
        if os.name == "posix":
            # The rename is durable only once the folder entry is on disk.
            with contextlib.suppress(OSError):
                dir_fd = os.open(parent, os.O_RDONLY)
                try:
                    os.fsync(dir_fd)
                finally:
                    os.close(dir_fd)
