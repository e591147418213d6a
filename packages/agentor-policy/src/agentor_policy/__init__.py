"""agentor-policy: deterministic decisions for every call a model proposes.

A policy is a TOML file an operator reads, reviews and diffs. Anything it does
not allow is denied. The engine is pure: the same call, context and policy
always give the same :class:`~agentor_core.decisions.Decision` (the one exception:
an operator's regular expression that runs past its time bound on an argument,
which counts against the call, see :mod:`agentor_policy.patterns`).
"""

from agentor_policy.__about__ import __version__
from agentor_policy.approvals import ApprovalLedger, approval_event, approval_request, summarize
from agentor_policy.codes import PolicyCode
from agentor_policy.engine import (
    DEFAULT_DENY,
    LETHAL_TRIFECTA,
    OFF_PLAN,
    UNTRUSTED_TO_SINK,
    CompiledPolicy,
    policy_hash,
)
from agentor_policy.holder import (
    PolicyHolder,
    ReloadResult,
    compile_file,
    compile_text,
    policy_engine,
)
from agentor_policy.learn import Proposal, propose
from agentor_policy.loader import MAX_NESTING, MAX_POLICY_BYTES, parse_policy_text
from agentor_policy.model import PolicyFile
from agentor_policy.patterns import PATTERN_TIMEOUT_PER_MIB_SECONDS, PATTERN_TIMEOUT_SECONDS
from agentor_policy.ratelimit import RateLimiter
from agentor_policy.terminal import TerminalApprovalChannel, terminal_channel

__all__ = [
    "DEFAULT_DENY",
    "LETHAL_TRIFECTA",
    "MAX_NESTING",
    "MAX_POLICY_BYTES",
    "OFF_PLAN",
    "PATTERN_TIMEOUT_PER_MIB_SECONDS",
    "PATTERN_TIMEOUT_SECONDS",
    "UNTRUSTED_TO_SINK",
    "ApprovalLedger",
    "CompiledPolicy",
    "PolicyCode",
    "PolicyFile",
    "PolicyHolder",
    "Proposal",
    "RateLimiter",
    "ReloadResult",
    "TerminalApprovalChannel",
    "__version__",
    "approval_event",
    "approval_request",
    "compile_file",
    "compile_text",
    "parse_policy_text",
    "policy_engine",
    "policy_hash",
    "propose",
    "summarize",
    "terminal_channel",
]
