"""Knowledge health: the entries an operator should look at, from the live index and the
answers given: never matched, about to expire (or expired), disliked, rejected in review, and
near-duplicates whose questions collide."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence

from pydantic import BaseModel

from cs_rag.knowledge_base import KnowledgeBase
from cs_rag.learning.answers import AnswerLog, AnswerRecord
from cs_rag.learning.entries import Entry, Questions, entries, questions
from cs_rag.learning.feedback import Feedback, FeedbackStore
from cs_rag.learning.stats import local_timezone
from cs_rag.types import DocumentKind, Outcome

# Two questions of different entries at this cosine or above are one question written twice.
# How it was chosen, without any eval or held-out question: e5-small (the default model) packs
# its cosines into about 0.7-1.0, so closeness, not the number, carries meaning. Rewordings of
# one question (怎么/如何, 多久/几天, 下单后/下单以后, word order) score 0.985-0.999; different
# questions on one topic in the shipped sample FAQ (knowledge/faq.jsonl: 怎么申请退货 /
# 退货申请怎么撤销, 积分怎么获得 / 积分怎么使用) score up to 0.979. 0.98 lies between the two.
# Another embedding model spreads cosines differently: pass its own threshold.
DUPLICATE_COSINE = 0.98
_BLOCK = 512   # question rows compared at once: a block x all-questions matrix stays small


class HealthEntry(BaseModel):
    """An entry the health check lists."""

    id: str
    kind: DocumentKind
    title: str
    category: str | None = None


class ExpiringEntry(HealthEntry):
    valid_to: dt.date
    days_left: int     # from today to the last valid day; negative: ended that many days ago


class CountedEntry(HealthEntry):
    count: int


class NearDuplicate(BaseModel):
    """Two entries with a question each that mean the same (the closest such pair)."""

    first: str
    second: str
    first_question: str
    second_question: str
    cosine: float


class KnowledgeHealth(BaseModel):
    """What needs an operator's look, over the `days` days up to `until`.

    - `never_matched`: entries valid today that no answered answer cited (its `first_id`) in
      the window; a newly added entry is listed until it is first matched.
    - `expiring`: entries whose last valid day (`valid_to`) is within `days` days from today;
      `expired`: past it (still in the index, never returned), most recently ended first.
    - `disliked`: entries first in answers of the window that customers rated unhelpful, with
      how many; `rejected`: entries cited first by answers a reviewer rejected (as counted by
      the caller), most first.
    - `near_duplicates`: pairs of entries, valid at some common day, with a question each whose
      stored embeddings have cosine >= `duplicate_cosine` (see DUPLICATE_COSINE), closest first.

    Each list holds at most `limit` entries; `totals` says how many there are.
    """

    days: int
    since: dt.datetime
    until: dt.datetime
    today: dt.date
    entries: int
    duplicate_cosine: float
    never_matched: list[HealthEntry]
    expiring: list[ExpiringEntry]
    expired: list[ExpiringEntry]
    disliked: list[CountedEntry]
    rejected: list[CountedEntry]
    near_duplicates: list[NearDuplicate]
    totals: dict[str, int]


def knowledge_health(knowledge_base: KnowledgeBase, answers: AnswerLog, feedback: FeedbackStore, *,
                     days: int = 30, rejections: Mapping[str, int] | None = None,
                     duplicate_cosine: float = DUPLICATE_COSINE, limit: int = 50,
                     now: dt.datetime | None = None, tz: dt.tzinfo | None = None) -> KnowledgeHealth:
    """The health of the live knowledge over the `days` days up to `now` (default: now;
    `today` in `tz`, default the local time zone). `rejections`: review rejections by entry
    id, which the caller counts over the same window."""
    if days < 1:
        raise ValueError(f"days: at least 1, got {days}")
    until = now or dt.datetime.now(dt.UTC)
    since = until - dt.timedelta(days=days)
    content = knowledge_base.content()
    return assess(entries(content), questions(content), answers.between(since, until), feedback.all(),
                  rejections or {}, days=days, since=since, until=until,
                  today=until.astimezone(tz or local_timezone()).date(),
                  duplicate_cosine=duplicate_cosine, limit=limit)


def assess(known: Sequence[Entry], asked: Questions, records: Iterable[AnswerRecord],
           ratings: Mapping[str, Feedback], rejections: Mapping[str, int], *, days: int,
           since: dt.datetime, until: dt.datetime, today: dt.date,
           duplicate_cosine: float = DUPLICATE_COSINE, limit: int = 50) -> KnowledgeHealth:
    """The health of entries `known`, from the answers `records` of the window and `ratings`
    by answer id (see KnowledgeHealth)."""
    by_id = {e.id: e for e in known}
    matched, dislikes = set(), Counter()
    for record in records:
        if record.outcome is Outcome.ANSWERED and record.first_id:
            matched.add(record.first_id)
        rating = ratings.get(record.trace_id)
        if rating is not None and not rating.helpful and record.first_id in by_id:
            dislikes[record.first_id] += 1
    ends = [(e, (e.valid_to - today).days) for e in known if e.valid_to is not None]
    lists = {
        "never_matched": [HealthEntry(**_fields(e)) for e in known if e.valid_on(today) and e.id not in matched],
        "expiring": [ExpiringEntry(**_fields(e), valid_to=e.valid_to, days_left=left)
                     for e, left in sorted(ends, key=lambda pair: pair[1]) if 0 <= left <= days],
        "expired": [ExpiringEntry(**_fields(e), valid_to=e.valid_to, days_left=left)
                    for e, left in sorted(ends, key=lambda pair: -pair[1]) if left < 0],
        "disliked": _counted(dislikes, by_id),
        "rejected": _counted(Counter({k: v for k, v in rejections.items() if k in by_id and v > 0}), by_id),
        "near_duplicates": near_duplicates(asked, duplicate_cosine, lambda a, b: _overlap(by_id[a], by_id[b])),
    }
    return KnowledgeHealth(days=days, since=since, until=until, today=today, entries=len(known),
                           duplicate_cosine=duplicate_cosine, totals={k: len(v) for k, v in lists.items()},
                           **{k: v[:limit] for k, v in lists.items()})


def near_duplicates(asked: Questions, threshold: float = DUPLICATE_COSINE,
                    may_collide: Callable[[str, str], bool] = lambda a, b: True) -> list[NearDuplicate]:
    """Pairs of entries with a question each at cosine >= `threshold` (the closest pair of
    questions per pair of entries), closest first; `may_collide(a, b)` drops pairs that can
    never be returned together."""
    vectors = asked.vectors
    best: dict[tuple[str, str], NearDuplicate] = {}
    for start in range(0, len(vectors), _BLOCK):
        rows, columns = (vectors[start:start + _BLOCK] @ vectors.T >= threshold).nonzero()
        for i, j in zip((rows + start).tolist(), columns.tolist()):
            a, b = asked.owners[i], asked.owners[j]
            if j <= i or a == b:
                continue
            if a > b:
                a, b, i, j = b, a, j, i
            cosine = round(float(vectors[i] @ vectors[j]), 4)
            if ((a, b) not in best or cosine > best[a, b].cosine) and may_collide(a, b):
                best[a, b] = NearDuplicate(first=a, second=b, first_question=asked.texts[i],
                                           second_question=asked.texts[j], cosine=cosine)
    return sorted(best.values(), key=lambda d: (-d.cosine, d.first, d.second))


def _overlap(a: Entry, b: Entry) -> bool:
    """Whether two entries are valid on some common day (only then can both be returned)."""
    low = max(a.valid_from or dt.date.min, b.valid_from or dt.date.min)
    high = min(a.valid_to or dt.date.max, b.valid_to or dt.date.max)
    return low <= high


def _fields(entry: Entry) -> dict:
    return {"id": entry.id, "kind": entry.kind, "title": entry.title, "category": entry.category}


def _counted(counts: Counter, by_id: Mapping[str, Entry]) -> list[CountedEntry]:
    return [CountedEntry(**_fields(by_id[key]), count=n)
            for key, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]
