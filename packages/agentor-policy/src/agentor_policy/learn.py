"""``learn``: from decisions recorded in audit-only mode, propose least-privilege tool rules.

Input is JSON Lines, one :class:`~agentor_core.audit.AuditEvent` per line, or
agentor-audit's export (``agentor audit export --format jsonl``: a header line,
``{"kind": "event", "record": {"event": …, "sequence": n}}`` lines, checkpoint
lines). Learning does not verify the log: run ``agentor audit verify`` first.
Only ``decision`` events with a tool and arguments are read.
The proposal is never applied: it is a unified diff of TOML for a person to review.

A proposal is the least a tool was seen to need: every argument ever seen,
typed; numbers bounded by the range seen; strings by the longest seen; URLs
limited to the hosts seen; absolute paths to the directories seen; the
component pinned when one hash was seen. It grants no capabilities: those are
the operator's call.
"""

from __future__ import annotations

import difflib
import json
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from pydantic import ValidationError

from agentor_core.audit import AuditEvent, AuditEventType
from agentor_core.decisions import PolicyContext, Verdict
from agentor_core.errors import AgentorError
from agentor_core.tools import ToolCall
from agentor_core.validation import describe_validation_error
from agentor_policy.codes import PolicyCode
from agentor_policy.constraints import url_host
from agentor_policy.engine import CompiledPolicy
from agentor_policy.holder import compile_file

MAX_LINE_BYTES: Final = 16 * 1024 * 1024
MAX_EVENTS: Final = 1_000_000
MAX_ENUM_LEARNED: Final = 8
_ID_UNSAFE: Final = re.compile(r"[^A-Za-z0-9_.\-]")


def read_events(path: Path) -> Iterator[tuple[int, AuditEvent]]:
    """Each event in ``path`` with its line number; a malformed line stops everything."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise AgentorError(
            PolicyCode.AUDIT_UNREADABLE,
            f"{path}: cannot read the audit log ({exc.strerror or type(exc).__name__})",
            hint="check the path; export the log as JSON Lines",
        ) from None
    with handle:
        for number in range(1, MAX_EVENTS + 2):
            raw = handle.readline(MAX_LINE_BYTES + 1)
            if not raw:
                return
            if number > MAX_EVENTS:
                raise _bad(path, number, f"more than {MAX_EVENTS} events")
            if len(raw) > MAX_LINE_BYTES:
                raise _bad(path, number, f"line longer than {MAX_LINE_BYTES} bytes")
            if not raw.strip():
                continue
            try:
                data = json.loads(raw)
            except (ValueError, RecursionError):
                raise _bad(path, number, "not a JSON value") from None
            data = _unwrap(data)
            if data is None:
                continue
            try:
                yield number, AuditEvent.model_validate(data)
            except ValidationError as exc:
                raise _bad(path, number, describe_validation_error(exc)) from None


def _unwrap(data: Any) -> Any:
    """The event in one line, or ``None`` for an export's header and checkpoint lines.

    Accepts a bare event, ``{"event": …}`` (a log record), and agentor-audit's
    export line ``{"kind": "event", "record": {"event": …, "sequence": n}}``.
    """
    if not isinstance(data, dict):
        return data
    kind = data.get("kind")
    if kind in {"header", "checkpoint"}:
        return None
    if kind == "event" and isinstance(data.get("record"), dict):
        data = data["record"]
    if isinstance(data.get("event"), dict):
        return data["event"]
    return data


def _bad(path: Path, number: int, problem: str) -> AgentorError:
    return AgentorError(
        PolicyCode.AUDIT_UNREADABLE,
        f"{path}: line {number}: {problem}",
        hint="learn reads JSON Lines of AuditEvent objects; nothing was proposed",
    )


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


@dataclass
class _ArgSeen:
    kinds: set[str] = field(default_factory=set)
    count: int = 0
    low: float | None = None
    high: float | None = None
    longest: int = 0
    hosts: set[str] = field(default_factory=set)
    dirs: set[str] = field(default_factory=set)
    urls_only: bool = True
    paths_only: bool = True

    def add(self, value: Any) -> None:
        self.count += 1
        kind = _kind(value)
        self.kinds.add(kind)
        if kind in {"integer", "number"}:
            self.low = value if self.low is None else min(self.low, value)
            self.high = value if self.high is None else max(self.high, value)
        if isinstance(value, str | list):
            self.longest = max(self.longest, len(value))
        if isinstance(value, str):
            host = _url_host(value)
            if host is None:
                self.urls_only = False
            else:
                self.hosts.add(host)
            if (
                value.startswith("/")
                and ".." not in value.split("/")
                and "\x00" not in value
                and "\\" not in value
                and _encodable(value)
            ):
                self.dirs.add(posixpath.dirname(posixpath.normpath(value)) or "/")
            else:
                self.paths_only = False
        else:
            self.urls_only = self.paths_only = False


def _url_host(value: str) -> str | None:
    # The same strict parser the engine uses, so a learned rule admits what was seen.
    host = url_host(value, ("https",))
    if host and re.fullmatch(r"[a-z0-9]([a-z0-9.\-]*[a-z0-9])?", host):
        return host
    return None


@dataclass
class _ToolSeen:
    calls: int = 0
    hashes: set[str | None] = field(default_factory=set)
    args: dict[str, _ArgSeen] = field(default_factory=dict)
    refused: dict[str, int] = field(default_factory=dict)
    """Rule id → recorded calls the current policy's rule for this tool would refuse."""


@dataclass(frozen=True, slots=True)
class Proposal:
    """The diff for review, and what it is based on."""

    diff: str
    new_text: str
    tools: tuple[str, ...]
    decisions_read: int


def observe(path: Path, current: CompiledPolicy | None = None) -> tuple[dict[str, _ToolSeen], int]:
    seen: dict[str, _ToolSeen] = {}
    decisions = 0
    for _number, event in read_events(path):
        if event.type is not AuditEventType.DECISION or event.tool is None:
            continue
        decisions += 1
        tool = seen.setdefault(event.tool, _ToolSeen())
        tool.calls += 1
        tool.hashes.add(event.component_hash)
        if current is not None and current.has_tool_rule(event.tool, event.component_hash):
            # Audit events carry no labels, so this replays the call as if trusted.
            call = ToolCall(
                id=event.call_id or "learn",
                tool=event.tool,
                arguments=event.arguments or {},
                component_hash=event.component_hash,
            )
            decision = current.decide(call, PolicyContext(now=event.time))
            if decision.verdict is Verdict.DENY:
                tool.refused[decision.rule_id] = tool.refused.get(decision.rule_id, 0) + 1
        for name, value in (event.arguments or {}).items():
            if not _encodable(name):
                continue  # left out of the rule, so strict_args refuses it
            tool.args.setdefault(name, _ArgSeen()).add(value)
    return seen, decisions


def _encodable(text: str) -> bool:
    # A lone surrogate has no UTF-8 (and no TOML) form.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def toml_string(value: str) -> str:
    """A TOML basic string: JSON's escapes are TOML escapes; TOML also wants DEL escaped."""
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_\-]+", key) else toml_string(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {type(value).__name__}")  # pragma: no cover


def _rule_id(tool: str, taken: set[str]) -> str:
    base = ("learned." + _ID_UNSAFE.sub("_", tool))[:90]
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    taken.add(candidate)
    return candidate


def render_rule(tool: str, seen: _ToolSeen, rule_id: str) -> str:
    lines = [
        f"# learned from {seen.calls} recorded call(s) of {tool}; review before use",
        "[[tool]]",
        f"id = {toml_string(rule_id)}",
        f"name = {toml_string(tool)}",
    ]
    hashes = {h for h in seen.hashes if h is not None}
    if len(hashes) == 1 and None not in seen.hashes:
        lines.append(f"component_hash = {toml_string(hashes.pop())}")
    for name in sorted(seen.args):
        arg = seen.args[name]
        body: list[tuple[str, Any]] = []
        kinds = arg.kinds
        if kinds <= {"integer"}:
            body.append(("type", "integer"))
        elif kinds <= {"integer", "number"}:
            body.append(("type", "number"))
        elif len(kinds) == 1:
            body.append(("type", next(iter(kinds))))
        if arg.count == seen.calls:
            body.append(("required", True))
        if kinds <= {"integer", "number"} and arg.low is not None and arg.high is not None:
            body += [("minimum", arg.low), ("maximum", arg.high)]
        if kinds == {"string"} and arg.urls_only and arg.hosts:
            body.append(("url_hosts", sorted(arg.hosts)))
        elif kinds == {"string"} and arg.paths_only and arg.dirs:
            body.append(("path_under", sorted(arg.dirs)))
        if kinds <= {"string", "array"}:
            body.append(("max_length", arg.longest))
        lines.append(f"[tool.args.{toml_key(name)}]")
        lines += [f"{key} = {_toml_value(value)}" for key, value in body]
    return "\n".join(lines) + "\n"


def propose(audit_log: Path, policy_path: Path | None = None) -> Proposal:
    """A diff adding a rule for each tool seen in ``audit_log`` that no tool rule matches.

    For a tool that already has a rule, recorded calls that rule would refuse
    are listed as comments naming the rule, for a person to widen it.
    """
    current = compile_file(policy_path) if policy_path is not None else None
    seen, decisions = observe(audit_log, current)
    if policy_path is not None:
        old_text = policy_path.read_text(encoding="utf-8")
        label = str(policy_path)
    else:
        old_text = "version = 1\n"
        label = "policy.toml"
    taken = set()
    if current is not None:
        taken = {r.id for r in (*current.policy.deny, *current.policy.tool)}
    blocks: list[str] = []
    tools: list[str] = []
    for tool in sorted(seen):
        if current is not None and _covered(current, tool, seen[tool]):
            # A person widens an existing rule; learn only says where and why.
            blocks += [
                f"# learn: {count} recorded call(s) of {tool} are refused by rule "
                f"{toml_string(rule_id)}; widen it by hand if they should run\n"
                for rule_id, count in sorted(seen[tool].refused.items())
            ]
            continue
        tools.append(tool)
        blocks.append(render_rule(tool, seen[tool], _rule_id(tool, taken)))
    new_text = old_text
    if blocks:
        new_text = old_text.rstrip("\n") + "\n\n" + "\n".join(blocks)
    diff = "".join(
        difflib.unified_diff(
            old_text.splitlines(keepends=True),
            new_text.splitlines(keepends=True),
            fromfile=f"a/{label}",
            tofile=f"b/{label}",
        )
    )
    return Proposal(diff=diff, new_text=new_text, tools=tuple(tools), decisions_read=decisions)


def _covered(policy: CompiledPolicy, tool: str, seen: _ToolSeen) -> bool:
    hashes = seen.hashes or {None}
    return all(policy.has_tool_rule(tool, component_hash) for component_hash in hashes)
