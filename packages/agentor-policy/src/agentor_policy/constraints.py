"""Argument constraints and conditions, compiled once per policy and then pure functions.

Messages name the argument and the constraint, never the value: values come
from a model and may be hostile (terminal escapes, megabytes) or secret.
"""

from __future__ import annotations

import operator
import posixpath
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Final

from agentor_core.canonical import CanonicalizationError, canonical_json
from agentor_core.labels import LabelSet
from agentor_policy.codes import PolicyCode
from agentor_policy.model import ArgConstraint, ArgType, Condition
from agentor_policy.patterns import BoundedPattern, Outcome, bounded

_URL_FORBIDDEN: Final = re.compile(r"[\x00-\x20\x7f\\]")
PATTERN_TIMED_OUT: Final = (
    f"could not be checked: its pattern ran past the time bound ({PolicyCode.PATTERN_TIMEOUT}), "
    "so it counts as not matching"
)
"""A constraint's reason when the value could not be matched in time (fails closed)."""


_KINDS: Final[dict[type, str]] = {
    type(None): "null",
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "string",
    list: "array",
    tuple: "array",
    dict: "object",
}


def _kind(value: Any) -> str:
    """A JSON type name by exact type: booleans are never numbers here (Python says they are)."""
    return _KINDS.get(type(value), "unknown")


_NUMBER_TYPES: Final = frozenset({int, float})


def _is_number(value: Any) -> bool:
    # Exact types: JSON gives int and float, and bool (an int subclass) is no number.
    return type(value) in _NUMBER_TYPES


def _scalar_key(value: Any) -> tuple[str, Any]:
    # Keyed by kind so that True never equals 1 and "1" never equals 1.
    kind = _kind(value)
    if kind in {"integer", "number"}:
        return ("number", value)
    return (kind, value if kind in {"boolean", "string", "null"} else repr(value))


def _type_ok(value: Any, wanted: ArgType) -> bool:
    kind = _kind(value)
    if wanted is ArgType.NUMBER:
        return kind in {"integer", "number"}
    if wanted is ArgType.INTEGER:
        return kind == "integer" or (kind == "number" and float(value).is_integer())
    return kind == wanted.value


def path_is_under(value: str, roots: tuple[str, ...]) -> bool:
    """An absolute POSIX path without ``..``, NUL or backslash, inside one of ``roots``."""
    if not value.startswith("/") or "\x00" in value or "\\" in value:
        return False
    if any(part == ".." for part in value.split("/")):
        return False
    normal = posixpath.normpath(value)
    if normal.startswith("//"):
        normal = "/" + normal.lstrip("/")
    return any(root in ("/", normal) or normal.startswith(root + "/") for root in roots)


_PORT_RE: Final = re.compile(r"[0-9]{0,5}")


def url_host(value: str, schemes: tuple[str, ...]) -> str | None:
    """The lower-case host of an absolute URL with one of ``schemes``, or ``None``.

    A small strict parser instead of ``urlsplit``: parsers disagree about user
    info, backslashes, whitespace and odd ports, which attackers use to make two
    parsers see two hosts, so any of those makes the URL unusable here.
    """
    if len(value) > 8192 or _URL_FORBIDDEN.search(value):
        return None
    scheme, sep, rest = value.partition("://")
    if not sep or scheme.lower() not in schemes:
        return None
    end = len(rest)
    for stop in "/?#":
        found = rest.find(stop)
        if 0 <= found < end:
            end = found
    authority = rest[:end]
    if "@" in authority or "%" in authority:
        return None
    if authority.startswith("["):
        close = authority.find("]")
        if close < 0:
            return None
        host, port = authority[: close + 1], authority[close + 1 :]
        if port and not port.startswith(":"):
            return None
        port = port[1:]
    else:
        host, _, port = authority.partition(":")
        if ":" in port:
            return None
    if not _PORT_RE.fullmatch(port) or (port and not 0 < int(port) <= 65535):
        return None
    host = host.lower().rstrip(".")
    return host or None


def host_allowed(host: str, exact: frozenset[str], suffixes: tuple[str, ...]) -> bool:
    """``host`` is listed, or is a subdomain of a ``*.suffix`` entry (not the suffix itself)."""
    return host in exact or any(
        host.endswith(suffix) and len(host) > len(suffix) for suffix in suffixes
    )


def url_host_allowed(value: str, hosts: tuple[str, ...], schemes: tuple[str, ...]) -> bool:
    host = url_host(value, schemes)
    if host is None:
        return False
    exact = frozenset(h for h in hosts if not h.startswith("*."))
    suffixes = tuple(h[1:] for h in hosts if h.startswith("*."))
    return host_allowed(host, exact, suffixes)


@dataclass(frozen=True, slots=True)
class CompiledConstraint:
    """An :class:`ArgConstraint` flattened for the hot path of ``decide``."""

    spec: ArgConstraint
    kinds: frozenset[str] | None
    """JSON kinds the type admits (``number`` admits integers), or ``None`` for any."""
    integral: bool
    enum_keys: frozenset[tuple[str, Any]] | None
    ranged: bool
    sized: bool
    regex: BoundedPattern | None
    hosts_exact: frozenset[str] | None
    hosts_suffixes: tuple[str, ...]

    @classmethod
    def of(cls, spec: ArgConstraint) -> CompiledConstraint:
        kinds: frozenset[str] | None = None
        if spec.type is ArgType.NUMBER or spec.type is ArgType.INTEGER:
            kinds = frozenset({"integer", "number"})
        elif spec.type is not None:
            kinds = frozenset({spec.type.value})
        hosts = spec.url_hosts
        return cls(
            spec=spec,
            kinds=kinds,
            integral=spec.type is ArgType.INTEGER,
            enum_keys=None if spec.enum is None else frozenset(map(_scalar_key, spec.enum)),
            ranged=spec.minimum is not None or spec.maximum is not None,
            sized=spec.min_length is not None or spec.max_length is not None,
            regex=None if spec.pattern is None else bounded(spec.pattern),
            hosts_exact=None
            if hosts is None
            else frozenset(h for h in hosts if not h.startswith("*.")),
            hosts_suffixes=()
            if hosts is None
            else tuple(h[1:] for h in hosts if h.startswith("*.")),
        )

    def violation(self, value: Any) -> str | None:
        """Why ``value`` breaks this constraint, or ``None`` if it passes."""
        spec = self.spec
        kind = _KINDS.get(type(value), "unknown")
        if self.kinds is not None and (
            kind not in self.kinds
            or (self.integral and kind == "number" and not float(value).is_integer())
        ):
            return f"must be of type {spec.type.value if spec.type else 'JSON'}"
        if self.enum_keys is not None and (
            kind in {"array", "object"} or _scalar_key(value) not in self.enum_keys
        ):
            return "is not one of the allowed values"
        if self.ranged:
            if kind not in {"integer", "number"}:
                return "must be a number"
            if spec.minimum is not None and value < spec.minimum:
                return f"must be at least {spec.minimum}"
            if spec.maximum is not None and value > spec.maximum:
                return f"must be at most {spec.maximum}"
        if self.sized:
            if kind not in {"string", "array"}:
                return "must be a string or an array to have a length"
            if spec.min_length is not None and len(value) < spec.min_length:
                return f"must have at least {spec.min_length} characters or items"
            if spec.max_length is not None and len(value) > spec.max_length:
                return f"must have at most {spec.max_length} characters or items"
        if self.regex is not None:
            if kind != "string":
                return "does not match the required pattern"
            outcome = self.regex.fullmatch(value)
            if outcome is Outcome.TIMED_OUT:
                return PATTERN_TIMED_OUT
            if outcome is Outcome.NO_MATCH:
                return "does not match the required pattern"
        if spec.path_under is not None and (
            kind != "string" or not path_is_under(value, spec.path_under)
        ):
            return f"must be an absolute path under {', '.join(spec.path_under)}"
        if self.hosts_exact is not None:
            host = url_host(value, spec.url_schemes) if kind == "string" else None
            if host is None or not host_allowed(host, self.hosts_exact, self.hosts_suffixes):
                return "must be a URL to an allowed host (" + ", ".join(spec.url_hosts or ()) + ")"
        if spec.max_bytes is not None:
            try:
                size = len(canonical_json(value))
            except CanonicalizationError:
                return "has no canonical JSON form"
            if size > spec.max_bytes:
                return f"must be at most {spec.max_bytes} bytes as JSON"
        return None


class Holds(Enum):
    """A condition's answer: no, yes, or yes because its pattern ran out of time."""

    NO = "no"
    YES = "yes"
    TIMED_OUT = "timed_out"


@dataclass(frozen=True, slots=True)
class CompiledCondition:
    """A :class:`Condition` with its tests flattened, so ``holds`` does no set-up per call."""

    spec: Condition
    arg: str | None
    untrusted: bool | None
    private: bool | None
    present: bool | None
    tests_value: bool
    equals_key: tuple[str, Any] | None
    one_of: frozenset[tuple[str, Any]] | None
    not_one_of: frozenset[tuple[str, Any]] | None
    bounds: tuple[tuple[Callable[[Any, Any], bool], float], ...]
    regex: BoundedPattern | None

    @classmethod
    def of(cls, spec: Condition) -> CompiledCondition:
        bounds = tuple(
            (op, bound)
            for op, bound in (
                (operator.gt, spec.gt),
                (operator.ge, spec.ge),
                (operator.lt, spec.lt),
                (operator.le, spec.le),
            )
            if bound is not None
        )
        return cls(
            spec=spec,
            arg=spec.arg,
            untrusted=spec.untrusted,
            private=spec.private,
            present=spec.present,
            tests_value=any(
                t is not None for t in (spec.equals, spec.one_of, spec.not_one_of, spec.matches)
            )
            or bool(bounds),
            equals_key=None if spec.equals is None else _scalar_key(spec.equals),
            one_of=None if spec.one_of is None else frozenset(map(_scalar_key, spec.one_of)),
            not_one_of=None
            if spec.not_one_of is None
            else frozenset(map(_scalar_key, spec.not_one_of)),
            bounds=bounds,
            regex=None if spec.matches is None else bounded(spec.matches),
        )

    def describe(self) -> str:
        return ", ".join(
            f"{name}={value!r}" for name, value in self.spec.model_dump(exclude_none=True).items()
        )

    def holds(
        self, arguments: Mapping[str, Any], labels: Mapping[str, LabelSet], context: LabelSet
    ) -> bool:
        """Whether the condition holds; a pattern that ran past its bound counts as holding."""
        return self.test(arguments, labels, context) is not Holds.NO

    def test(
        self, arguments: Mapping[str, Any], labels: Mapping[str, LabelSet], context: LabelSet
    ) -> Holds:
        """Whether the condition holds, and whether that rests on a pattern that ran out of time.

        A condition guards a deny or an ask, so a pattern with no answer in time
        counts as holding: the call is refused or asked about, never let through.
        """
        arg = self.arg
        if self.untrusted is not None or self.private is not None:
            label = labels.get(arg, context) if arg is not None else context
            if self.untrusted is not None and (not label.is_trusted) != self.untrusted:
                return Holds.NO
            if self.private is not None and label.is_private != self.private:
                return Holds.NO
        if arg is None:
            return Holds.YES
        present = arg in arguments
        if self.present is not None and present != self.present:
            return Holds.NO
        if not self.tests_value:
            return Holds.YES
        if not present:
            return Holds.NO
        value = arguments[arg]
        if self.equals_key is not None and _scalar_key(value) != self.equals_key:
            return Holds.NO
        if self.one_of is not None and _scalar_key(value) not in self.one_of:
            return Holds.NO
        if self.not_one_of is not None and _scalar_key(value) in self.not_one_of:
            return Holds.NO
        # A non-number compared with a bound is skipped: the condition holds (fails closed).
        if self.bounds and type(value) in _NUMBER_TYPES:
            for op, bound in self.bounds:
                if not op(value, bound):
                    return Holds.NO
        if self.regex is not None and isinstance(value, str):
            # Last of the tests: every other test holds, so only the pattern can decide.
            outcome = self.regex.search(value)
            if outcome is Outcome.NO_MATCH:
                return Holds.NO
            if outcome is Outcome.TIMED_OUT:
                return Holds.TIMED_OUT
        return Holds.YES
