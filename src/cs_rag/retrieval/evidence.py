"""The evidence reader's part in a decision: what the calibrated bands decided, after the reader
has read the texts the customer would get.

The bands judge how surely the first hit is the entry the question is about; the reader judges
whether its text says what was asked. With `retrieval.evidence_reader` on:
- a direct answer whose first hit reads below `reader_threshold` is withheld: a clarify reply
  with the likeliest entries, or a refusal without two distinct ones or when none of them reads
  `reader_refuse_threshold` (nothing it could offer says it);
- a clarify reply whose first option has an answer and reads at least `reader_promote_threshold`
  (below 1) is answered directly from it, unless the question names something the knowledge
  never mentions.
Refusals are never read, nor a question worded as its first hit's own question or one of its
similar questions: the team wrote that pairing, and the reader can be wrong about it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from cs_rag.config import RetrievalSettings
from cs_rag.types import Decision, Hit

# reads hits and gives each one's 0-1 score that its text answers the question
Read = Callable[[Sequence[Hit]], Sequence[float]]


class Reading(NamedTuple):
    """A decision after the reader: `score` is the first option's (None: nothing was read);
    `verdict` says what reading did: kept, withheld, refused, promoted, unchanged, or as
    written (not read: the question is worded as the first option's own)."""

    decision: Decision
    score: float | None
    verdict: str


def withheld(options: Sequence[Hit]) -> Decision:
    """The decision for a question that must not be answered directly: the clarify reply when
    there are two distinct options to offer, else a refusal."""
    return Decision.CLARIFY if len(options) >= 2 else Decision.NONE


def read_decision(decision: Decision, options: Sequence[Hit], read: Read, settings: RetrievalSettings,
                  names_unknown: bool = False, as_written: bool = False) -> Reading:
    """`decision` after reading. `options` are the distinct documents a clarify reply would
    offer, the first hit first; `names_unknown` says the question names something the
    knowledge never mentions; `as_written` that it is worded as the first option's matched
    question (confidence's `exact` feature)."""
    if not options:
        return Reading(decision, None, "unchanged")
    if decision is not Decision.NONE and as_written:
        return Reading(decision, None, "as written")
    if decision is Decision.ANSWER:
        first = float(read(options[:1])[0])
        if first >= settings.reader_threshold:
            return Reading(decision, first, "kept")
        if withheld(options) is Decision.CLARIFY and not _nothing_to_offer(options, first, read, settings):
            return Reading(Decision.CLARIFY, first, "withheld")
        return Reading(Decision.NONE, first, "refused")
    if decision is Decision.CLARIFY and settings.reader_promote_threshold < 1.0 and not names_unknown \
            and options[0].text.strip():   # an entry without an answer is never promoted
        first = float(read(options[:1])[0])
        if first >= settings.reader_promote_threshold:
            return Reading(Decision.ANSWER, first, "promoted")
        return Reading(decision, first, "unchanged")
    return Reading(decision, None, "unchanged")


def _nothing_to_offer(options: Sequence[Hit], first: float, read: Read, settings: RetrievalSettings) -> bool:
    """Whether no option reads `reader_refuse_threshold` (the first one's score is `first`;
    the others are read only when it is below)."""
    line = settings.reader_refuse_threshold
    return line > 0 and first < line and max(float(s) for s in read(options[1:])) < line
