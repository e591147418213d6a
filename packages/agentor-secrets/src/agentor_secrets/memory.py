"""An in-memory store: for tests and for hosts that load secrets themselves."""

from __future__ import annotations

import threading
from collections.abc import Mapping

from agentor_core.errors import AgentorError
from agentor_secrets.codes import SecretsCode
from agentor_secrets.validation import MAX_SECRETS, check_name, check_value


class MemorySecretStore:
    """Secrets held in this process only; gone when it exits. Thread-safe."""

    def __init__(self, initial: Mapping[str, str] | None = None) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, str] = {}
        for name, value in (initial or {}).items():
            self.set(name, value)

    def __repr__(self) -> str:
        return f"MemorySecretStore({len(self._values)} secrets)"

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._values)

    def exists(self, name: str) -> bool:
        with self._lock:
            return name in self._values

    def reveal(self, name: str) -> str | None:
        with self._lock:
            return self._values.get(name)

    def set(self, name: str, value: str) -> None:
        check_name(name)
        check_value(value)
        with self._lock:
            if name not in self._values and len(self._values) >= MAX_SECRETS:
                raise AgentorError(
                    SecretsCode.INVALID_VALUE,
                    f"a store holds at most {MAX_SECRETS} secrets",
                    hint="delete secrets that are no longer used",
                )
            self._values[name] = value

    def delete(self, name: str) -> bool:
        with self._lock:
            return self._values.pop(name, None) is not None
