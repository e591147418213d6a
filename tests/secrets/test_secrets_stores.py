# test passphrases, not real credentials:
# ruff: noqa: S105
"""Secret stores: memory, named environment variables, and the encrypted file."""

from __future__ import annotations

import base64
import json
import os
import stat
import threading
from pathlib import Path

import pytest

from agentor_core import discovery
from agentor_core.errors import AgentorError
from agentor_core.interfaces import SecretStore
from agentor_secrets import (
    PASSPHRASE_ENV,
    EncryptedFileStore,
    EnvSecretStore,
    MemorySecretStore,
    SecretsCode,
)

PASSPHRASE = "correct horse battery staple"
VALUE = "ghp_0123456789abcdefghij"


def code_of(error: pytest.ExceptionInfo[AgentorError]) -> str:
    return error.value.code


def file_store(path: Path, passphrase: str = PASSPHRASE) -> EncryptedFileStore:
    # The lowest work factor the store accepts, to keep the suite fast.
    return EncryptedFileStore(path, passphrase, scrypt_n=2**14)


@pytest.mark.parametrize("make", ["memory", "file"])
def test_store_round_trip(tmp_path: Path, make: str) -> None:
    store: SecretStore = (
        MemorySecretStore() if make == "memory" else file_store(tmp_path / "s.json")
    )
    assert isinstance(store, SecretStore)
    assert list(store.names()) == []
    store.set("GITHUB_TOKEN", VALUE)
    store.set("other.key-1", "second value")
    assert list(store.names()) == ["GITHUB_TOKEN", "other.key-1"]
    assert store.exists("GITHUB_TOKEN")
    assert store.reveal("GITHUB_TOKEN") == VALUE
    store.set("GITHUB_TOKEN", "rotated value")
    assert store.reveal("GITHUB_TOKEN") == "rotated value"
    assert store.delete("GITHUB_TOKEN")
    assert not store.delete("GITHUB_TOKEN")
    assert store.reveal("GITHUB_TOKEN") is None
    assert list(store.names()) == ["other.key-1"]


@pytest.mark.parametrize("name", ["", "1abc", "has space", "semi;colon", "x" * 129, "../up"])
def test_invalid_names_are_refused(name: str) -> None:
    with pytest.raises(AgentorError) as caught:
        MemorySecretStore().set(name, "value")
    assert code_of(caught) == SecretsCode.INVALID_NAME


@pytest.mark.parametrize("value", ["", "a\x00b", "x" * (64 * 1024 + 1)])
def test_invalid_values_are_refused_without_echoing_them(value: str) -> None:
    with pytest.raises(AgentorError) as caught:
        MemorySecretStore().set("NAME", value)
    assert code_of(caught) == SecretsCode.INVALID_VALUE
    assert not value or value not in str(caught.value)


def test_env_store_sees_only_named_variables() -> None:
    environ = {"GH_TOKEN": VALUE, "HOME": "/root", "AWS_SECRET": "zzz", "EMPTY": ""}
    store = EnvSecretStore({"GITHUB_TOKEN": "GH_TOKEN", "NOTHING": "EMPTY"}, environ=environ)
    assert store.names() == ["GITHUB_TOKEN"]
    assert store.reveal("GITHUB_TOKEN") == VALUE
    assert store.reveal("HOME") is None
    assert store.reveal("AWS_SECRET") is None
    assert not store.exists("NOTHING")
    with pytest.raises(AgentorError) as caught:
        store.set("GITHUB_TOKEN", "x")
    assert code_of(caught) == SecretsCode.READ_ONLY
    with pytest.raises(AgentorError) as caught:
        store.delete("GITHUB_TOKEN")
    assert code_of(caught) == SecretsCode.READ_ONLY


def test_env_store_list_form_and_real_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTOR_TEST_TOKEN", VALUE)
    assert EnvSecretStore(["AGENTOR_TEST_TOKEN"]).reveal("AGENTOR_TEST_TOKEN") == VALUE
    with pytest.raises(AgentorError) as caught:
        EnvSecretStore({"OK": "not-a-variable"})
    assert code_of(caught) == SecretsCode.INVALID_NAME


def test_file_is_private_encrypted_and_holds_no_plaintext(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    store = file_store(path)
    store.set("GITHUB_TOKEN", VALUE)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    raw = path.read_bytes()
    assert VALUE.encode() not in raw
    assert b"GITHUB_TOKEN" not in raw
    document = json.loads(raw)
    assert document["cipher"] == "aes-256-gcm"
    assert document["kdf"]["name"] == "scrypt"
    # No temporary files are left beside it.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secrets.json", "secrets.json.lock"]
    # Another instance (another process, in effect) reads it back.
    assert file_store(path).reveal("GITHUB_TOKEN") == VALUE


def test_two_writes_use_fresh_nonces(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    store = file_store(path)
    store.set("A_NAME", VALUE)
    first = json.loads(path.read_bytes())
    store.set("A_NAME", VALUE)
    second = json.loads(path.read_bytes())
    assert first["nonce"] != second["nonce"]
    assert first["kdf"] == second["kdf"]


def test_wrong_passphrase_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    file_store(path).set("A_NAME", VALUE)
    with pytest.raises(AgentorError) as caught:
        file_store(path, "not the passphrase").names()
    assert code_of(caught) == SecretsCode.WRONG_PASSPHRASE


@pytest.mark.parametrize("field", ["ciphertext", "nonce", "kdf"])
def test_tampering_is_detected(tmp_path: Path, field: str) -> None:
    path = tmp_path / "s.json"
    file_store(path).set("A_NAME", VALUE)
    document = json.loads(path.read_bytes())
    if field == "kdf":
        document["kdf"]["p"] = 2  # a changed header is authenticated data
    else:
        raw = bytearray(base64.b64decode(document[field]))
        raw[0] ^= 1
        document[field] = base64.b64encode(bytes(raw)).decode()
    path.write_text(json.dumps(document))
    path.chmod(0o600)
    with pytest.raises(AgentorError) as caught:
        file_store(path).reveal("A_NAME")
    assert code_of(caught) == SecretsCode.WRONG_PASSPHRASE


@pytest.mark.parametrize(
    "content",
    [
        b"not json",
        b"{}",
        b'{"format": "agentor-secrets", "version": 2}',
        json.dumps(
            {
                "format": "agentor-secrets",
                "version": 1,
                "kdf": {"name": "scrypt", "n": 2**30, "r": 8, "p": 1, "salt": "AAAA"},
                "cipher": "aes-256-gcm",
                "nonce": "AAAAAAAAAAAAAAAA",
                "ciphertext": "AAAA",
            }
        ).encode(),
    ],
)
def test_corrupt_or_hostile_files_are_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "s.json"
    path.write_bytes(content)
    path.chmod(0o600)
    with pytest.raises(AgentorError) as caught:
        file_store(path).names()
    assert code_of(caught) == SecretsCode.CORRUPT


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    file_store(path).set("A_NAME", VALUE)
    path.chmod(0o644)
    with pytest.raises(AgentorError) as caught:
        file_store(path).names()
    assert code_of(caught) == SecretsCode.UNSAFE_PERMISSIONS


def test_passphrase_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PASSPHRASE_ENV, raising=False)
    with pytest.raises(AgentorError) as caught:
        EncryptedFileStore(tmp_path / "s.json")
    assert code_of(caught) == SecretsCode.PASSPHRASE_MISSING
    with pytest.raises(AgentorError) as caught:
        file_store(tmp_path / "s.json", "short").set("A_NAME", VALUE)
    assert code_of(caught) == SecretsCode.WEAK_PASSPHRASE
    monkeypatch.setenv(PASSPHRASE_ENV, PASSPHRASE)
    store = EncryptedFileStore(tmp_path / "s.json", scrypt_n=2**14)
    store.set("A_NAME", VALUE)
    assert file_store(tmp_path / "s.json").reveal("A_NAME") == VALUE


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    file_store(path).set("SEED", VALUE)
    stores = [file_store(path) for _ in range(4)]
    for store in stores:
        store.names()  # derive each key before the race

    def write(index: int) -> None:
        for round_ in range(5):
            stores[index].set(f"K{index}_{round_}", VALUE)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(file_store(path).names()) == 1 + 4 * 5


def test_default_store_is_found_by_entry_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTOR_SECRETS_FILE", str(tmp_path / "store.json"))
    monkeypatch.setenv(PASSPHRASE_ENV, PASSPHRASE)
    store = discovery.create(SecretStore)
    assert isinstance(store, EncryptedFileStore)
    assert store.path == tmp_path / "store.json"


def test_reprs_never_show_values(tmp_path: Path) -> None:
    memory = MemorySecretStore({"A_NAME": VALUE})
    assert VALUE not in repr(memory)
    assert VALUE not in repr(EnvSecretStore(["A_NAME"], environ={"A_NAME": VALUE}))
