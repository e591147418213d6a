"""Atomic reload: a holder that swaps one immutable compiled policy for another.

``decide`` reads the current policy once, so a call is decided wholly by one
policy even while another thread reloads. A new file that fails to read, parse
or validate leaves the old policy in force, and ``reload`` says why.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from agentor_core.decisions import Decision, PolicyContext
from agentor_core.errors import AgentorError, ToolError
from agentor_core.paths import config_dir
from agentor_core.tools import ToolCall
from agentor_policy.codes import PolicyCode
from agentor_policy.engine import CompiledPolicy
from agentor_policy.loader import load_policy_file, parse_policy_text
from agentor_policy.model import RateLimit

POLICY_ENV = "AGENTOR_POLICY"
"""Environment variable naming the policy file used by :func:`policy_engine`."""


@dataclass(frozen=True, slots=True)
class ReloadResult:
    """What a reload did: the hash now in force, and the error if the new file was refused."""

    ok: bool
    policy_hash: str
    previous_hash: str
    error: ToolError | None = None


def compile_file(path: Path) -> CompiledPolicy:
    policy, _text = load_policy_file(path)
    return CompiledPolicy(policy, source=str(path))


def compile_text(text: str, source: str = "<policy>") -> CompiledPolicy:
    return CompiledPolicy(parse_policy_text(text, source), source=source)


class PolicyHolder:
    """A :class:`~agentor_core.interfaces.PolicyEngine` whose policy can be reloaded atomically."""

    def __init__(self, policy: CompiledPolicy, *, path: Path | None = None) -> None:
        self._current = policy
        self._path = path
        self._lock = threading.Lock()

    @classmethod
    def from_file(cls, path: Path) -> PolicyHolder:
        """Load ``path``; raises a ``policy.`` error if it is not a valid policy."""
        return cls(compile_file(path), path=path)

    @property
    def current(self) -> CompiledPolicy:
        return self._current

    @property
    def policy_hash(self) -> str:
        return self._current.hash

    @property
    def approval_ttl_seconds(self) -> int:
        return self._current.approval_ttl_seconds

    def decide(self, call: ToolCall, context: PolicyContext) -> Decision:
        return self._current.decide(call, context)

    def explain(self, call: ToolCall, context: PolicyContext) -> tuple[Decision, list[str]]:
        return self._current.explain(call, context)

    def rate_limit_for(self, call: ToolCall) -> tuple[str, RateLimit] | None:
        return self._current.rate_limit_for(call)

    def reload(self, path: Path | None = None) -> ReloadResult:
        """Read ``path`` (default: the file loaded before) and swap it in if it is valid."""
        with self._lock:
            previous = self._current.hash
            target = path or self._path
            if target is None:
                error = AgentorError(
                    PolicyCode.FILE_UNREADABLE,
                    "this policy was not loaded from a file, so there is nothing to reload",
                    hint="pass the path of the new policy file",
                )
                return ReloadResult(False, previous, previous, error.error)
            try:
                fresh = compile_file(target)
            except AgentorError as error:
                return ReloadResult(False, previous, previous, error.error)
            self._current = fresh
            self._path = target
            return ReloadResult(True, fresh.hash, previous)

    def replace(self, policy: CompiledPolicy) -> None:
        """Swap in an already compiled policy."""
        with self._lock:
            self._current = policy


def default_policy_path() -> Path:
    override = os.environ.get(POLICY_ENV)
    return Path(override).expanduser() if override else config_dir() / "policy.toml"


def policy_engine(path: str | Path | None = None) -> PolicyHolder:
    """Entry-point factory (``agentor.policy_engine``, name ``toml``).

    Loads ``path``, else ``$AGENTOR_POLICY``, else ``<config dir>/policy.toml``.
    A missing or invalid file raises: the host must not run tools without a policy.
    """
    return PolicyHolder.from_file(Path(path) if path is not None else default_policy_path())
