"""The evidence reader's part in a decision: what the calibrated bands decided, after the reader
has read the texts the customer would get.

The bands judge how surely the first hit is the entry the question is about; the reader judges
whether its text says what was asked. With `retrieval.evidence_reader` on:
- a direct answer whose first hit reads below `reader_threshold` is withheld: a clarify reply
  with the likeliest entries, or a refusal without two distinct ones or when none of them reads
  `reader_refuse_threshold` (nothing it could offer says it);
- a clarify reply whose first option reads at or above `reader_promote_threshold` (below 1) is
  answered directly from it, unless the question names something the knowledge never mentions.
Refusals are never read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from cs_rag.config import RetrievalSettings
from cs_rag.types import Decision, Hit

# reads hits and gives each one's 0-1 score that its text answers the question
Read = Callable[[Sequence[Hit]], Sequence[float]]


def read_decision(decision: Decision, options: Sequence[Hit], read: Read, settings: RetrievalSettings,
                  names_unknown: bool = False) -> tuple[Decision, float | None]:
    """The decision after reading, and the first option's score (None when nothing was read).
    `options` are the distinct documents a clarify reply would offer, the first hit first;
    `names_unknown` says the question names something the knowledge never mentions."""
    if not options:
        return decision, None
    if decision is Decision.ANSWER:
        first = float(read(options[:1])[0])
        if first >= settings.reader_threshold:
            return decision, first
        return _withheld(options, first, read, settings), first
    if decision is Decision.CLARIFY and settings.reader_promote_threshold < 1.0 and not names_unknown:
        first = float(read(options[:1])[0])
        return (Decision.ANSWER if first >= settings.reader_promote_threshold else decision), first
    return decision, None


def _withheld(options: Sequence[Hit], first: float, read: Read, settings: RetrievalSettings) -> Decision:
    """A withheld answer's decision (`first`: its first option's score): clarify with the
    options, unless fewer than two exist or none of them reads at `reader_refuse_threshold`."""
    if len(options) < 2:
        return Decision.NONE
    if settings.reader_refuse_threshold > 0 and first < settings.reader_refuse_threshold and \
            max(float(s) for s in read(options[1:])) < settings.reader_refuse_threshold:
        return Decision.NONE
    return Decision.CLARIFY
