"""Rate limits: token buckets, kept out of the pure decision function.

The policy declares limits; this object holds the buckets. The host calls
:meth:`RateLimiter.admit` right before it runs a call that the policy allowed
(and a person approved, for ``ask``): that is when a token is spent. Time comes
from an injected monotonic clock, so tests drive it without sleeping.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Protocol

from agentor_core.decisions import Decision, PolicyContext, Verdict
from agentor_core.errors import AgentorError
from agentor_core.tools import ToolCall
from agentor_policy.codes import PolicyCode
from agentor_policy.model import RateLimit

MAX_BUCKETS: Final = 100_000


class RateLimited(Protocol):
    """Anything that can say which rate limit applies to a call (a policy or its holder)."""

    @property
    def policy_hash(self) -> str: ...

    def rate_limit_for(self, call: ToolCall) -> tuple[str, RateLimit] | None: ...


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float
    capacity: float
    rate: float


class RateLimiter:
    """Token buckets per tool rule, or per tool rule and session."""

    def __init__(
        self,
        policy: RateLimited,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_buckets: int = MAX_BUCKETS,
    ) -> None:
        self._policy = policy
        self._clock = clock
        self._max = max_buckets
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._lock = threading.Lock()

    def admit(self, call: ToolCall, context: PolicyContext) -> Decision | None:
        """Spend one token for ``call``; ``None`` if it may run, else a deny decision."""
        found = self._policy.rate_limit_for(call)
        if found is None:
            return None
        rule_id, limit = found
        scope = (context.session_id or "") if limit.scope == "session" else ""
        key = (rule_id, scope)
        rate = limit.tokens / limit.per_seconds
        with self._lock:
            now = self._clock()
            bucket = self._buckets.get(key)
            if bucket is None:
                self._make_room(now)
                bucket = self._buckets[key] = _Bucket(
                    float(limit.tokens), now, float(limit.tokens), rate
                )
            # A reloaded policy may change the limit: the bucket follows it.
            bucket.capacity, bucket.rate = float(limit.tokens), rate
            elapsed = max(0.0, now - bucket.updated)
            bucket.tokens = min(bucket.capacity, bucket.tokens + elapsed * rate)
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return None
        where = (
            f" in session {(context.session_id or '')[:64]!r}" if limit.scope == "session" else ""
        )
        return Decision(
            verdict=Verdict.DENY,
            rule_id=f"{rule_id}.rate_limit"[:256],
            reason=(
                f"rate limit of tool rule {rule_id!r} reached{where}: "
                f"{limit.tokens} call(s) per {limit.per_seconds:g} s"
            ),
            policy_hash=self._policy.policy_hash,
        )

    def _make_room(self, now: float) -> None:
        if len(self._buckets) < self._max:
            return
        # A bucket that has refilled to capacity carries no information: dropping
        # it and creating it full later is the same thing. Anything else stays.
        full = [
            key
            for key, b in self._buckets.items()
            if b.tokens + max(0.0, now - b.updated) * b.rate >= b.capacity
        ]
        for key in full:
            del self._buckets[key]
        if not full:
            raise AgentorError(
                PolicyCode.RATE_STATE_FULL,
                f"the rate limiter tracks {self._max} buckets and none has refilled",
                hint="fewer distinct sessions at once, or a larger max_buckets",
            )
