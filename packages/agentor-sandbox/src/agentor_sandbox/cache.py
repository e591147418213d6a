"""The compile cache: native code for each tool, authenticated before it is ever loaded.

Deserializing a wasmtime artifact runs native code it contains, so the cache
loads only files it can prove it wrote: each file carries a MAC (keyed
BLAKE2b-256, about twice as fast as HMAC-SHA256 here on 40 MB artifacts) over
its key and bytes, under a per-user 32-byte key kept beside the cache (0600).
A file that fails the check, or a key with loose permissions, means compile
again; never trust.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from agentor_core.paths import cache_dir, ensure_private_dir
from agentor_sandbox.engine import engine_fingerprint

_log = logging.getLogger(__name__)

MAGIC: Final = b"AGSBXC02"
KEY_FILE: Final = "cache-hmac.key"
KEY_BYTES: Final = 32
TAG_BYTES: Final = 32
MAX_ARTIFACT_BYTES: Final = 1024**3


def default_cache_root() -> Path:
    return cache_dir() / "sandbox"


@dataclass(frozen=True, slots=True)
class CacheKey:
    wasm_sha256: str
    kind: str
    fingerprint: str

    @property
    def digest(self) -> str:
        text = f"{self.kind}\n{self.wasm_sha256}\n{self.fingerprint}"
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def key_for(wasm_sha256: str, kind: str) -> CacheKey:
    return CacheKey(wasm_sha256=wasm_sha256, kind=kind, fingerprint=engine_fingerprint())


class CompileCache:
    """Stores and loads authenticated artifacts under ``root``.

    Every failure (unwritable folder, bad key file, tampered artifact) degrades
    to a miss and a log line: the caller compiles, which is slower but safe.
    """

    def __init__(self, root: Path | None = None) -> None:
        self.root = root if root is not None else default_cache_root()
        self._key: bytes | None = None

    def _secret(self) -> bytes:
        if self._key is None:
            self._key = self._load_or_create_key()
        return self._key

    def _load_or_create_key(self) -> bytes:
        ensure_private_dir(self.root)
        path = self.root / KEY_FILE
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            info = path.lstat()
            if not stat.S_ISREG(info.st_mode):
                raise PermissionError(f"{path} is not a regular file") from None
            if os.name == "posix" and (
                info.st_mode & 0o077 or (hasattr(os, "getuid") and info.st_uid != os.getuid())
            ):
                raise PermissionError(f"{path} is readable by others or not ours") from None
            key = path.read_bytes()
            if len(key) != KEY_BYTES:
                raise PermissionError(f"{path} does not hold a {KEY_BYTES}-byte key") from None
            return key
        key = secrets.token_bytes(KEY_BYTES)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key)
        return key

    def _tag(self, key: CacheKey, artifact: bytes | memoryview) -> bytes:
        mac = hashlib.blake2b(key=self._secret(), digest_size=TAG_BYTES, person=b"agentor-sbx")
        mac.update(key.digest.encode("ascii"))
        mac.update(artifact)
        return mac.digest()

    def path_for(self, key: CacheKey) -> Path:
        return self.root / f"{key.digest}.cwasm"

    def load(self, key: CacheKey) -> bytearray | None:
        """The artifact for ``key`` if present and authentic, else ``None``."""
        path = self.path_for(key)
        header_len = len(MAGIC) + TAG_BYTES
        try:
            with path.open("rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                if size > MAX_ARTIFACT_BYTES + header_len or size < header_len:
                    _log.warning("compile cache: %s has an impossible size; ignoring it", path.name)
                    return None
                # Read once into memory and check those bytes: deserializing from the
                # file after the check would let a writer swap it in between.
                blob = bytearray(size)
                if handle.readinto(blob) != size:
                    return None
            with memoryview(blob) as view:  # views, not 40 MB copies
                expected = self._tag(key, view[header_len:])
                header, tag = bytes(view[: len(MAGIC)]), bytes(view[len(MAGIC) : header_len])
        except FileNotFoundError:
            return None
        except OSError as exc:
            _log.warning("compile cache unusable (%s); compiling instead", exc)
            return None
        if header != MAGIC or not hmac.compare_digest(tag, expected):
            _log.warning("compile cache: %s failed authentication; compiling instead", path.name)
            return None
        del blob[:header_len]
        return blob

    def store(self, key: CacheKey, artifact: bytes) -> None:
        """Write ``artifact`` atomically; failure to write is logged, never raised."""
        try:
            tag = self._tag(key, artifact)
            fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".tmp-", suffix=".cwasm")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(MAGIC + tag)
                    handle.write(artifact)
                Path(tmp).replace(self.path_for(key))
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            _log.warning("compile cache not written (%s)", exc)
