"""wrong_info: the facts an agent states (days, amounts, rates, points, times, dates) checked
against the knowledge base.

Each clause of an agent's message (cut at 。！？；，、:, a full stop and line breaks, not inside
1,500, 2.5 or 23:59, nor at a colon before a figure) that states a number (`claims_in`) is searched in the knowledge base, and so is the
customer's last message before it; the hits' texts, and the `WORD_CHUNKS` chunks whose
clauses share the agent's bigrams best, are cut into clauses the same way. A knowledge clause speaks of the claim
when it states a number of the same measure (durations in one time scale, working days as
days, months and years in another; amounts per currency; percentages; discounts; multiples;
counts; points; clock times; dates), shares a character bigram with the agent's clause and
`MIN_SHARED` with the clause and its sentence and title. If any clause that speaks of it
states the agent's number, or a range holding it, the claim stands. Otherwise the best of
those sharing `MIN_CLAUSE_SHARED` bigrams (or all of their own) with the agent's clause itself (ranked by bigrams
shared with clause, sentence and title, then by the clause's own, rarer ones weighing more)
is the knowledge the claim contradicts: wrong_info. A number of two or more digits that the
hits state in a form `extract_claims` does not parse (满299减30) is never judged. A later clause
repeating a figure found wrong is wrong_info too, unless a close clause agrees. Only
knowledge valid on the day of the conversation is read (an expired sale's figures neither
clear nor contradict an agent).

What is not a rule is not judged: a sum or a number of points the customer wrote earlier
(降了60块), a year alone (您2025年获得的积分), a sentence working an example (例如…). A closest
clause that is another case of a list (平时24小时、大促期间72小时) whose case stating the agent's
figure the agent did not name does not contradict. A clause with one number of points and one
sum is judged as a rate (1500积分抵15元 agrees with 100积分抵扣1元). A limit of 1 written with a
digit (改派1次) is a claim; 一次 is "once" and is not.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field

from cs_rag.guard.claims import Claim, extract_claims, parse_number
from cs_rag.guard.fold import normal_view
from cs_rag.index.base import SearchFilter, valid_on
from cs_rag.knowledge_base import KnowledgeBase
from cs_rag.qa.conversation import Conversation, Role
from cs_rag.qa.findings import Finding, FindingCode
from cs_rag.text import normalize

MIN_SHARED = 2         # bigrams an agent's clause shares with a knowledge clause and its context
WORD_CHUNKS = 50       # chunks read besides the hits: those whose clauses share the agent's words best
MIN_CLAUSE_SHARED = 2  # ... and with the knowledge clause itself, before their numbers compare
_SENTENCE = re.compile(r"(?:[^。！？；;!?\n.]|\.(?=[0-9]))+")      # 3.5 stays one number
# 1,500 and 23:59 stay one number, and a label stays with its figure (截止时间：11月20日)
_CLAUSE = re.compile(r"(?:[^。！？；;!?\n,，、:：.]|\.(?=[0-9])|(?<=[0-9]),(?=[0-9]{3})|[:：](?=\s*[0-9]))+")
_RUN = re.compile(r"[a-z]+|[\u3400-\u9fff]+")
_NUMBER = re.compile(r"(?<![0-9.])[0-9]+(?:\.[0-9]+)?(?![0-9])")
_NUM = r"([0-9]+(?:\.[0-9]+)?|[零一二两三四五六七八九十百千万]+)"
_EXTRA = (("amount", re.compile(rf"满\s*{_NUM}\s*减\s*{_NUM}")),
          ("points", re.compile(rf"{_NUM}\s*(?:个)?积分")),
          ("count", re.compile(r"(?<![第0-9.])(1)\s*次(?!数)")))    # 改派1次: a limit (一次 is "once")
# a sentence that works an example (例如，若实付50元…) states the customer's case, not the rule
_EXAMPLE = re.compile(r"例如|比如|譬如|举个例子|举例来说|for example|for instance|e\.g\.")
_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "workday": 86400, "week": 604800}
_MONTHS = {"month": 1, "year": 12}
_THRESHOLD_BEFORE = re.compile(r"(?:满|不足|不满|未满|超过|达到|高于|低于|reach(?:es)?|over|above|under|least|below)\s*(?:rmb|¥|￥)?\s*$")
_THRESHOLD_REACH = 12   # characters before an amount searched for 满 / 不足 / over ...
_THRESHOLD_AFTER = re.compile(r"\s*(?:以上|及以上|起|or more|and above|or above)")


_Validity = tuple[dt.date | None, dt.date | None]   # a chunk's valid_from and valid_to


@dataclass(frozen=True)
class _Clause:
    text: str                   # normalised
    claims: list[Claim]
    words: frozenset[str]       # the clause's own bigrams
    context: frozenset[str]     # its sentence's and its hit's title's bigrams
    measures: list[tuple[tuple, float]]   # measure() of each claim, in order


def measure(claim: Claim, text: str = "") -> tuple[tuple, float]:
    """(what the claim measures, its value in that measure's unit): 3天 and 72小时 are both
    (("duration", "time"), 259200.0); a date or a time compares by its whole key. An amount
    that `text` (the text the claim was found in) states as a threshold (满99元, 不足99元,
    RMB 800 or more) measures a threshold, not a sum: 您这单实付258元 says nothing of 满99元."""
    kind = claim.kind
    if kind == "duration":
        _, value, unit = claim.key
        if unit in _SECONDS:
            return ("duration", "time"), value * _SECONDS[unit]
        return ("duration", "calendar"), value * _MONTHS[unit]
    if kind == "amount":
        _, value, currency = claim.key
        threshold = bool(_THRESHOLD_BEFORE.search(text[max(0, claim.start - _THRESHOLD_REACH):claim.start])
                         or _THRESHOLD_AFTER.match(text[claim.end:]))
        return ("amount", currency, threshold), value
    if kind in ("date", "time"):
        return (kind,), 0.0
    return (kind,), claim.key[1]


@dataclass
class _Verdict:
    """The knowledge on an agent's clause: its figures (`measure` of each claim), the knowledge
    clause one of them contradicts and which, and whether a close clause agreed with one."""

    figures: list[tuple[tuple, float]]
    knowledge: str | None = None
    wrong: list[tuple[tuple, float]] = field(default_factory=list)
    agreed: bool = False


class FactChecker:
    """Checks agents' messages against a knowledge base's hits (`evidence_hits` per query)."""

    def __init__(self, knowledge_base: KnowledgeBase, evidence_hits: int = 5) -> None:
        self.knowledge_base = knowledge_base
        self.evidence_hits = evidence_hits
        self._version: str | None = None
        self._cut: tuple[dict[str, list[_Clause]], dict[str, set[str]], dict[str, _Validity]] = ({}, {}, {})

    def check(self, conversation: Conversation) -> list[Finding]:
        """One wrong_info finding per agent clause whose claim the knowledge contradicts, or
        that repeats a figure an earlier agent turn was found wrong about (对的，每满300减40)
        without any knowledge clause close to it agreeing."""
        findings = []
        asked = ""
        stated: set[str] = set()    # every number the customer has written so far
        day = conversation.day
        wrong: dict[tuple[tuple, float], str] = {}   # a contradicted figure -> the knowledge
        for index, turn in enumerate(conversation.turns):
            if turn.role is Role.CUSTOMER:
                asked = turn.text
                stated.update(_NUMBER.findall(normalize(turn.text)))
            if turn.role is not Role.AGENT:
                continue
            view = normal_view(turn.text)
            clauses = [(sentence.start() + m.start(), sentence.start() + m.end(), m.group())
                       for sentence in _SENTENCE.finditer(view.text) if not _EXAMPLE.search(sentence.group())
                       for m in _CLAUSE.finditer(sentence.group())]
            for clause_start, clause_end, clause in clauses:
                claims = claims_in(clause)
                if not claims:
                    continue
                verdict = self._contradiction(clause, claims, asked, day, stated)
                knowledge = verdict.knowledge
                if knowledge is None and not verdict.agreed:
                    knowledge = next((wrong[figure] for figure in verdict.figures if figure in wrong), None)
                if knowledge is not None:
                    wrong.update((figure, knowledge) for figure in verdict.wrong)
                    start, end = view.original_span(clause_start, clause_end)
                    findings.append(Finding(code=FindingCode.WRONG_INFO, turn=index, span=(start, end),
                                            evidence=f"{turn.text[start:end].strip()} | knowledge: {knowledge}"))
        return findings

    def _contradiction(self, text: str, claims: list[Claim], asked: str, day: dt.date,
                       stated: set[str]) -> _Verdict:
        """What the knowledge valid on `day` says of the claims of `text` (an
        agent's clause answering `asked`): an expired promotion's figures neither clear nor
        contradict what an agent says after it ended. A sum or a number of points the customer
        stated (`stated`: 降了60块, 我有1500分) is their case, not a rule, and is not judged; a
        clause stating a rate of points to money is judged by the rate (1500积分抵15元 is
        100积分抵扣1元)."""
        where = SearchFilter(valid_on=day)
        hits = {}
        for query in (text, asked):
            if query.strip():
                hits.update((h.id, h) for h in self.knowledge_base.search(query, k=self.evidence_hits, where=where))
        words = _bigrams(text, claims)
        by_chunk, by_word, validity = self._knowledge_clauses()
        expired = {chunk_id for chunk_id, dates in validity.items() if not valid_on(*dates, day)}
        # the hits, and the live chunks whose clauses share the agent's words best (rarer words
        # weighing more): a clause that states the agent's figure counts even when the search
        # ranked its chunk low
        overlap: Counter[str] = Counter()
        for word in words:
            holders = by_word.get(word, ())
            for chunk_id in holders:
                if chunk_id not in expired:
                    overlap[chunk_id] += 1 / len(holders)
        ids = set(hits) | {chunk_id for chunk_id, _ in overlap.most_common(WORD_CHUNKS)}
        clauses = [c for i in sorted(ids) for c in by_chunk.get(i, [])]
        loose = {n for hit in hits.values() for n in _loose_numbers(normalize(hit.text))}
        verdict = _Verdict([measure(claim, text) for claim in claims])
        rate = _rate(verdict.figures)
        if rate is not None:
            # few clauses state a rate: sharing a word (积分) is close enough
            rated = [(theirs, c) for c in clauses
                     if words & c.words and (theirs := _rate(c.measures)) is not None]
            if any(abs(theirs - rate) <= 1e-6 * rate for theirs, _ in rated):
                verdict.agreed = True
                return verdict
            if rated:
                closest = max((c for _, c in rated), key=lambda c: len(words & (c.words | c.context)))
                verdict.knowledge, verdict.wrong = closest.text.strip(), list(verdict.figures)
                return verdict
        for claim, mine in zip(claims, verdict.figures):
            number = f"{claim.key[1]:g}" if claim.kind not in ("date", "time") else ""
            if len(number) >= 2 and number in loose:
                continue    # the knowledge states it in a form claims do not parse (满299减30)
            if claim.kind == "date" and claim.key[2] is None:
                continue    # a year alone (您2025年获得的积分) says which, not when
            if _a_sum(mine) and number in stated:
                continue    # the customer's own figure (降了60块): their case, not a rule
            comparable = [c for c in clauses if any(theirs[0] == mine[0] for theirs in c.measures)]
            spread = Counter(b for c in comparable for b in c.words & words)
            relevant = [c for c in comparable
                        if words & c.words and len(words & (c.words | c.context)) >= MIN_SHARED]
            if not relevant:
                continue
            scored = [((len(words & (c.words | c.context)), sum(1 / spread[b] for b in c.words & words)), c)
                      for c in relevant]
            best = max(rank for rank, _ in scored)
            closest = [c for rank, c in scored if rank == best]
            if any(_agrees(claim, mine, c) for c in closest) or \
                    not any(_close(words, c) for c in closest) and any(_agrees(claim, mine, c) for c in relevant) or \
                    all(_another_case(words, c, claim, mine, clauses) for c in closest):
                # the clause that speaks of it most closely says the same, or no close clause
                # says otherwise and one that speaks of it agrees, or the closest ones are
                # other cases of a list whose case stating the agent's figure it did not name
                verdict.agreed = True
                continue
            ranked = [(rank, c) for rank, c in scored if _close(words, c)]
            if ranked:
                top = max(rank for rank, _ in ranked)
                verdict.knowledge = next(c for rank, c in ranked if rank == top).text.strip()
                verdict.wrong = [mine]
                return verdict
        return verdict

    def _knowledge_clauses(self) -> tuple[dict[str, list[_Clause]], dict[str, set[str]], dict[str, _Validity]]:
        """Every chunk's clauses that state a number (chunk id -> clauses), which chunks hold
        each clause bigram and the validity dates of those with any, cut once per index
        version (built whole, then swapped in, so a concurrent caller sees the old set or the
        new one)."""
        version = self.knowledge_base.version()
        if version != self._version:
            content = self.knowledge_base.content()
            by_chunk: dict[str, list[_Clause]] = {}
            by_word: dict[str, set[str]] = {}
            validity: dict[str, _Validity] = {}
            for ordinal in range(len(content)):
                chunk = content.chunk(ordinal)
                found = _clauses(chunk.text, chunk.title)
                if found:
                    by_chunk[chunk.id] = found
                    if chunk.valid_from or chunk.valid_to:
                        validity[chunk.id] = (chunk.valid_from, chunk.valid_to)
                    for word in {w for c in found for w in c.words}:
                        by_word.setdefault(word, set()).add(chunk.id)
            self._cut = (by_chunk, by_word, validity)
            self._version = version
        return self._cut


def claims_in(text: str) -> list[Claim]:
    """`extract_claims` plus two forms customer service states often: 满300减40 (two amounts,
    no 元 needed) and points (100积分)."""
    claims = extract_claims(text)
    taken = [False] * len(text)
    for claim in claims:
        taken[claim.start:claim.end] = [True] * (claim.end - claim.start)
    for kind, pattern in _EXTRA:
        for m in pattern.finditer(text):
            if any(taken[m.start():m.end()]):
                continue
            values = [(parse_number(m.group(g)), m.start(g), m.end(g)) for g in range(1, len(m.groups()) + 1)]
            if any(v is None for v, _, _ in values):
                continue
            taken[m.start():m.end()] = [True] * (m.end() - m.start())
            # each number its own span: 满99减10 is a threshold and a discount, not a range
            claims += [Claim(kind, (kind, v, "cny") if kind == "amount" else (kind, v), start, end)
                       for v, start, end in values]
    return sorted(claims, key=lambda c: c.start)


def _clauses(text: str, title: str) -> list[_Clause]:
    """The clauses of a knowledge text that state a number."""
    heading = _bigrams(normalize(title), [])
    out = []
    for sentence in _SENTENCE.finditer(normalize(text)):
        pieces = [(m.group(), claims_in(m.group())) for m in _CLAUSE.finditer(sentence.group())]
        if not any(claims for _, claims in pieces):
            continue
        context = heading | _bigrams(sentence.group(), claims_in(sentence.group()))
        out += [_Clause(piece, claims, _bigrams(piece, claims), context, [measure(c, piece) for c in claims])
                for piece, claims in pieces if claims]
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


def _close(words: frozenset[str], clause: _Clause) -> bool:
    """The knowledge clause itself shares `MIN_CLAUSE_SHARED` bigrams with the agent's clause,
    or all of its own when it has fewer (金卡15天 names only 金卡)."""
    shared = len(words & clause.words)
    return shared >= min(MIN_CLAUSE_SHARED, len(clause.words)) and shared > 0


def _loose_numbers(text: str) -> set[str]:
    """Numbers in the text outside any claim `extract_claims` finds (so 299 of 满299减30 is
    one: an agent stating it is never judged)."""
    claimed = [False] * len(text)
    for claim in extract_claims(text):
        claimed[claim.start:claim.end] = [True] * (claim.end - claim.start)
    return {m.group() for m in _NUMBER.finditer(text) if not any(claimed[m.start():m.end()])}


def _agrees(claim: Claim, mine: tuple[tuple, float], clause: _Clause) -> bool:
    """The clause states the claim's value, or a range (3-7个工作日) that holds it."""
    if claim.kind in ("date", "time"):
        return any(claim.grounded_by(other) for other in clause.claims)
    spans: dict[tuple[int, int], list[float]] = {}
    for other, theirs in zip(clause.claims, clause.measures):
        if theirs[0] == mine[0]:
            spans.setdefault((other.start, other.end), []).append(theirs[1])
    return any(min(values) - 1e-6 <= mine[1] <= max(values) + 1e-6 for values in spans.values())


def _another_case(words: frozenset[str], clause: _Clause, claim: Claim, mine: tuple[tuple, float],
                  clauses: list[_Clause]) -> bool:
    """Another clause of the knowledge clause's sentence states the agent's figure (平时24小时、
    大促期间72小时) and shares at least as many of the agent's words, and the agent's clause
    does not hold all of the knowledge clause's own (金卡15天 names 金卡): the agent spoke of
    the other case of the list."""
    if clause.words <= words:
        return False
    mine_shared = len(words & clause.words)
    return any(other is not clause and other.context == clause.context and _agrees(claim, mine, other)
               and len(words & other.words) >= mine_shared for other in clauses)


def _money(what: tuple) -> bool:
    """The measure (`measure()[0]`) is an amount of money that is not a threshold (满99元 is one)."""
    return what[0] == "amount" and not what[2]


def _a_sum(figure: tuple[tuple, float]) -> bool:
    """An amount that is not a threshold, or a number of points: what an order or an account holds."""
    return figure[0] == ("points",) or _money(figure[0])


def _rate(figures: list[tuple[tuple, float]]) -> float | None:
    """Points per unit of money when the figures are one number of points and one sum
    (100积分抵扣1元 -> 100), else None."""
    points = [value for what, value in figures if what == ("points",)]
    sums = [value for what, value in figures if _money(what)]
    if len(points) == 1 and len(sums) == 1 and len(figures) == 2 and sums[0] > 0:
        return points[0] / sums[0]
    return None
