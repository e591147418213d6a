"""agentor-audit: a tamper-evident record of every decision and effect.

An append-only Merkle log (RFC 9162 hashing over RFC 8785 canonical JSON) in
SQLite, signed C2SP checkpoints (Ed25519), inclusion and consistency proofs,
offline verification, redaction, structlog logs and OpenTelemetry spans.
"""

from agentor_audit.__about__ import __version__
from agentor_audit.codes import AuditCode
from agentor_audit.keys import load_signer, load_verifier, write_key_files
from agentor_audit.note import Checkpoint, NoteSigner, NoteVerifier
from agentor_audit.redaction import Redactor, argument_digest
from agentor_audit.sink import create_audit_sink
from agentor_audit.store import AuditLog, Recovery, StoreReader
from agentor_audit.telemetry import configure_logging, execute_tool_span
from agentor_audit.verify import Problem, VerifyReport, verify_path

__all__ = [
    "AuditCode",
    "AuditLog",
    "Checkpoint",
    "NoteSigner",
    "NoteVerifier",
    "Problem",
    "Recovery",
    "Redactor",
    "StoreReader",
    "VerifyReport",
    "__version__",
    "argument_digest",
    "configure_logging",
    "create_audit_sink",
    "execute_tool_span",
    "load_signer",
    "load_verifier",
    "verify_path",
    "write_key_files",
]
