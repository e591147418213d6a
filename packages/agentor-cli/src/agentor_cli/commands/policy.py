"""``agentor policy``: check a policy file, explain a decision, learn from an audit log."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import click
from pydantic import ValidationError
from rich.text import Text

from agentor_cli.output import emit_json, handles_errors, json_option, stdout
from agentor_core.decisions import PolicyContext
from agentor_core.errors import AgentorError
from agentor_core.labels import Label, LabelSet, Source
from agentor_core.tools import ToolCall
from agentor_core.validation import describe_validation_error
from agentor_policy import PolicyCode, compile_file, propose

MAX_ARGS_CHARS: Final = 1024 * 1024
_VERDICT_STYLE: Final = {"allow": "bold green", "deny": "bold red", "ask": "bold yellow"}
_SOURCES: Final = ", ".join(s.value for s in Source)


def _bad(message: str, hint: str) -> AgentorError:
    return AgentorError(PolicyCode.BAD_REQUEST, message, hint=hint)


def parse_label_spec(spec: str) -> LabelSet:
    """``source[+source...][:private]``, e.g. ``document+user:private``."""
    sources, _, secrecy = spec.strip().partition(":")
    if secrecy not in {"", "private", "public"}:
        raise _bad(f"label {spec[:64]!r}: unknown confidentiality", "use ':private' or nothing")
    labels = []
    for name in sources.split("+"):
        try:
            source = Source(name.strip())
        except ValueError:
            raise _bad(
                f"label {spec[:64]!r}: unknown source {name[:32]!r}",
                f"sources are: {_SOURCES}",
            ) from None
        labels.append(Label.of(source, private=secrecy == "private"))
    return LabelSet.of(*labels)


def parse_labels(text: str | None) -> dict[str, LabelSet]:
    """``arg=spec,arg=spec`` into per-argument label sets."""
    found: dict[str, LabelSet] = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        name, sep, spec = item.partition("=")
        if not sep or not name.strip():
            raise _bad(
                f"label {item[:64]!r} is not ARG=SOURCE",
                "write e.g. --labels 'body=document,to=user:private'",
            )
        found[name.strip()] = parse_label_spec(spec)
    return found


def _arguments(text: str) -> dict[str, Any]:
    if len(text) > MAX_ARGS_CHARS:
        raise _bad(f"--args is longer than {MAX_ARGS_CHARS} characters", "pass a smaller object")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise _bad(
            "--args is not valid JSON",
            """write a JSON object, e.g. '{"url": "https://example.com"}'""",
        ) from None
    if not isinstance(value, dict):
        raise _bad("--args must be a JSON object", "wrap the arguments in {...}")
    return value


@click.group()
def policy() -> None:
    """Policy files: check them, explain decisions, learn least privilege from an audit log."""


@policy.command()
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@json_option
@handles_errors
def check(file: Path, as_json: bool) -> None:
    """Parse FILE and report its hash and rules, or exactly what is wrong and where."""
    compiled = compile_file(file)
    parsed = compiled.policy
    if as_json:
        emit_json(
            {
                "ok": True,
                "file": str(file),
                "policy_hash": compiled.hash,
                "tool_rules": len(parsed.tool),
                "deny_rules": len(parsed.deny),
            }
        )
        return
    console = stdout()
    console.print(Text.assemble(("ok", "bold green"), f" {file}"))
    console.print(f"policy hash  {compiled.hash}")
    console.print(f"tool rules   {len(parsed.tool)}")
    console.print(f"deny rules   {len(parsed.deny)}")


@policy.command()
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--tool", "tool", required=True, help="The tool name of the proposed call.")
@click.option("--args", "args_json", default="{}", show_default=True, help="Arguments, JSON.")
@click.option(
    "--labels",
    default=None,
    help="Per-argument provenance: 'ARG=SOURCE[+SOURCE][:private],...'.",
)
@click.option(
    "--context-labels",
    default=None,
    help="Provenance of everything in play: 'SOURCE[+SOURCE][:private]'.",
)
@click.option(
    "--embedded-labels",
    default=None,
    help="Provenance of the links written inside an argument (ToolCall.embedded_labels): "
    "'ARG=SOURCE[+SOURCE][:private],...'.",
)
@click.option("--component-hash", default=None, help="SHA-256 of the tool's component.")
@click.option("--session", default=None, help="Session id for the context.")
@click.option(
    "--off-plan",
    is_flag=True,
    help="The tool is outside the plan the agent declared (ToolCall.off_plan).",
)
@json_option
@handles_errors
def explain(
    *,
    file: Path,
    tool: str,
    args_json: str,
    labels: str | None,
    context_labels: str | None,
    embedded_labels: str | None,
    component_hash: str | None,
    session: str | None,
    off_plan: bool,
    as_json: bool,
) -> None:
    """Decide one proposed call against FILE and show which rule decided and why."""
    compiled = compile_file(file)
    try:
        call = ToolCall(
            id="explain",
            tool=tool,
            arguments=_arguments(args_json),
            component_hash=component_hash,
            labels=parse_labels(labels),
            context_labels=parse_label_spec(context_labels) if context_labels else LabelSet(),
            off_plan=off_plan,
            embedded_labels=parse_labels(embedded_labels),
        )
        context = PolicyContext(now=datetime.now(UTC), session_id=session)
    except ValidationError as exc:
        raise _bad(
            describe_validation_error(exc, source="call"), "correct the named field"
        ) from None
    decision, steps = compiled.explain(call, context)
    if as_json:
        emit_json(
            {
                "ok": True,
                "decision": decision.model_dump(mode="json"),
                "steps": steps,
                "fingerprint": call.fingerprint(),
            }
        )
        return
    console = stdout()
    verdict = decision.verdict.value
    console.print(
        Text.assemble((verdict.upper(), _VERDICT_STYLE[verdict]), f"  rule {decision.rule_id}")
    )
    console.print(Text(f"reason: {decision.reason}"))
    for number, step in enumerate(steps, start=1):
        console.print(Text(f"  {number}. {step}"))
    if decision.verdict.value != "deny":
        grant = decision.obligations.grant.model_dump(mode="json", exclude_defaults=True)
        console.print(Text(f"grant: {json.dumps(grant, sort_keys=True) if grant else 'nothing'}"))
        console.print(Text(f"trusted output: {decision.obligations.trusted_output}"))
    console.print(Text(f"policy hash: {decision.policy_hash}", style="dim"))


@policy.command()
@click.option(
    "--from-audit",
    "audit_log",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="JSON Lines of AuditEvent objects (decisions recorded in audit-only mode).",
)
@click.option(
    "--policy",
    "policy_file",
    default=None,
    type=click.Path(path_type=Path, dir_okay=False),
    help="The current policy; tools it already allows are left alone.",
)
@json_option
@handles_errors
def learn(audit_log: Path, policy_file: Path | None, as_json: bool) -> None:
    """Propose least-privilege tool rules as a unified diff for a person to review."""
    proposal = propose(audit_log, policy_file)
    if as_json:
        emit_json(
            {
                "ok": True,
                "decisions_read": proposal.decisions_read,
                "tools": list(proposal.tools),
                "diff": proposal.diff,
            }
        )
        return
    if not proposal.diff:
        stdout().print(Text(f"nothing to propose ({proposal.decisions_read} decision(s) read)"))
        return
    # Plain echo, not rich: the diff is data to review or pipe into patch.
    click.echo(proposal.diff, nl=False)
