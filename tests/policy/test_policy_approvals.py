"""Approvals: the ledger (expiry, single use, fingerprint) and the terminal channel."""

from __future__ import annotations

import asyncio
import io
import os
import threading
from datetime import UTC, datetime, timedelta

import pytest

from agentor_core.audit import AuditEventType
from agentor_core.decisions import ApprovalRequest, ApprovalResponse, PolicyContext, Verdict
from agentor_core.errors import AgentorError
from agentor_core.interfaces import ApprovalChannel
from agentor_core.tools import ToolCall
from agentor_policy import (
    ApprovalLedger,
    PolicyCode,
    TerminalApprovalChannel,
    approval_event,
    approval_request,
    compile_text,
    summarize,
)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
POLICY = compile_text(
    "version = 1\napproval_ttl_seconds = 60\n"
    "[[tool]]\nid = 'pay'\nname = 'pay'\napproval = 'always'\nstrict_args = false\n"
)
CALL = ToolCall(id="c1", tool="pay", arguments={"amount": 10, "to": "bob"}, component_hash="a" * 64)


def request_for(call: ToolCall = CALL) -> ApprovalRequest:
    decision = POLICY.decide(call, PolicyContext(now=NOW))
    assert decision.verdict is Verdict.ASK
    return approval_request(call, decision, now=NOW, ttl_seconds=POLICY.approval_ttl_seconds)


def answer(request: ApprovalRequest, approved: bool = True, at: datetime = NOW) -> ApprovalResponse:
    return ApprovalResponse(
        fingerprint=request.fingerprint, approved=approved, approver="alice", decided_at=at
    )


def test_request_is_bound_to_the_fingerprint() -> None:
    request = request_for()
    assert request.fingerprint == CALL.fingerprint()
    assert request.expires_at == NOW + timedelta(seconds=60)
    assert request.rule_id == "pay.approval"
    assert request.summary == 'pay {"amount":10,"to":"bob"}'


def test_single_use() -> None:
    ledger = ApprovalLedger()
    request = request_for()
    assert ledger.record(request, answer(request))
    assert ledger.pending() == 1
    assert ledger.consume(CALL, NOW + timedelta(seconds=1)).approver == "alice"
    with pytest.raises(AgentorError) as info:
        ledger.consume(CALL, NOW + timedelta(seconds=2))
    assert info.value.code == PolicyCode.APPROVAL_MISSING


def test_two_approvals_give_two_runs() -> None:
    ledger = ApprovalLedger()
    request = request_for()
    ledger.record(request, answer(request))
    ledger.record(request, answer(request))
    ledger.consume(CALL, NOW)
    ledger.consume(CALL, NOW)
    assert ledger.pending() == 0


def test_expired_approval_is_refused() -> None:
    ledger = ApprovalLedger()
    request = request_for()
    ledger.record(request, answer(request))
    with pytest.raises(AgentorError) as info:
        ledger.consume(CALL, NOW + timedelta(seconds=60))
    assert info.value.code == PolicyCode.APPROVAL_EXPIRED
    with pytest.raises(AgentorError) as again:
        ledger.consume(CALL, NOW)
    assert again.value.code == PolicyCode.APPROVAL_MISSING


def test_late_answer_is_refused() -> None:
    request = request_for()
    with pytest.raises(AgentorError) as info:
        ApprovalLedger().record(request, answer(request, at=NOW + timedelta(minutes=5)))
    assert info.value.code == PolicyCode.APPROVAL_EXPIRED


def test_answer_for_another_call_is_refused() -> None:
    request = request_for()
    other = request_for(CALL.model_copy(update={"arguments": {"amount": 9999, "to": "eve"}}))
    with pytest.raises(AgentorError) as info:
        ApprovalLedger().record(request, answer(other))
    assert info.value.code == PolicyCode.APPROVAL_MISMATCH


def test_refusal_records_nothing() -> None:
    ledger = ApprovalLedger()
    request = request_for()
    assert not ledger.record(request, answer(request, approved=False))
    with pytest.raises(AgentorError):
        ledger.consume(CALL, NOW)


def test_swapped_component_is_not_approved() -> None:
    ledger = ApprovalLedger()
    request = request_for()
    ledger.record(request, answer(request))
    with pytest.raises(AgentorError):
        ledger.consume(CALL.model_copy(update={"component_hash": "b" * 64}), NOW)


def test_ledger_is_bounded() -> None:
    ledger = ApprovalLedger(max_pending=2)
    request = request_for()
    ledger.record(request, answer(request))
    ledger.record(request, answer(request))
    with pytest.raises(AgentorError):
        ledger.record(request, answer(request))


def test_audit_event_names_approver_and_call() -> None:
    request = request_for()
    event = approval_event(
        CALL,
        request,
        answer(request),
        PolicyContext(now=NOW, session_id="s"),
        policy_hash=POLICY.hash,
    )
    assert event.type is AuditEventType.APPROVAL_GRANTED
    assert event.detail["approver"] == "alice"
    assert event.argument_digest == CALL.fingerprint()
    assert (event.tool, event.call_id, event.session_id) == ("pay", "c1", "s")
    refused = approval_event(CALL, request, answer(request, approved=False), PolicyContext(now=NOW))
    assert refused.type is AuditEventType.APPROVAL_DENIED


def test_summary_is_bounded() -> None:
    big = ToolCall(id="1", tool="pay", arguments={"x": "y" * 100_000})
    assert len(summarize(big)) == 16 * 1024
    assert summarize(big).endswith("(truncated)")


@pytest.mark.parametrize(
    ("typed", "approved"),
    [
        ("yes\n", True),
        ("Y\n", True),
        ("  yes  \n", True),
        ("no\n", False),
        ("yess\n", False),
        ("\n", False),
        ("", False),
        ("sure\n", False),
    ],
)
def test_terminal_reads_the_answer(typed: str, approved: bool) -> None:
    out = io.StringIO()
    channel = TerminalApprovalChannel(io.StringIO(typed), out, approver="alice", clock=lambda: NOW)
    request = request_for()
    response = asyncio.run(channel.request_approval(request))
    assert response.approved is approved
    assert response.fingerprint == request.fingerprint
    assert response.approver == "alice"
    assert request.fingerprint in out.getvalue()
    assert ("approved" if approved else "refused") in out.getvalue().splitlines()[-1]


def test_terminal_refuses_after_expiry() -> None:
    channel = TerminalApprovalChannel(
        io.StringIO("yes\n"), io.StringIO(), clock=lambda: NOW + timedelta(hours=1)
    )
    response = channel.ask(request_for())
    assert not response.approved
    assert response.note == "answered after the question expired"


def test_terminal_escapes_hostile_arguments() -> None:
    hostile = CALL.model_copy(
        update={"arguments": {"to": "\x1b[2K\rApproved by admin\x07", "amount": 1}}
    )
    out = io.StringIO()
    TerminalApprovalChannel(io.StringIO("no\n"), out, clock=lambda: NOW).ask(request_for(hostile))
    shown = out.getvalue()
    assert "\x1b" not in shown
    assert "\r" not in shown
    assert "\x07" not in shown


def test_terminal_shows_each_field_on_one_line() -> None:
    # The channel takes any ApprovalRequest (a runtime or bridge may build the
    # summary); a line break in it must not draw a second, forged "call:" line.
    forged = request_for().model_copy(
        update={"summary": 'pay {}\ncall:        pay {"amount":1}', "reason": "r\tx"}
    )
    out = io.StringIO()
    TerminalApprovalChannel(io.StringIO("no\n"), out, clock=lambda: NOW).ask(forged)
    lines = out.getvalue().splitlines()
    assert sum(line.startswith("call:") for line in lines) == 1
    assert "\t" not in out.getvalue()


def test_terminal_over_a_real_pipe() -> None:
    read_fd, write_fd = os.pipe()
    out_read, out_write = os.pipe()
    with (
        os.fdopen(read_fd, "r", encoding="utf-8") as reader,
        os.fdopen(write_fd, "w", encoding="utf-8") as writer,
        os.fdopen(out_write, "w", encoding="utf-8") as prompt_out,
        os.fdopen(out_read, "r", encoding="utf-8") as prompt_in,
    ):
        channel = TerminalApprovalChannel(reader, prompt_out, approver="bob", clock=lambda: NOW)
        assert isinstance(channel, ApprovalChannel)
        seen: list[str] = []

        def person() -> None:
            # Answer only after the question has been asked.
            while "[no]:" not in "".join(seen):
                seen.append(prompt_in.read(1))
            writer.write("yes\n")
            writer.flush()

        thread = threading.Thread(target=person)
        thread.start()
        response = asyncio.run(channel.request_approval(request_for()))
        thread.join()
        assert response.approved
        assert response.approver == "bob"
        assert "approval needed" in "".join(seen)


def test_terminal_end_of_input_refuses() -> None:
    response = TerminalApprovalChannel(io.StringIO(""), io.StringIO(), clock=lambda: NOW).ask(
        request_for()
    )
    assert not response.approved
    assert response.note == "no answer (end of input)"


def test_summary_scrubs_known_secret_values() -> None:
    from agentor_core.redaction import Redactor
    from agentor_policy.approvals import summarize

    call = ToolCall(id="c1", tool="mail.send", arguments={"body": "token sk-live-0123456789"})
    shown = summarize(call, Redactor({"API_TOKEN": "sk-live-0123456789"}))
    assert "sk-live-0123456789" not in shown
    assert "mail.send" in shown
    assert "sk-live-0123456789" in summarize(call)  # without a redactor nothing is hidden
