"""The team's figures: how many questions the bot served and how well, over a window of time,
in total, by day and by category, from the answer log and customers' ratings."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping
from enum import Enum
from zoneinfo import ZoneInfo

import numpy as np
from pydantic import BaseModel, Field

from cs_rag.errors import WindowError
from cs_rag.learning.answers import AnswerLog, AnswerRecord
from cs_rag.learning.feedback import Feedback, FeedbackReason, FeedbackStore
from cs_rag.types import Outcome

MAX_DAYS = 366   # a daily breakdown longer than this is a table nobody reads: ask for the total


class Granularity(str, Enum):
    """How a window of figures is broken down in time."""

    DAY = "day"       # the total and one row per day
    TOTAL = "total"   # the total only


class Figures(BaseModel):
    """One group of answers (a window, a day, a category).

    What counts, exactly:

    - `questions`: answers given, small-talk replies (greetings, thanks: `smalltalk`) left out;
      small talk is outside every count and rate below, latency included.
    - `answered` / `clarified` / `refused` / `handed_off` / `noted` (suggestions thanked and
      logged for the product team): answers by outcome; they add up to `questions`. Their rates are over `questions`: `no_answer_rate` (无答案率) is the refused
      share, `handoff_rate` (转人工率) the handed-off share.
    - `resolved`: answered answers not rated unhelpful (and, when review decisions are given,
      whose review was not rejected), plus clarify replies one of whose offered options the
      customer then picked. The answer to a picked option is a question of its own, counted
      like any answered one. `resolution_rate` = resolved / questions. `rejected_in_review`:
      answered answers whose review was rejected.
    - `rated`: answers with a rating, whatever their outcome; `satisfaction` = helpful / rated,
      with `rated_share` = rated / questions beside it. Customers choose whether to rate, so
      satisfaction speaks for those who rated, not for every customer.
    - `wrong`: ratings whose reason is "wrong"; `wrong_share` = wrong / rated.
    - `latency_ms_p50` / `_p95`: the answer pipeline's own total time (`timings_ms.total`).
    - `question_types`: questions by type (inquiry, howto, fault, complaint, suggestion; 咨询,
      操作, 故障, 投诉, 建议); `emotion_levels`: questions by the customer's emotion level
      ("0" calm to "3" strong); `emotions`: the negative ones by kind; `negative_share`: the
      share of questions at level 1 or more. Answers logged before these were read count
      under neither type nor kind, at level 0.

    A rate over nothing (no questions, no ratings) is None, not 0.
    """

    questions: int = 0
    smalltalk: int = 0
    answered: int = 0
    clarified: int = 0
    refused: int = 0
    handed_off: int = 0
    noted: int = 0
    resolved: int = 0
    rated: int = 0
    helpful: int = 0
    wrong: int = 0
    rejected_in_review: int = 0
    answered_rate: float | None = None
    clarify_rate: float | None = None
    no_answer_rate: float | None = None
    handoff_rate: float | None = None
    resolution_rate: float | None = None
    satisfaction: float | None = None
    rated_share: float | None = None
    wrong_share: float | None = None
    latency_ms_p50: float | None = None
    latency_ms_p95: float | None = None
    question_types: dict[str, int] = Field(default_factory=dict)
    emotion_levels: dict[str, int] = Field(default_factory=dict)
    emotions: dict[str, int] = Field(default_factory=dict)
    negative_share: float | None = None


class DayFigures(Figures):
    """The figures of one day (in the window's time zone)."""

    day: dt.date


class CategoryFigures(Figures):
    """The figures of one category: that of the entry or document the answer cited or, when it
    cited none, ranked first; None when there was no such entry or it has no category."""

    category: str | None


class TeamFigures(BaseModel):
    """The figures of the answers given in [since, until) (an open bound: every answer)."""

    since: dt.datetime | None
    until: dt.datetime | None
    timezone: str                 # days are counted in this time zone
    granularity: Granularity
    total: Figures
    days: list[DayFigures]        # every day of the window, oldest first; empty for `total`
    categories: list[CategoryFigures]   # most questions first, no category last


CategoryOf = Callable[[str], "str | None"] | Mapping[str, "str | None"]


def team_figures(answers: AnswerLog, feedback: FeedbackStore, *, since: dt.datetime | None = None,
                 until: dt.datetime | None = None, granularity: Granularity = Granularity.DAY,
                 category_of: CategoryOf | None = None, rejected: Collection[str] = (),
                 tz: dt.tzinfo | None = None) -> TeamFigures:
    """The figures of the answers given in [since, until), by day (in `tz`, default the local
    time zone) and by category (`category_of` maps an entry or document id to its category,
    e.g. `entry_categories(knowledge_base)`; without it every answer is in category None).
    `rejected`: trace ids of answers a reviewer rejected; those never count as resolved.
    WindowError naming `since` for a daily breakdown over MAX_DAYS days."""
    tz = tz or local_timezone()
    records = answers.between(since, until)
    ratings = feedback.all()
    lookup = category_of.get if isinstance(category_of, Mapping) else category_of
    days: list[DayFigures] = []
    if granularity is Granularity.DAY:
        by_day: dict[dt.date, list[AnswerRecord]] = {}
        for record in records:
            by_day.setdefault(record.at.astimezone(tz).date(), []).append(record)
        for day in _days(since, until, list(by_day), tz):
            days.append(DayFigures(day=day, **dict(figures(by_day.get(day, []), ratings, rejected))))
    by_category: dict[str | None, list[AnswerRecord]] = {}
    for record in records:
        category = lookup(record.first_id) if lookup and record.first_id else None
        by_category.setdefault(category, []).append(record)
    categories = [CategoryFigures(category=name, **dict(figures(group, ratings, rejected)))
                  for name, group in by_category.items()]
    categories.sort(key=lambda c: (c.category is None, -c.questions, c.category or ""))
    return TeamFigures(since=since, until=until, timezone=str(tz), granularity=granularity,
                       total=figures(records, ratings, rejected), days=days,
                       categories=categories)


def figures(records: Iterable[AnswerRecord], ratings: Mapping[str, Feedback],
            rejected: Collection[str] = ()) -> Figures:
    """The figures of `records`, rated by `ratings` (by answer id); see Figures for what counts."""
    counts: Counter = Counter()   # counted in a plain dict: setting model fields per answer is slow at 10k answers
    question_types: Counter = Counter()
    emotion_levels: Counter = Counter()
    emotions: Counter = Counter()
    latencies = []
    for record in records:
        if record.outcome is Outcome.SMALLTALK:
            counts["smalltalk"] += 1
            continue
        counts["questions"] += 1
        rating = ratings.get(record.trace_id)
        if record.outcome is Outcome.ANSWERED:
            counts["answered"] += 1
            turned_down = record.trace_id in rejected
            counts["rejected_in_review"] += turned_down
            counts["resolved"] += not turned_down and (rating is None or rating.helpful)
        elif record.outcome is Outcome.CLARIFY:
            counts["clarified"] += 1
            counts["resolved"] += record.picked
        elif record.outcome is Outcome.REFUSED:
            counts["refused"] += 1
        elif record.outcome is Outcome.NOTED:
            counts["noted"] += 1
        else:
            counts["handed_off"] += 1
        if record.question_type:
            question_types[record.question_type] += 1
        emotion_levels[str(record.level)] += 1
        if record.level:
            emotions[record.emotion] += 1
        if rating is not None:
            counts["rated"] += 1
            counts["helpful"] += rating.helpful
            counts["wrong"] += rating.reason is FeedbackReason.WRONG
        if record.latency_ms is not None:
            latencies.append(record.latency_ms)
    out = Figures(**{name: int(count) for name, count in counts.items()}, question_types=dict(question_types),
                  emotion_levels=dict(emotion_levels), emotions=dict(emotions))
    n = out.questions
    out.answered_rate, out.clarify_rate = _share(out.answered, n), _share(out.clarified, n)
    out.no_answer_rate, out.handoff_rate = _share(out.refused, n), _share(out.handed_off, n)
    out.resolution_rate, out.rated_share = _share(out.resolved, n), _share(out.rated, n)
    out.satisfaction, out.wrong_share = _share(out.helpful, out.rated), _share(out.wrong, out.rated)
    out.negative_share = _share(sum(out.emotions.values()), n)
    if latencies:
        out.latency_ms_p50, out.latency_ms_p95 = (round(float(p), 3) for p in np.percentile(latencies, [50, 95]))
    return out


def window(since: str | None = None, until: str | None = None, *, days: int = 30,
           tz: dt.tzinfo | None = None, now: dt.datetime | None = None) -> tuple[dt.datetime, dt.datetime]:
    """[since, until) from ISO dates or date-times (see parse_bound): without `until`, up to
    the end of today; without `since`, the `days` days before `until`. WindowError naming the
    field for a bad value or an `until` not after `since`."""
    tz = tz or local_timezone()
    today = (now or dt.datetime.now(tz)).astimezone(tz).date()
    end = parse_bound(until, "until", end=True, tz=tz) if until else \
        dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), tz)
    start = parse_bound(since, "since", tz=tz) if since else end - dt.timedelta(days=days)
    if end <= start:
        raise WindowError("until", f"the window [{start.isoformat()}, {end.isoformat()}) is empty: "
                                   "until must come after since")
    return start, end


def parse_bound(text: str, field: str, *, end: bool = False, tz: dt.tzinfo | None = None) -> dt.datetime:
    """An ISO date or date-time as a moment: a date is its first moment in `tz` (default the
    local time zone), or with `end` the first moment after it (so an end date is included);
    a date-time without an offset is in `tz`. WindowError naming `field` otherwise."""
    tz = tz or local_timezone()
    text = text.strip()
    try:
        if len(text) == 10:   # YYYY-MM-DD
            day = dt.date.fromisoformat(text)
            return dt.datetime.combine(day + dt.timedelta(days=end), dt.time(), tz)
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise WindowError(field, "not an ISO date (2026-11-01) or date-time "
                                 f"(2026-11-01T08:00:00+08:00): {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)


def team_timezone(name: str | None) -> dt.tzinfo:
    """The zone whose days the figures count: `retrieval.timezone` (the one validity dates use)
    when set, else the machine's."""
    return ZoneInfo(name) if name else local_timezone()


def local_timezone() -> dt.tzinfo:
    """The local time zone at its current UTC offset."""
    return dt.datetime.now().astimezone().tzinfo  # type: ignore[return-value]


def _days(since: dt.datetime | None, until: dt.datetime | None, seen: list[dt.date],
          tz: dt.tzinfo) -> list[dt.date]:
    """Every day from the window's first to its last (an open end: the first or last day with
    an answer)."""
    first = since.astimezone(tz).date() if since else min(seen, default=None)
    last = (until - dt.timedelta(microseconds=1)).astimezone(tz).date() if until else max(seen, default=None)
    if first is None or last is None or last < first:
        return []
    if (last - first).days >= MAX_DAYS:
        raise WindowError("since", f"a daily breakdown covers at most {MAX_DAYS} days, this window "
                                   f"{(last - first).days + 1}; ask for granularity=total")
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None
