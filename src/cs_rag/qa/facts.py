"""wrong_info: the facts an agent states (days, amounts, rates, times, dates) checked against
the knowledge base.

Each sentence piece of an agent's message (cut at 。！？；, and line breaks) that states a
number (`cs_rag.guard.claims`) is searched in the knowledge base; the hits' texts are cut
the same way. A claim is compared with the knowledge pieces that state a number of the same
measure (durations in one time scale, with working days as days, and months and years in
another; amounts per currency; percentages; discounts; multiples; counts; clock times;
dates) and share the most words with the agent's piece (at least `MIN_SHARED`, numbers and
units aside). When none of those pieces states the agent's number, the claim contradicts
the knowledge: wrong_info. A claim no knowledge piece speaks about (an order's own amount, a
delivery date) is not judged.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from cs_rag.guard.claims import Claim, extract_claims
from cs_rag.guard.fold import normal_view
from cs_rag.knowledge_base import KnowledgeBase
from cs_rag.qa.conversation import Conversation, Role
from cs_rag.qa.findings import Finding, FindingCode
from cs_rag.text import normalize

MIN_SHARED = 2   # words shared with a knowledge piece and its context before numbers compare
_SENTENCE = re.compile(r"[^。！？；;!?\n]+")
_CLAUSE = re.compile(r"[^。！？；;!?\n,，、:：]+")
_RUN = re.compile(r"[a-z]+|[\u3400-\u9fff]+")
_NUMBER = re.compile(r"(?<![0-9.])[0-9]+(?:\.[0-9]+)?(?![0-9])")
_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "workday": 86400, "week": 604800}
_MONTHS = {"month": 1, "year": 12}


@dataclass(frozen=True)
class _Clause:
    text: str                   # normalised
    claims: list[Claim]
    words: frozenset[str]       # the clause's own bigrams
    context: frozenset[str]     # its sentence's and its hit's title's bigrams


def measure(claim: Claim) -> tuple[tuple, float]:
    """(what the claim measures, its value in that measure's unit): 3天 and 72小时 are both
    (("duration", "time"), 259200.0); a date or a time compares by its whole key."""
    kind = claim.kind
    if kind == "duration":
        _, value, unit = claim.key
        if unit in _SECONDS:
            return ("duration", "time"), value * _SECONDS[unit]
        return ("duration", "calendar"), value * _MONTHS[unit]
    if kind == "amount":
        _, value, currency = claim.key
        return ("amount", currency), value
    if kind in ("date", "time"):
        return (kind,), 0.0
    return (kind,), claim.key[1]


class FactChecker:
    """Checks agents' messages against a knowledge base's hits (`evidence_hits` per query)."""

    def __init__(self, knowledge_base: KnowledgeBase, evidence_hits: int = 5) -> None:
        self.knowledge_base = knowledge_base
        self.evidence_hits = evidence_hits

    def check(self, conversation: Conversation) -> list[Finding]:
        """One wrong_info finding per agent clause whose claim the knowledge contradicts."""
        findings = []
        asked = ""
        for index, turn in enumerate(conversation.turns):
            if turn.role is Role.CUSTOMER:
                asked = turn.text
            if turn.role is not Role.AGENT:
                continue
            view = normal_view(turn.text)
            for match in _CLAUSE.finditer(view.text):
                claims = extract_claims(match.group())
                if not claims:
                    continue
                knowledge = self._contradiction(match.group(), claims, asked)
                if knowledge is not None:
                    start, end = view.original_span(match.start(), match.end())
                    findings.append(Finding(code=FindingCode.WRONG_INFO, turn=index, span=(start, end),
                                            evidence=f"{turn.text[start:end].strip()} | knowledge: {knowledge}"))
        return findings

    def _contradiction(self, text: str, claims: list[Claim], asked: str) -> str | None:
        """The knowledge clause that a claim of `text` (an agent's clause answering `asked`)
        contradicts, or None."""
        hits = {}
        for query in (text, asked):
            if query.strip():
                hits.update((h.id, h) for h in self.knowledge_base.search(query, k=self.evidence_hits))
        clauses = [c for hit in hits.values() for c in _clauses(hit.text, hit.title)]
        loose = {n for hit in hits.values() for n in _loose_numbers(normalize(hit.text))}
        words = _bigrams(text, claims)
        for claim in claims:
            mine = measure(claim)
            number = f"{claim.key[1]:g}" if claim.kind not in ("date", "time") else ""
            if len(number) >= 2 and number in loose:
                continue    # the knowledge states it in a form claims do not parse (满299减30)
            comparable = [c for c in clauses if any(measure(other)[0] == mine[0] for other in c.claims)]
            spread = Counter(b for c in comparable for b in c.words & words)
            ranked = [(len(words & (c.words | c.context)), sum(1 / spread[b] for b in c.words & words), c)
                      for c in comparable]
            ranked = [r for r in ranked if r[1] > 0 and r[0] >= MIN_SHARED]
            if not ranked:
                continue
            best = max(r[:2] for r in ranked)
            closest = [c for *rank, c in ranked if tuple(rank) == best]
            if not any(_agrees(claim, mine, other) for c in closest for other in c.claims):
                return closest[0].text.strip()
        return None


def _clauses(text: str, title: str) -> list[_Clause]:
    """The clauses of a knowledge text that state a number."""
    heading = _bigrams(normalize(title), [])
    out = []
    for sentence in _SENTENCE.finditer(normalize(text)):
        pieces = [(m.group(), extract_claims(m.group())) for m in _CLAUSE.finditer(sentence.group())]
        if not any(claims for _, claims in pieces):
            continue
        context = heading | _bigrams(sentence.group(), extract_claims(sentence.group()))
        out += [_Clause(piece, claims, _bigrams(piece, claims), context) for piece, claims in pieces if claims]
    return out


def _bigrams(text: str, claims: list[Claim]) -> frozenset[str]:
    """The text's character bigrams (Latin words whole), its claims' numbers and units left
    out: tokenisation differences (金卡会员 / 金卡) do not hide shared words."""
    kept = list(text)
    for claim in claims:
        kept[claim.start:claim.end] = " " * (claim.end - claim.start)
    out = set()
    for run in _RUN.findall("".join(kept)):
        if run.isascii():
            out.add(run)
        else:
            out.update(run[i:i + 2] for i in range(len(run) - 1))
    return frozenset(out)


def _loose_numbers(text: str) -> set[str]:
    """Numbers in the text outside any claim."""
    claimed = [False] * len(text)
    for claim in extract_claims(text):
        claimed[claim.start:claim.end] = [True] * (claim.end - claim.start)
    return {m.group() for m in _NUMBER.finditer(text) if not any(claimed[m.start():m.end()])}


def _agrees(claim: Claim, mine: tuple[tuple, float], other: Claim) -> bool:
    if claim.kind in ("date", "time"):
        return claim.grounded_by(other)
    theirs = measure(other)
    return theirs[0] == mine[0] and abs(theirs[1] - mine[1]) < 1e-6
