"""The policy file's schema: pydantic models, frozen, unknown keys refused.

These models are the canonical form of a policy: the policy hash is computed
over their JSON dump, so two files that differ only in layout, comments or
spelled-out defaults have the same hash.
"""

from __future__ import annotations

import posixpath
import re
import warnings
from enum import StrEnum
from typing import Annotated, Final, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    StringConstraints,
    field_validator,
    model_validator,
)

from agentor_core.bounds import NAME_PATTERN, Name, Sha256Hex
from agentor_core.capabilities import Capabilities
from agentor_policy.patterns import bounded

MAX_RULES: Final = 10_000
MAX_ARGS_PER_TOOL: Final = 256
MAX_CONDITIONS: Final = 64
MAX_ENUM_ITEMS: Final = 1024
MAX_PATTERN_CHARS: Final = 512
MAX_SAFE_INT: Final = 2**53 - 1

RuleName = Annotated[str, StringConstraints(min_length=1, max_length=96, pattern=NAME_PATTERN)]
"""A rule id: the name a decision cites, so it stays short and printable."""
Glob = Annotated[
    str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.\-*?]+$")
]
"""A tool-name glob: ``*`` any run of characters, ``?`` one character."""
Note = Annotated[str, StringConstraints(max_length=1024)]
Int = Annotated[int, Field(strict=True, ge=-MAX_SAFE_INT, le=MAX_SAFE_INT)]
Float = Annotated[float, Field(strict=True, allow_inf_nan=False)]
Scalar = StrictBool | Int | Float | Annotated[StrictStr, StringConstraints(max_length=4096)]
Regex = Annotated[str, StringConstraints(min_length=1, max_length=MAX_PATTERN_CHARS)]
Size = Annotated[int, Field(strict=True, ge=0, le=256 * 1024**2)]

_FROZEN: Final = ConfigDict(frozen=True, extra="forbid")


def _check_regex(value: str | None) -> str | None:
    if value is not None:
        with warnings.catch_warnings():
            # Python warns about syntax whose meaning will change; refuse it now.
            warnings.simplefilter("error")
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc.msg}") from None
            except (OverflowError, RecursionError):
                # re raises these, not re.error, for a{4294967296} or deep nesting.
                raise ValueError(
                    "not a valid regular expression: a repeat count or nesting too large"
                ) from None
            except (FutureWarning, DeprecationWarning, SyntaxWarning):
                raise ValueError(
                    "ambiguous regular expression (escape a literal '[' as '\\[')"
                ) from None
        # Compiled for the bounded engine now, so a pattern it refuses fails the load.
        bounded(value)
    return value


def _exact_int(value: object) -> object:
    # Literal[1] would take True (True == 1 in Python); a version is a number.
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError("must be the integer 1")
    return value


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _strict_grant(value: object) -> object:
    """Refuse the lax conversions agentor-core's models allow ("yes" as true, "100" as 100).

    A grant is the most sensitive part of a policy: what the file says must be
    exactly what the sandbox gets, with no guessing about strings.
    """
    if not isinstance(value, dict):
        return value
    limits = value.get("limits")
    if isinstance(limits, dict) and not all(_is_int(v) for v in limits.values()):
        raise ValueError("every limit must be an integer (no quotes, no booleans)")
    for entry in value.get("filesystem") or ():
        if isinstance(entry, dict) and not isinstance(entry.get("write", False), bool):
            raise ValueError("filesystem 'write' must be true or false")
    for entry in value.get("network") or ():
        if isinstance(entry, dict) and not _is_int(entry.get("port", 1)):
            raise ValueError("network 'port' must be an integer")
    for entry in value.get("secrets") or ():
        if isinstance(entry, dict) and entry.get("carried_in"):
            # A tool reaches a secret only through {{secret:NAME}}; carried_in is for the
            # host's own clients (an outside server's OAuth tokens), never a tool's grant.
            raise ValueError(
                "secrets 'carried_in' is not for tools: refer to the secret as {{secret:NAME}}"
            )
    return value


def _safe_number(value: object) -> object:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_SAFE_INT:
        raise ValueError("integers beyond ±(2**53 - 1) have no exact JSON form")
    return value


Number = Annotated[Int | Float, BeforeValidator(_safe_number)]


class Action(StrEnum):
    """What an information-flow rule does when it fires."""

    DENY = "deny"
    ASK = "ask"
    ALLOW = "allow"


class ArgType(StrEnum):
    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    ARRAY = "array"
    OBJECT = "object"
    NULL = "null"


class ArgConstraint(BaseModel):
    """What one argument may hold. Every test given must pass; none given means any value."""

    model_config = _FROZEN

    type: ArgType | None = None
    required: StrictBool = False
    enum: tuple[Scalar, ...] | None = Field(default=None, min_length=1, max_length=MAX_ENUM_ITEMS)
    minimum: Number | None = None
    maximum: Number | None = None
    min_length: Size | None = None
    """Characters of a string, items of an array."""
    max_length: Size | None = None
    pattern: Regex | None = None
    """A regular expression the whole string must match."""
    path_under: tuple[Annotated[str, StringConstraints(max_length=1024)], ...] | None = Field(
        default=None, min_length=1, max_length=64
    )
    """The value is an absolute POSIX path inside one of these directories (no ``..``)."""
    url_hosts: tuple[Annotated[str, StringConstraints(max_length=253)], ...] | None = Field(
        default=None, min_length=1, max_length=256
    )
    """The value is a URL whose host is one of these (``*.example.com``: subdomains)."""
    url_schemes: tuple[Literal["https", "http"], ...] = ("https",)
    max_bytes: Size | None = None
    """Size of the value's canonical JSON, in bytes."""

    @field_validator("pattern")
    @classmethod
    def _pattern_compiles(cls, value: str | None) -> str | None:
        return _check_regex(value)

    @field_validator("path_under")
    @classmethod
    def _roots(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is None:
            return None
        roots = []
        for root in value:
            if not root.startswith("/") or "\x00" in root or "\\" in root:
                raise ValueError("path_under entries must be absolute POSIX paths")
            if any(part == ".." for part in root.split("/")):
                raise ValueError("path_under entries must not contain '..'")
            roots.append(posixpath.normpath(root))
        return tuple(roots)

    @field_validator("url_hosts")
    @classmethod
    def _hosts(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is None:
            return None
        host_re = re.compile(r"^(\*\.)?[a-z0-9]([a-z0-9.\-]*[a-z0-9])?$")
        hosts = tuple(h.lower().rstrip(".") for h in value)
        if not all(host_re.match(h) for h in hosts):
            raise ValueError("url_hosts entries must be host names, optionally '*.'-prefixed")
        return hosts

    @model_validator(mode="after")
    def _consistent(self) -> ArgConstraint:
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError("minimum is greater than maximum")
        if (
            self.min_length is not None
            and self.max_length is not None
            and self.min_length > self.max_length
        ):
            raise ValueError("min_length is greater than max_length")
        return self


class Condition(BaseModel):
    """A test on a call. It holds when every test given holds.

    Value tests (``equals`` … ``matches``) on an argument that is absent do not
    hold. A comparison on a value of the wrong type (``gt`` on a string) *holds*:
    a condition guards a deny or an ask, so an unexpected type fails closed.
    Label tests (``untrusted``, ``private``) read the argument's labels, or the
    whole context's when the argument has none or no ``arg`` is named.
    """

    model_config = _FROZEN

    arg: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = None
    present: StrictBool | None = None
    equals: Scalar | None = None
    one_of: tuple[Scalar, ...] | None = Field(default=None, min_length=1, max_length=MAX_ENUM_ITEMS)
    not_one_of: tuple[Scalar, ...] | None = Field(
        default=None, min_length=1, max_length=MAX_ENUM_ITEMS
    )
    gt: Number | None = None
    ge: Number | None = None
    lt: Number | None = None
    le: Number | None = None
    matches: Regex | None = None
    untrusted: StrictBool | None = None
    private: StrictBool | None = None

    @field_validator("matches")
    @classmethod
    def _matches_compiles(cls, value: str | None) -> str | None:
        return _check_regex(value)

    @model_validator(mode="after")
    def _has_test(self) -> Condition:
        value_tests = (
            self.present,
            self.equals,
            self.one_of,
            self.not_one_of,
            self.gt,
            self.ge,
            self.lt,
            self.le,
            self.matches,
        )
        if all(t is None for t in (*value_tests, self.untrusted, self.private)):
            raise ValueError("a condition needs at least one test (equals, gt, untrusted, ...)")
        if self.arg is None and any(t is not None for t in value_tests):
            raise ValueError("value tests need 'arg', the argument they test")
        return self


class RateLimit(BaseModel):
    """A token bucket: ``tokens`` calls, refilled evenly over ``per_seconds``."""

    model_config = _FROZEN

    tokens: Annotated[int, Field(strict=True, ge=1, le=1_000_000)]
    per_seconds: Annotated[float, Field(strict=True, gt=0, le=7 * 86400, allow_inf_nan=False)]
    scope: Literal["tool", "session"] = "tool"
    """``tool``: one bucket for every caller; ``session``: one per session id."""


class Sink(BaseModel):
    """Arguments through which data leaves or the world changes."""

    model_config = _FROZEN

    args: tuple[Annotated[str, StringConstraints(min_length=1, max_length=128)], ...] = Field(
        default=("*",), max_length=MAX_ARGS_PER_TOOL
    )
    """Names of sink arguments; ``"*"`` means every argument. Empty only beside ``embedded``:
    a sink whose one destination is fixed (the user, reading an answer) but whose text
    carries links its reader may follow."""
    external: StrictBool = True
    """Data sent here leaves the operator's control (counts for the lethal trifecta)."""
    embedded: tuple[Annotated[str, StringConstraints(min_length=1, max_length=128)], ...] = Field(
        default=(), max_length=MAX_ARGS_PER_TOOL
    )
    """Free-text arguments (a message body) whose embedded destinations are sinks: a URL
    or e-mail address written inside them is followed by whoever reads the text, so it
    is judged on its own provenance (``ToolCall.embedded_labels``). ``"*"``: every argument."""

    @model_validator(mode="after")
    def _something_is_a_sink(self) -> Sink:
        if not self.args and not self.embedded:
            raise ValueError("a sink needs args (or embedded): name what leaves or changes")
        return self


FieldName = Annotated[str, StringConstraints(min_length=1, max_length=128)]


class Output(BaseModel):
    """What a tool's output holds, as the operator knows it from the tool's documentation."""

    model_config = _FROZEN

    system_fields: tuple[FieldName, ...] = Field(default=(), max_length=MAX_ARGS_PER_TOOL)
    """Keys of the structured output the system fills in (ids, names in a directory, account
    numbers, dates) rather than free text a third party wrote; their values are labelled
    trusted_tool. ``"$"``: items of a bare top-level list (or a bare scalar)."""
    private: StrictBool = False
    """The output is the user's private data (labelled private: the lethal trifecta applies)."""

    @field_validator("system_fields")
    @classmethod
    def _no_wildcard(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        # "Every field is system-filled" is what `trusted = true` says; make it explicit.
        if "*" in value:
            raise ValueError("'*' is not a field; declare the tool trusted = true instead")
        return value


class _Matcher(BaseModel):
    model_config = _FROZEN

    id: RuleName
    name: Name | None = None
    glob: Glob | None = None
    component_hash: Sha256Hex | None = None

    @model_validator(mode="after")
    def _one_target(self) -> _Matcher:
        if self.name is not None and self.glob is not None:
            raise ValueError("give 'name' or 'glob', not both")
        if self.name is None and self.glob is None and self.component_hash is None:
            raise ValueError("a rule needs 'name', 'glob' or 'component_hash' to match tools")
        return self


class DenyRule(_Matcher):
    """Refuses matching calls, before any tool rule is read. Adding one never allows more."""

    when: tuple[Condition, ...] = Field(default=(), max_length=MAX_CONDITIONS)
    """Deny only if one of these holds; empty means always."""
    reason: Annotated[str, StringConstraints(min_length=1, max_length=1024)] = (
        "refused by a deny rule"
    )


class ToolRule(_Matcher):
    """What a matching tool may do: its grant, argument constraints, approval, flow, limits."""

    note: Note = ""
    trusted: StrictBool = False
    """The tool's output is trusted data (labelled trusted_tool)."""
    grant: Annotated[Capabilities, BeforeValidator(_strict_grant)] = Field(
        default_factory=Capabilities
    )
    args: dict[Annotated[str, StringConstraints(min_length=1, max_length=128)], ArgConstraint] = (
        Field(default_factory=dict, max_length=MAX_ARGS_PER_TOOL)
    )
    strict_args: StrictBool = True
    """Refuse arguments not listed in ``args``."""
    approval: Literal["never", "always", "when"] = "never"
    ask_when: tuple[Condition, ...] = Field(default=(), max_length=MAX_CONDITIONS)
    sink: Sink | None = None
    output: Output = Field(default_factory=Output)
    """Which output fields the system fills in, and whether the output is private."""
    untrusted_to_sink: Action | None = None
    """Overrides ``flow.untrusted_to_sink`` for this tool."""
    off_plan: Action | None = None
    """Overrides ``flow.off_plan`` for this tool (and applies to it even without a sink)."""
    rate_limit: RateLimit | None = None

    @model_validator(mode="after")
    def _approval_conditions(self) -> ToolRule:
        if self.approval == "when" and not self.ask_when:
            raise ValueError("approval = 'when' needs at least one [[tool.ask_when]] condition")
        if self.approval != "when" and self.ask_when:
            raise ValueError("ask_when is only read with approval = 'when'")
        return self


class FlowRules(BaseModel):
    """Information-flow rules, applied to every tool that declares a sink."""

    model_config = _FROZEN

    untrusted_to_sink: Action = Action.ASK
    """A sink argument derived from untrusted data (a document, an untrusted tool, the model)."""
    lethal_trifecta: Action = Action.DENY
    """Private data reaching an external sink while untrusted content is in play."""
    off_plan: Action = Action.ASK
    """A call to a tool with a sink that is outside the agent's declared plan while
    untrusted content is in play (``ToolCall.off_plan``): untrusted text may have
    chosen the tool itself. Tools without a sink (reads) are not affected unless
    their rule sets ``off_plan``."""


class PolicyFile(BaseModel):
    """A whole policy. Anything no rule allows is denied."""

    model_config = _FROZEN

    version: Annotated[Literal[1], BeforeValidator(_exact_int)]
    approval_ttl_seconds: Annotated[int, Field(strict=True, ge=1, le=86400)] = 300
    flow: FlowRules = Field(default_factory=FlowRules)
    deny: tuple[DenyRule, ...] = Field(default=(), max_length=MAX_RULES)
    tool: tuple[ToolRule, ...] = Field(default=(), max_length=MAX_RULES)

    @model_validator(mode="after")
    def _unique(self) -> PolicyFile:
        seen: set[str] = set()
        for rule in (*self.deny, *self.tool):
            if rule.id in seen:
                raise ValueError(f"rule id {rule.id!r} is used twice; ids must be unique")
            seen.add(rule.id)
        targets: set[tuple[str | None, str | None, str | None]] = set()
        for rule in self.tool:
            key = (rule.name, rule.glob, rule.component_hash)
            if key in targets:
                raise ValueError(
                    f"tool rule {rule.id!r} matches exactly what an earlier tool rule matches"
                )
            targets.add(key)
        return self
