"""Scan an outside MCP tool's description and schema for poisoning before anyone sees it.

Tool descriptions reach the model verbatim, so a server can hide instructions
in them ("tool poisoning"). This scanner flags what a person reviewing the tool
would not see or would not expect: Unicode tag characters and other invisible
or bidirectional-control characters, terminal escape sequences, phrases that
address the model rather than describe the tool, text aimed at other tools, and
oversized text. It is a deterministic filter, not a classifier: a finding is a
reason to refuse or to ask a person, never proof of innocence when absent.
All matching runs on RE2 (linear time): descriptions are untrusted input.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

import re2  # type: ignore[import-untyped, unused-ignore]

MAX_DESCRIPTION_CHARS: Final = 2048
MAX_SCHEMA_TEXT_CHARS: Final = 16 * 1024
_EXCERPT: Final = 80


class Finding(StrEnum):
    UNICODE_TAGS = "unicode_tags"
    """U+E0000-U+E007F: invisible characters that spell ASCII text to a model."""
    INVISIBLE = "invisible"
    """Zero-width, bidirectional-control or other format characters."""
    CONTROL = "control"
    """ANSI escape sequences or other C0/C1 control characters (not tab or newline)."""
    INSTRUCTIONS = "instructions"
    """Text addressed to the model: override, secrecy or exfiltration phrasing."""
    CROSS_TOOL = "cross_tool"
    """Names another served tool: a description has no business steering other tools."""
    OVERSIZED = "oversized"
    """Longer than a description or schema needs to be."""


@dataclass(frozen=True, slots=True)
class Hit:
    finding: Finding
    where: str
    """``description`` or the JSON path of a schema string."""
    excerpt: str
    """The matched text, escaped so it cannot act on a terminal."""


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False
    options.case_sensitive = False
    return options


_TAGS: Final = re2.compile("[\U000e0000-\U000e007f]")
_INVISIBLE: Final = re2.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff9-\ufffb]"
)
_CONTROL: Final = re2.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Phrases that instruct a model rather than describe a tool. Each alternative is
# a literal with bounded gaps: RE2 keeps the scan linear whatever the text.
_INSTRUCTIONS: Final = re2.compile(
    "|".join(
        (
            (
                r"ignore\s+(?:all\s+|any\s+)?(?:previous|prior|above|earlier|other)\s+"
                r"(?:instructions|rules|prompts?)"
            ),
            r"disregard\s+(?:all\s+|any\s+)?(?:previous|prior|above|the)",
            (
                r"(?:do\s+not|don't|never)\s+(?:tell|inform|mention|reveal|show|alert)\s+"
                r"(?:this\s+to\s+)?(?:the\s+)?user"
            ),
            r"without\s+(?:telling|informing|asking)\s+the\s+user",
            r"<\s*/?\s*(?:important|system|instructions?|secret|hidden)\s*>",
            r"\[\s*(?:system|inst)\s*\]",
            r"(?:before|after)\s+(?:using|calling|running)\s+(?:this|any|the)\s+tool",
            r"(?:you|the\s+(?:assistant|model|ai))\s+(?:must|should)\s+(?:always|first|also|now)",
            r"(?:~|\$home)/\.(?:ssh|aws|config|gnupg|netrc)",
            r"\bid_(?:rsa|ed25519|ecdsa)\b",
            r"(?:send|forward|upload|exfiltrate|post)\s+(?:it|them|this|the\s+\w+)\s+to\s+https?:",
            r"system\s+prompt",
        )
    ),
    _options(),
)


def _escaped(text: str) -> str:
    return json.dumps(text[:_EXCERPT], ensure_ascii=True)[1:-1]


def _scan_text(text: str, where: str, others: Iterable[str]) -> list[Hit]:
    hits: list[Hit] = []
    for finding, pattern in (
        (Finding.UNICODE_TAGS, _TAGS),
        (Finding.INVISIBLE, _INVISIBLE),
        (Finding.CONTROL, _CONTROL),
        (Finding.INSTRUCTIONS, _INSTRUCTIONS),
    ):
        match = pattern.search(text)
        if match is not None:
            hits.append(Hit(finding, where, _escaped(match.group(0))))
    lowered = text.lower()
    for name in others:
        # Names shorter than 4 characters ("get", "ls") are ordinary words.
        if len(name) >= 4 and name.lower() in lowered:
            hits.append(Hit(Finding.CROSS_TOOL, where, _escaped(name)))
            break
    return hits


def _schema_strings(node: Any, path: str, out: list[tuple[str, str]], depth: int = 0) -> None:
    if depth > 64:  # core JSON bounds already cap depth; belt and braces
        return
    if isinstance(node, str):
        out.append((path, node))
    elif isinstance(node, Mapping):
        for key, value in node.items():
            out.append((f"{path}/{key}#key", str(key)))
            _schema_strings(value, f"{path}/{key}", out, depth + 1)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            _schema_strings(value, f"{path}/{index}", out, depth + 1)


def scan_tool(
    name: str,
    description: str | None,
    schemas: Mapping[str, Any] | None = None,
    *,
    other_tools: Iterable[str] = (),
) -> tuple[Hit, ...]:
    """Every finding in one tool's name, description and schemas (``{"inputSchema": …}``)."""
    others = [other for other in other_tools if other != name]
    hits = _scan_text(name, "name", ())
    text = description or ""
    hits += _scan_text(text, "description", others)
    if len(text) > MAX_DESCRIPTION_CHARS:
        hits.append(Hit(Finding.OVERSIZED, "description", f"{len(text)} characters"))
    strings: list[tuple[str, str]] = []
    _schema_strings(dict(schemas or {}), "", strings)
    total = 0
    for where, value in strings:
        total += len(value)
        hits += _scan_text(value, where, others)
    if total > MAX_SCHEMA_TEXT_CHARS:
        hits.append(Hit(Finding.OVERSIZED, "schemas", f"{total} characters of text"))
    return tuple(hits)
