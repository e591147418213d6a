"""The final answer as a sink: released to the user only when the policy says so.

A model that has read a third party's text can be made to *say* things: praise a
hotel, repeat a phishing link, tell the user to call a number. No tool runs, so no
tool rule sees it. An agent with ``answer = "policy"`` hands its final answer to
the policy as one more proposed call, :data:`ANSWER_TOOL` with the single
argument ``text``, labelled like any argument:

- ``text`` carries the answer's provenance: the user's or the operator's words if
  the whole answer is theirs, else the whole context's labels (a composed answer
  may repeat anything the model read);
- every link and e-mail address written in it is labelled on its own
  (``ToolCall.embedded_labels``), so a rule with ``sink.embedded = ["text"]``
  asks before showing a link that only untrusted content wrote.

The operator writes an ordinary rule for ``agent.answer`` (see the runtime
README): links only (``sink = { args = [], embedded = ["text"], external =
false }``), or every answer written after untrusted content (``args =
["text"]``). Allowed: the answer is released (and its digest audited); asked: a
person reads it and releases it or not; denied or refused: the run ends with
:attr:`~agentor_runtime.codes.StopReason.ANSWER_WITHHELD` and no answer. No rule
for ``agent.answer``: deny by default, so the answer is withheld, on purpose: an
operator who asked for the gate gets it closed until a rule opens it.

While the gate is on, the answer is not streamed: text shown before the decision
could not be taken back.
"""

from __future__ import annotations

import json
from typing import Final, Literal

from agentor_core.bounds import check_json
from agentor_core.labels import LabelSet
from agentor_core.tools import ToolCall
from agentor_runtime.provenance import Provenance, embedded_destinations

ANSWER_TOOL: Final = "agent.answer"
"""The name the policy sees for an agent's final answer."""
ANSWER_ARG: Final = "text"
MAX_SHOWN_CHARS: Final = 4000
MAX_SHOWN_LINKS: Final = 20

AnswerMode = Literal["deliver", "policy"]
"""``deliver``: the answer goes to the user as written (marked, never judged);
``policy``: the answer is a call to :data:`ANSWER_TOOL` the policy decides."""


def answer_call(call_id: str, answer: str, provenance: Provenance) -> ToolCall:
    """The answer as the call the policy decides, with its labels.

    Raises ``ValueError`` (before any labelling work) if the answer is past the bounds
    of one call's arguments.
    """
    arguments = check_json({ANSWER_ARG: answer})
    return ToolCall(
        id=call_id,
        tool=ANSWER_TOOL,
        arguments=arguments,
        labels={ANSWER_ARG: provenance.label_value(answer)},
        context_labels=provenance.context_labels(),
        embedded_labels=provenance.label_embedded(arguments),
    )


def untrusted_links(answer: str, provenance: Provenance) -> list[str]:
    """The links and addresses in ``answer`` whose provenance is not trusted."""
    found: list[str] = []
    for destination in embedded_destinations(answer):
        if destination not in found and not provenance.label_destination(destination).is_trusted:
            found.append(destination)
    return found


def answer_summary(answer: str, labels: LabelSet, links: list[str]) -> str:
    """What a person reads before releasing the answer."""
    shown = answer if len(answer) <= MAX_SHOWN_CHARS else answer[:MAX_SHOWN_CHARS] + " …"
    lines = [
        f"{ANSWER_TOOL}: release this answer to the user?",
        json.dumps(shown, ensure_ascii=False),
    ]
    if len(answer) > MAX_SHOWN_CHARS:
        # A person must not release text they were not shown without being told so.
        lines.append(
            f"only the first {MAX_SHOWN_CHARS} of {len(answer)} characters are shown; "
            "the links below are from the whole answer"
        )
    if not labels.is_trusted:
        lines.append("it was written after the model read untrusted content")
    if links:
        named = ", ".join(links[:MAX_SHOWN_LINKS])
        more = f" and {len(links) - MAX_SHOWN_LINKS} more" if len(links) > MAX_SHOWN_LINKS else ""
        lines.append(f"links found only in untrusted content: {named}{more}")
    return "\n".join(lines)
