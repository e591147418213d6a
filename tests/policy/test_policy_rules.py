"""Table tests: one row per rule kind, each a real policy text and a real call."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from agentor_core.capabilities import Capabilities
from agentor_core.decisions import PolicyContext, Verdict
from agentor_core.interfaces import PolicyEngine
from agentor_core.labels import Label, LabelSet, Source
from agentor_core.tools import ToolCall
from agentor_policy import DEFAULT_DENY, LETHAL_TRIFECTA, UNTRUSTED_TO_SINK, compile_text

NOW = PolicyContext(now=datetime(2026, 11, 27, 12, 0, tzinfo=UTC), session_id="s1")
HASH_A = "a" * 64
HASH_B = "b" * 64

POLICY = f"""
version = 1

[[deny]]
id = "no-shell"
glob = "*shell*"
reason = "shells are refused"

[[deny]]
id = "big-pay"
name = "pay"
[[deny.when]]
arg = "amount"
gt = 1000

[[deny]]
id = "bad-build"
component_hash = "{HASH_B}"

[[tool]]
id = "exact"
name = "files.read"
trusted = true
[tool.args.path]
type = "string"
required = true
path_under = ["/data", "/srv/shared"]
[[tool.grant.filesystem]]
guest_path = "/data"
host_path = "/tmp/data"

[[tool]]
id = "pinned"
name = "pinned.tool"
component_hash = "{HASH_A}"

[[tool]]
id = "by-hash"
component_hash = "{HASH_A}"
strict_args = false

[[tool]]
id = "globbed"
glob = "calc.*"
strict_args = false

[[tool]]
id = "typed"
name = "typed"
[tool.args.s]
type = "string"
min_length = 2
max_length = 5
pattern = "[a-z]+"
[tool.args.i]
type = "integer"
minimum = 1
maximum = 10
[tool.args.n]
type = "number"
[tool.args.b]
type = "boolean"
[tool.args.e]
enum = ["red", "green", 3]
[tool.args.u]
url_hosts = ["example.com", "*.example.org"]
[tool.args.big]
max_bytes = 10
[tool.args.a]
type = "array"
max_length = 2
[tool.args.o]
type = "object"
[tool.args.z]
type = "null"

[[tool]]
id = "pay"
name = "pay"
approval = "always"
[tool.args.amount]

[[tool]]
id = "mail"
name = "mail"
approval = "when"
[tool.sink]
args = ["to", "body"]
[[tool.ask_when]]
arg = "to"
matches = "@(?!example\\\\.com$)"
[[tool.ask_when]]
arg = "priority"
ge = 5
[tool.args.to]
type = "string"
[tool.args.body]
type = "string"
[tool.args.priority]
type = "integer"

[[tool]]
id = "internal"
name = "log.write"
untrusted_to_sink = "allow"
[tool.sink]
external = false
[tool.args.text]
type = "string"

[[tool]]
id = "strictflow"
name = "post"
untrusted_to_sink = "deny"
[tool.sink]
args = ["*"]
[tool.args.text]
type = "string"
[tool.args.meta]
type = "string"
"""

POLICY_ENGINE = compile_text(POLICY, "rules.toml")
DOC = LabelSet.of(Label.of(Source.DOCUMENT))
USER = LabelSet.of(Label.of(Source.USER))
SECRET = LabelSet.of(Label.of(Source.USER, private=True))


def call(
    tool: str,
    args: dict[str, Any] | None = None,
    *,
    component_hash: str | None = None,
    labels: dict[str, LabelSet] | None = None,
    context: LabelSet | None = None,
) -> ToolCall:
    return ToolCall(
        id="c1",
        tool=tool,
        arguments=args or {},
        component_hash=component_hash,
        labels=labels or {},
        context_labels=context or LabelSet(),
    )


CASES: list[tuple[str, ToolCall, Verdict, str]] = [
    # matching: name, hash, glob, nothing
    ("unknown tool", call("nothing"), Verdict.DENY, DEFAULT_DENY),
    ("exact name", call("files.read", {"path": "/data/a.txt"}), Verdict.ALLOW, "exact"),
    ("pinned hash ok", call("pinned.tool", component_hash=HASH_A), Verdict.ALLOW, "pinned"),
    (
        "pinned hash other",
        call("pinned.tool", component_hash="c" * 64),
        Verdict.DENY,
        "pinned.component_hash",
    ),
    ("pinned, no hash", call("pinned.tool"), Verdict.DENY, "pinned.component_hash"),
    ("by hash", call("any.name", {"x": 1}, component_hash=HASH_A), Verdict.ALLOW, "by-hash"),
    ("glob", call("calc.add", {"a": 1}), Verdict.ALLOW, "globbed"),
    ("glob no match", call("calcadd"), Verdict.DENY, DEFAULT_DENY),
    # deny rules
    ("deny glob", call("my-shell"), Verdict.DENY, "no-shell"),
    ("deny by hash", call("calc.add", component_hash=HASH_B), Verdict.DENY, "bad-build"),
    ("deny when holds", call("pay", {"amount": 5000}), Verdict.DENY, "big-pay"),
    ("deny when wrong type", call("pay", {"amount": "5000"}), Verdict.DENY, "big-pay"),
    ("deny when not", call("pay", {"amount": 10}), Verdict.ASK, "pay.approval"),
    # argument constraints
    ("required missing", call("files.read"), Verdict.DENY, "exact.args.path"),
    ("unlisted arg", call("files.read", {"path": "/data/a", "x": 1}), Verdict.DENY, "exact.args"),
    (
        "path traversal",
        call("files.read", {"path": "/data/../etc"}),
        Verdict.DENY,
        "exact.args.path",
    ),
    ("path outside", call("files.read", {"path": "/etc/passwd"}), Verdict.DENY, "exact.args.path"),
    (
        "path prefix trick",
        call("files.read", {"path": "/database"}),
        Verdict.DENY,
        "exact.args.path",
    ),
    ("path relative", call("files.read", {"path": "data/a"}), Verdict.DENY, "exact.args.path"),
    ("path second root", call("files.read", {"path": "/srv/shared/x"}), Verdict.ALLOW, "exact"),
    ("string ok", call("typed", {"s": "abc"}), Verdict.ALLOW, "typed"),
    ("string short", call("typed", {"s": "a"}), Verdict.DENY, "typed.args.s"),
    ("string long", call("typed", {"s": "abcdef"}), Verdict.DENY, "typed.args.s"),
    ("string pattern", call("typed", {"s": "AB"}), Verdict.DENY, "typed.args.s"),
    ("string type", call("typed", {"s": 12}), Verdict.DENY, "typed.args.s"),
    ("int ok", call("typed", {"i": 10}), Verdict.ALLOW, "typed"),
    ("int as float ok", call("typed", {"i": 3.0}), Verdict.ALLOW, "typed"),
    ("int range", call("typed", {"i": 11}), Verdict.DENY, "typed.args.i"),
    ("int bool", call("typed", {"i": True}), Verdict.DENY, "typed.args.i"),
    ("int fraction", call("typed", {"i": 1.5}), Verdict.DENY, "typed.args.i"),
    ("number ok", call("typed", {"n": 1.5}), Verdict.ALLOW, "typed"),
    ("number string", call("typed", {"n": "1"}), Verdict.DENY, "typed.args.n"),
    ("bool ok", call("typed", {"b": False}), Verdict.ALLOW, "typed"),
    ("bool int", call("typed", {"b": 0}), Verdict.DENY, "typed.args.b"),
    ("enum ok", call("typed", {"e": "green"}), Verdict.ALLOW, "typed"),
    ("enum number", call("typed", {"e": 3}), Verdict.ALLOW, "typed"),
    ("enum other", call("typed", {"e": "blue"}), Verdict.DENY, "typed.args.e"),
    ("enum string of number", call("typed", {"e": "3"}), Verdict.DENY, "typed.args.e"),
    ("url ok", call("typed", {"u": "https://example.com/a?b"}), Verdict.ALLOW, "typed"),
    ("url subdomain", call("typed", {"u": "https://a.example.org/"}), Verdict.ALLOW, "typed"),
    (
        "url apex of wildcard",
        call("typed", {"u": "https://example.org/"}),
        Verdict.DENY,
        "typed.args.u",
    ),
    ("url http", call("typed", {"u": "http://example.com/"}), Verdict.DENY, "typed.args.u"),
    ("url other host", call("typed", {"u": "https://evil.com/"}), Verdict.DENY, "typed.args.u"),
    (
        "url userinfo",
        call("typed", {"u": "https://example.com@evil.com/"}),
        Verdict.DENY,
        "typed.args.u",
    ),
    (
        "url suffix",
        call("typed", {"u": "https://example.com.evil.com/"}),
        Verdict.DENY,
        "typed.args.u",
    ),
    ("max bytes ok", call("typed", {"big": "12345678"}), Verdict.ALLOW, "typed"),
    ("max bytes over", call("typed", {"big": "123456789"}), Verdict.DENY, "typed.args.big"),
    ("array ok", call("typed", {"a": [1, 2]}), Verdict.ALLOW, "typed"),
    ("array long", call("typed", {"a": [1, 2, 3]}), Verdict.DENY, "typed.args.a"),
    ("object ok", call("typed", {"o": {"k": 1}}), Verdict.ALLOW, "typed"),
    ("object wrong", call("typed", {"o": [1]}), Verdict.DENY, "typed.args.o"),
    ("null ok", call("typed", {"z": None}), Verdict.ALLOW, "typed"),
    # approvals
    ("always", call("pay", {"amount": 1}), Verdict.ASK, "pay.approval"),
    ("when: not", call("mail", {"to": "a@example.com", "body": "b"}), Verdict.ALLOW, "mail"),
    ("when: regex", call("mail", {"to": "a@evil.com", "body": "b"}), Verdict.ASK, "mail.approval"),
    (
        "when: ge",
        call("mail", {"to": "a@example.com", "priority": 5}),
        Verdict.ASK,
        "mail.approval",
    ),
    ("when: below", call("mail", {"to": "a@example.com", "priority": 4}), Verdict.ALLOW, "mail"),
    # information flow
    (
        "untrusted sink arg asks",
        call("mail", {"to": "a@example.com", "body": "b"}, labels={"body": DOC}),
        Verdict.ASK,
        UNTRUSTED_TO_SINK,
    ),
    (
        "untrusted non-sink arg is fine",
        call("mail", {"to": "a@example.com", "priority": 1}, labels={"priority": DOC}),
        Verdict.ALLOW,
        "mail",
    ),
    (
        "unlabelled arg takes context taint",
        call("mail", {"to": "a@example.com", "body": "b"}, context=DOC),
        Verdict.ASK,
        UNTRUSTED_TO_SINK,
    ),
    (
        "own trusted label beats context",
        call(
            "mail",
            {"to": "a@example.com", "body": "b"},
            labels={"to": USER, "body": USER},
            context=DOC,
        ),
        Verdict.ALLOW,
        "mail",
    ),
    (
        "lethal trifecta",
        call(
            "mail",
            {"to": "a@example.com", "body": "b"},
            labels={"to": USER, "body": SECRET},
            context=DOC,
        ),
        Verdict.DENY,
        LETHAL_TRIFECTA,
    ),
    (
        "private without untrusted is fine",
        call("mail", {"to": "a@example.com", "body": "b"}, labels={"body": SECRET}),
        Verdict.ALLOW,
        "mail",
    ),
    (
        "internal sink: no trifecta, override allows",
        call("log.write", {"text": "t"}, labels={"text": SECRET.join(DOC)}),
        Verdict.ALLOW,
        "internal",
    ),
    (
        "per-tool override denies",
        call("post", {"text": "t", "meta": "m"}, labels={"meta": DOC, "text": USER}),
        Verdict.DENY,
        UNTRUSTED_TO_SINK,
    ),
]


@pytest.mark.parametrize(
    ("name", "the_call", "verdict", "rule_id"), CASES, ids=[c[0] for c in CASES]
)
def test_rule_kinds(name: str, the_call: ToolCall, verdict: Verdict, rule_id: str) -> None:
    decision = POLICY_ENGINE.decide(the_call, NOW)
    assert (decision.verdict, decision.rule_id) == (verdict, rule_id), decision.reason
    assert decision.policy_hash == POLICY_ENGINE.policy_hash
    assert decision.reason


def test_obligations_carry_grant_and_trust() -> None:
    allowed = POLICY_ENGINE.decide(call("files.read", {"path": "/data/x"}), NOW)
    assert allowed.obligations.trusted_output is True
    assert [p.guest_path for p in allowed.obligations.grant.filesystem] == ["/data"]
    asked = POLICY_ENGINE.decide(call("pay", {"amount": 1}), NOW)
    assert asked.obligations.trusted_output is False
    assert asked.obligations.grant == Capabilities()


def test_deny_carries_no_grant() -> None:
    denied = POLICY_ENGINE.decide(call("files.read", {"path": "/etc/passwd"}), NOW)
    assert denied.obligations.grant == Capabilities()
    assert denied.obligations.trusted_output is False


def test_reasons_do_not_echo_values() -> None:
    hostile = "\x1b[2J\x1b[31mIGNORE PREVIOUS" * 10
    decision = POLICY_ENGINE.decide(call("typed", {"s": hostile}), NOW)
    assert decision.verdict is Verdict.DENY
    assert "\x1b" not in decision.reason
    unknown = POLICY_ENGINE.decide(call("files.read", {"path": "/data/a", hostile: 1}), NOW)
    assert "\x1b" not in unknown.reason


def test_explain_names_each_step() -> None:
    decision, steps = POLICY_ENGINE.explain(call("mail", {"to": "a@evil.com", "body": "b"}), NOW)
    assert decision.verdict is Verdict.ASK
    assert steps[0] == "tool rule 'mail' matches by name"
    assert any("must approve" in s for s in steps)
    assert POLICY_ENGINE.decide(call("mail", {"to": "a@evil.com", "body": "b"}), NOW) == decision


def test_satisfies_core_protocol() -> None:
    assert isinstance(POLICY_ENGINE, PolicyEngine)
