"""The embedded default answer: no model, fast and deterministic.

An FAQ hit answers with its answer verbatim. A policy passage answers with the sentences that
share the most (IDF-weighted) question terms, in their original order, each group marked
with its evidence number [n]. Nothing is generated, so nothing can be invented.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cs_rag.ingest.chunking import split_sentences
from cs_rag.text import normalize
from cs_rag.types import DocumentKind, Hit

MIN_SENTENCE_COVERAGE = 0.25   # share of the question's term weight a sentence must carry
MAX_SENTENCES = 3
MAX_PASSAGES = 2               # passages an extract may draw on (they must be near the top)
PASSAGE_SCORE_RATIO = 0.9      # a second passage joins only if it scored this close to the first
# A list item's number or bullet at a sentence's start ("2. ", "（3）", "- "): meaningless once
# the sentence is lifted out of its list.
_LIST_MARKER = re.compile(r"^\s*(?:\d{1,2}[.．、)）](?!\d)|[(（]\d{1,2}[)）]|[-*•·])\s*")


@dataclass(frozen=True)
class Extract:
    """An extractive answer body and the hits (by position in the input list) it used."""

    text: str
    used: list[int]


def extract_answer(question_tokens: Sequence[str], hits: Sequence[Hit],
                   term_weight: Callable[[str], float]) -> Extract | None:
    """The answer body from the top hit(s), or None when no hit has an answer.

    `term_weight` gives a token's importance (the index's IDF; 0 for unknown tokens).
    """
    if not hits:
        return None
    top = hits[0]
    if top.kind is DocumentKind.FAQ:
        return Extract(top.text.strip(), [0]) if top.text.strip() else None
    passages = [0] + [i for i, hit in enumerate(hits[1:MAX_PASSAGES], start=1)
                      if hit.kind is not DocumentKind.FAQ and hit.score >= top.score * PASSAGE_SCORE_RATIO]
    weights = {t: max(term_weight(t), 0.0) for t in set(question_tokens)}
    total = sum(weights.values())
    scored: list[tuple[float, int, int, str]] = []  # (coverage, passage, position, sentence)
    for number, index in enumerate(passages):
        for position, sentence in enumerate(split_sentences(hits[index].text)):
            coverage = _coverage(sentence, weights, total)
            scored.append((coverage, number, position, _LIST_MARKER.sub("", sentence.strip())))
    chosen = [s for s in sorted(scored, key=lambda s: (-s[0], s[1], s[2]))[:MAX_SENTENCES]
              if s[0] >= MIN_SENTENCE_COVERAGE]
    if not chosen:  # no sentence stands out: the passage's opening says what it is about
        opening = [s for s in scored if s[1] == 0][:2]
        chosen = opening
    chosen.sort(key=lambda s: (s[1], s[2]))
    used_numbers = sorted({s[1] for s in chosen})
    pieces: list[str] = []
    for number in used_numbers:
        sentences = " ".join(s[3] for s in chosen if s[1] == number)
        pieces.append(f"{sentences}[{used_numbers.index(number) + 1}]")
    return Extract(" ".join(pieces), [passages[n] for n in used_numbers])


def _coverage(sentence: str, weights: dict[str, float], total: float) -> float:
    """Share of the question's term weight whose (normalised) terms occur in the sentence."""
    if total <= 0:
        return 0.0
    lowered = normalize(sentence)
    return sum(w for term, w in weights.items() if term in lowered) / total
