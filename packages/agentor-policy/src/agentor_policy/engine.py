"""The compiled policy and its pure decision function.

:class:`CompiledPolicy` is built once from a :class:`~agentor_policy.model.PolicyFile`
and never changes. ``decide`` reads only the call, the context and the compiled
policy: no clock, no counters, no I/O. Rate limits, which need state, live in
:mod:`agentor_policy.ratelimit`.

Order of evaluation (the first deny wins; otherwise the first ask; otherwise allow):

1. ``[[deny]]`` rules matching the tool, in file order;
2. the tool rule: exact name (pinned to the component hash when given), then
   component hash alone, then globs in file order; none means ``default.deny``;
3. argument constraints (unlisted arguments refused unless ``strict_args = false``);
4. information flow on sink arguments: lethal trifecta, then untrusted-to-sink;
   then control flow: a call outside the agent's declared plan (``flow.off_plan``);
5. approval: ``always``, or ``when`` one of ``ask_when`` holds.

Operator patterns run with a time bound (:mod:`agentor_policy.patterns`); one
that runs past it fails closed (a constraint broken, a condition holding), the
one way the machine's speed can change a decision.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import translate
from functools import lru_cache
from typing import Any, Final

from agentor_core.canonical import canonical_json, sha256_hex
from agentor_core.decisions import Decision, Obligations, PolicyContext, Verdict
from agentor_core.labels import LabelSet
from agentor_core.tools import ToolCall
from agentor_policy.codes import PolicyCode
from agentor_policy.constraints import CompiledCondition, CompiledConstraint, Holds
from agentor_policy.model import Action, DenyRule, PolicyFile, RateLimit, ToolRule

DEFAULT_DENY: Final = "default.deny"
LETHAL_TRIFECTA: Final = "flow.lethal_trifecta"
UNTRUSTED_TO_SINK: Final = "flow.untrusted_to_sink"
OFF_PLAN: Final = "flow.off_plan"
_RESOLVE_CACHE: Final = 4096
_OFF_PLAN_REASON: Final = (
    "tool rule {!r}: the agent did not declare this tool in its plan before untrusted "
    "content entered its context, so that content may have chosen the call"
)
_NO_OBLIGATIONS: Final = Obligations()
_TIMED_OUT_CONDITION: Final = (
    f"a condition's pattern ran past its time bound on this call ({PolicyCode.PATTERN_TIMEOUT}), "
    "so the condition counts as holding"
)


def policy_hash(policy: PolicyFile) -> str:
    """SHA-256 of the RFC 8785 canonical JSON of the parsed policy."""
    return sha256_hex(canonical_json(policy.model_dump(mode="json")))


def _short(name: str) -> str:
    # Names in reasons may come from a model: bounded and escaped by repr.
    return repr(name[:64])


@dataclass(frozen=True, slots=True)
class _Deny:
    rule: DenyRule
    index: int
    when: tuple[CompiledCondition, ...]


def _fires(
    deny: _Deny, arguments: Mapping[str, Any], labels: Mapping[str, LabelSet], context: LabelSet
) -> Holds:
    if not deny.when:
        return Holds.YES
    for condition in deny.when:
        held = condition.test(arguments, labels, context)
        if held is not Holds.NO:
            return held
    return Holds.NO


@dataclass(frozen=True, slots=True)
class _Tool:
    rule: ToolRule
    index: int
    args: tuple[tuple[str, CompiledConstraint], ...]
    required: frozenset[str]
    ask_when: tuple[CompiledCondition, ...]
    sink_all: bool
    sink_args: frozenset[str]
    embedded_all: bool
    embedded_args: frozenset[str]
    obligations: Obligations
    allow: Decision


def _approval(
    tool: _Tool, arguments: Mapping[str, Any], labels: Mapping[str, LabelSet], context: LabelSet
) -> tuple[str, str] | None:
    """The tool rule's own approval: ``always``, or ``when`` one of its conditions holds."""
    rule = tool.rule
    if rule.approval == "always":
        return f"{rule.id}.approval", f"tool rule {rule.id!r} asks before every call"
    if rule.approval == "when":
        for condition in tool.ask_when:
            held = condition.test(arguments, labels, context)
            if held is not Holds.NO:
                reason = f"tool rule {rule.id!r} asks when {condition.describe()}"
                if held is Holds.TIMED_OUT:
                    reason += f"; {_TIMED_OUT_CONDITION}"
                return f"{rule.id}.approval", reason
    return None


@dataclass(frozen=True, slots=True)
class _Resolved:
    denies: tuple[_Deny, ...]
    tool: _Tool | None
    pinned_mismatch: _Tool | None
    """A rule names this tool but pins another component: the call is refused."""


class CompiledPolicy:
    """An immutable, compiled policy; ``decide`` is pure and deterministic."""

    def __init__(self, policy: PolicyFile, *, source: str = "<policy>") -> None:
        self.policy = policy
        self.source = source
        self.hash = policy_hash(policy)
        self._denies = tuple(
            _Deny(rule, i, tuple(CompiledCondition.of(c) for c in rule.when))
            for i, rule in enumerate(policy.deny)
        )
        self._tools = tuple(self._compile_tool(rule, i) for i, rule in enumerate(policy.tool))
        self._by_name: dict[str, list[_Tool]] = {}
        self._by_hash: dict[str, _Tool] = {}
        self._globs: list[tuple[re.Pattern[str], _Tool]] = []
        for tool in self._tools:
            rule = tool.rule
            if rule.name is not None:
                self._by_name.setdefault(rule.name, []).append(tool)
            elif rule.glob is not None:
                self._globs.append((re.compile(translate(rule.glob)), tool))
            elif rule.component_hash is not None:
                self._by_hash[rule.component_hash] = tool
        self._deny_globs = tuple(
            (None if d.rule.glob is None else re.compile(translate(d.rule.glob)), d)
            for d in self._denies
        )
        # Pure memoisation keyed by (tool, component hash); bounded because names
        # come from a model.
        self._resolve = lru_cache(maxsize=_RESOLVE_CACHE)(self._resolve_uncached)
        self._memo: dict[tuple[Verdict, str, str, int], Decision] = {}
        self._default_deny = Decision(
            verdict=Verdict.DENY,
            rule_id=DEFAULT_DENY,
            reason="no rule in the policy allows this tool (deny by default)",
            policy_hash=self.hash,
        )

    def _compile_tool(self, rule: ToolRule, index: int) -> _Tool:
        obligations = Obligations(
            grant=rule.grant,
            trusted_output=rule.trusted,
            system_fields=rule.output.system_fields,
            private_output=rule.output.private,
        )
        sink_args = frozenset(rule.sink.args) if rule.sink is not None else frozenset()
        embedded = frozenset(rule.sink.embedded) if rule.sink is not None else frozenset()
        return _Tool(
            rule=rule,
            index=index,
            args=tuple((name, CompiledConstraint.of(c)) for name, c in rule.args.items()),
            required=frozenset(name for name, c in rule.args.items() if c.required),
            ask_when=tuple(CompiledCondition.of(c) for c in rule.ask_when),
            sink_all="*" in sink_args,
            sink_args=sink_args - {"*"},
            embedded_all="*" in embedded,
            embedded_args=embedded - {"*"},
            obligations=obligations,
            allow=Decision(
                verdict=Verdict.ALLOW,
                rule_id=rule.id,
                reason=f"allowed by tool rule {rule.id!r}",
                obligations=obligations,
                policy_hash=self.hash,
            ),
        )

    @property
    def policy_hash(self) -> str:
        return self.hash

    @property
    def approval_ttl_seconds(self) -> int:
        return self.policy.approval_ttl_seconds

    def _resolve_uncached(self, name: str, component_hash: str | None) -> _Resolved:
        denies = []
        for pattern, deny in self._deny_globs:
            rule = deny.rule
            if rule.name is not None and rule.name != name:
                continue
            if pattern is not None and pattern.match(name) is None:
                continue
            if rule.component_hash is not None and rule.component_hash != component_hash:
                continue
            denies.append(deny)
        named = self._by_name.get(name, [])
        for tool in named:
            if tool.rule.component_hash is not None and tool.rule.component_hash == component_hash:
                return _Resolved(tuple(denies), tool, None)
        for tool in named:
            if tool.rule.component_hash is None:
                return _Resolved(tuple(denies), tool, None)
        if named:
            return _Resolved(tuple(denies), None, named[0])
        if component_hash is not None and component_hash in self._by_hash:
            return _Resolved(tuple(denies), self._by_hash[component_hash], None)
        for pattern, tool in self._globs:
            if pattern.match(name) is not None and (
                tool.rule.component_hash is None or tool.rule.component_hash == component_hash
            ):
                return _Resolved(tuple(denies), tool, None)
        return _Resolved(tuple(denies), None, None)

    def has_tool_rule(self, name: str, component_hash: str | None) -> bool:
        """Whether some tool rule matches this tool (whatever its arguments)."""
        return self._resolve(name, component_hash).tool is not None

    def rate_limit_for(self, call: ToolCall) -> tuple[str, RateLimit] | None:
        """The rule id and rate limit that apply to ``call``, if any."""
        tool = self._resolve(call.tool, call.component_hash).tool
        if tool is None or tool.rule.rate_limit is None:
            return None
        return tool.rule.id, tool.rule.rate_limit

    def decide(self, call: ToolCall, context: PolicyContext) -> Decision:
        """allow, deny or ask for ``call``; the same inputs always give the same decision."""
        return self._evaluate(call, None)

    def explain(self, call: ToolCall, context: PolicyContext) -> tuple[Decision, list[str]]:
        """The decision and each step that led to it, for people."""
        trace: list[str] = []
        return self._evaluate(call, trace), trace

    def _decision(
        self,
        verdict: Verdict,
        rule_id: str,
        reason: str,
        obligations: Obligations,
        *,
        memo: bool = True,
    ) -> Decision:
        """A decision; those whose text comes only from the policy are built once and reused.

        Decisions are frozen, so sharing one is safe, and building a pydantic
        model costs more than the rest of a decision together. Text that quotes
        the call (an unknown argument's name) is never memoised: the memo's size
        is bounded by the policy, not by what a model sends.
        """
        if verdict is Verdict.DENY:
            obligations = _NO_OBLIGATIONS
        key = (verdict, rule_id, reason, id(obligations))
        if memo:
            found = self._memo.get(key)
            if found is not None:
                return found
        decision = Decision(
            verdict=verdict,
            rule_id=rule_id[:256],
            reason=reason[:4096],
            obligations=obligations,
            policy_hash=self.hash,
        )
        if memo:
            self._memo[key] = decision
        return decision

    def _evaluate(self, call: ToolCall, trace: list[str] | None) -> Decision:
        resolved = self._resolve(call.tool, call.component_hash)
        arguments = call.arguments
        labels = call.labels
        context = call.context_labels
        for deny in resolved.denies:
            fired = _fires(deny, arguments, labels, context)
            if fired is Holds.YES:
                if trace is not None:
                    trace.append(f"deny rule {deny.rule.id!r} matches and its conditions hold")
                return self._decision(Verdict.DENY, deny.rule.id, deny.rule.reason, _NO_OBLIGATIONS)
            if fired is Holds.TIMED_OUT:
                if trace is not None:
                    trace.append(f"deny rule {deny.rule.id!r} matches; {_TIMED_OUT_CONDITION}")
                return self._decision(
                    Verdict.DENY,
                    deny.rule.id,
                    f"{deny.rule.reason} ({_TIMED_OUT_CONDITION})",
                    _NO_OBLIGATIONS,
                )
            if trace is not None:
                trace.append(f"deny rule {deny.rule.id!r} matches the tool; no condition holds")
        if resolved.pinned_mismatch is not None:
            rule = resolved.pinned_mismatch.rule
            if trace is not None:
                trace.append(f"tool rule {rule.id!r} names the tool but pins another component")
            return self._decision(
                Verdict.DENY,
                f"{rule.id}.component_hash",
                f"tool {_short(call.tool)} is not the component pinned by rule {rule.id!r}",
                _NO_OBLIGATIONS,
            )
        tool = resolved.tool
        if tool is None:
            if trace is not None:
                trace.append(f"no tool rule matches {_short(call.tool)}")
            return self._default_deny
        rule = tool.rule
        if trace is not None:
            how = "name" if rule.name else ("glob" if rule.glob else "component hash")
            trace.append(f"tool rule {rule.id!r} matches by {how}")

        problem = self._check_arguments(tool, arguments)
        if problem is not None:
            rule_id, reason = problem
            if trace is not None:
                trace.append(f"argument check failed: {reason}")
            return self._decision(
                Verdict.DENY, rule_id, reason, _NO_OBLIGATIONS, memo=rule_id != f"{rule.id}.args"
            )
        if trace is not None and (tool.args or rule.strict_args):
            trace.append("every argument passes its constraints")

        ask: tuple[str, str] | None = None
        if rule.sink is not None:
            flow = self._check_flow(tool, call, context, trace)
            if flow is not None:
                action, rule_id, reason = flow
                if action is Action.DENY:
                    return self._decision(Verdict.DENY, rule_id, reason, _NO_OBLIGATIONS)
                ask = (rule_id, reason)

        off_plan = self._check_plan(rule, call, trace)
        if off_plan is Action.DENY:
            return self._decision(
                Verdict.DENY, OFF_PLAN, _OFF_PLAN_REASON.format(rule.id), _NO_OBLIGATIONS
            )
        if off_plan is Action.ASK and ask is None:
            ask = (OFF_PLAN, _OFF_PLAN_REASON.format(rule.id))

        if ask is None:
            ask = _approval(tool, arguments, labels, context)
        if ask is not None:
            if trace is not None:
                trace.append(f"a person must approve: {ask[1]}")
            return self._decision(Verdict.ASK, ask[0], ask[1], tool.obligations)
        if trace is not None:
            trace.append(f"allowed by tool rule {rule.id!r}")
        return tool.allow

    def _check_plan(self, rule: ToolRule, call: ToolCall, trace: list[str] | None) -> Action:
        """Control flow: what an off-plan call of this tool gets (reads are free by default)."""
        if not call.off_plan:
            return Action.ALLOW
        action = rule.off_plan or (
            self.policy.flow.off_plan if rule.sink is not None else Action.ALLOW
        )
        if trace is not None:
            trace.append(f"the tool is outside the agent's declared plan: {action.value}")
        return action

    @staticmethod
    def _check_arguments(tool: _Tool, arguments: Mapping[str, Any]) -> tuple[str, str] | None:
        rule = tool.rule
        for name in tool.required:
            if name not in arguments:
                return f"{rule.id}.args.{name}", f"argument {name!r} is required"
        if rule.strict_args:
            for name in arguments:
                if name not in rule.args:
                    return (
                        f"{rule.id}.args",
                        f"argument {_short(name)} is not allowed by tool rule {rule.id!r}",
                    )
        for name, constraint in tool.args:
            if name in arguments:
                why = constraint.violation(arguments[name])
                if why is not None:
                    return f"{rule.id}.args.{name}", f"argument {name!r} {why}"
        return None

    def _check_flow(
        self,
        tool: _Tool,
        call: ToolCall,
        context: LabelSet,
        trace: list[str] | None,
    ) -> tuple[Action, str, str] | None:
        # The join of the sink arguments' labels, as two booleans: building
        # LabelSet models here would cost more than the rest of the check. An
        # argument without its own label may carry anything in the context.
        arguments = call.arguments
        labels = call.labels
        embedded_labels = call.embedded_labels
        untrusted = private = False
        linked: list[str] = []
        for name in arguments:
            label = labels.get(name, context)
            if tool.sink_all or name in tool.sink_args:
                untrusted = untrusted or not label.is_trusted
            # Private data leaves through any argument of an external sink (a body, an
            # attachment), not only through the one that says where it goes.
            private = private or label.is_private
            if tool.embedded_all or name in tool.embedded_args:
                # A link or address written in a body is a destination of its own.
                found = embedded_labels.get(name)
                if found is not None:
                    untrusted = untrusted or not found.is_trusted
                    if trace is not None and not found.is_trusted:
                        linked.append(_short(name))
        sink = tool.rule.sink
        flow = self.policy.flow
        if trace is not None:
            sink_names = sorted(n for n in arguments if tool.sink_all or n in tool.sink_args)
            trace.append(
                f"sink arguments {[_short(n) for n in sink_names]}: "
                f"{'untrusted' if untrusted else 'trusted'}, "
                f"{'private' if private else 'public'}; "
                f"context {context.trust.value}"
            )
            if linked:
                trace.append(
                    f"links written in {', '.join(sorted(linked))} are untrusted destinations"
                )
        untrusted_in_play = untrusted or not context.is_trusted
        if (
            sink is not None
            and sink.external
            and private
            and untrusted_in_play
            and flow.lethal_trifecta is not Action.ALLOW
        ):
            return (
                flow.lethal_trifecta,
                LETHAL_TRIFECTA,
                "private data would reach an external sink while untrusted content is in play",
            )
        action = tool.rule.untrusted_to_sink or flow.untrusted_to_sink
        if untrusted and action is not Action.ALLOW:
            return (
                action,
                UNTRUSTED_TO_SINK,
                f"a sink argument of {tool.rule.id!r} is derived from untrusted data",
            )
        return None
