"""The team's figures: what each one counts, by day and by category, and the window's bounds."""

from __future__ import annotations

import datetime as dt

import pytest

from cs_rag.errors import WindowError
from cs_rag.learning.answers import AnswerLog
from cs_rag.learning.feedback import FeedbackReason, FeedbackStore
from cs_rag.learning.stats import (
    MAX_DAYS,
    Granularity,
    figures,
    parse_bound,
    team_figures,
    team_timezone,
    window,
)
from cs_rag.state import SqliteState
from cs_rag.types import Answer, Citation, DocumentKind, Outcome, Routing

UTC = dt.UTC
DAY1 = dt.datetime(2026, 11, 1, 9, tzinfo=UTC)
DAY2 = dt.datetime(2026, 11, 2, 9, tzinfo=UTC)


class Clock:
    """Stands still at `now` (seconds since the epoch) until moved."""

    def __init__(self) -> None:
        self.now = DAY1.timestamp()

    def __call__(self) -> float:
        return self.now


def _cite(entry_id: str, marker: int = 1) -> Citation:
    return Citation(marker=marker, id=entry_id, doc_id=entry_id, source="faq.jsonl", kind=DocumentKind.FAQ,
                    title=entry_id, score=1.0)


def _answer(trace_id: str, outcome: Outcome, cited: str | None = None, *, options=(), chosen=None,
            latency: float = 100.0) -> Answer:
    trace = {"trace_id": trace_id, "timings_ms": {"total": latency}}
    if chosen:
        trace["chosen_option"] = chosen
    return Answer(question="问", text="答", outcome=outcome, confidence=0.5, trace_id=trace_id, trace=trace,
                  citations=[_cite(cited)] if cited else [], routing=Routing.SEND,
                  options=[_cite(o, i + 1) for i, o in enumerate(options)])


@pytest.fixture
def log(state_db):
    """Two days of answers: every outcome, a picked clarify reply, ratings, a rejected review.

    11-01: a1 answered (helpful), a2 answered (unhelpful: wrong), c1 clarify then p1 (its option
    picked, unrated), small talk. 11-02: r1 refused (unhelpful: irrelevant), h1 handed off,
    a3 answered (rejected in review), c2 clarify (never picked)."""
    clock = Clock()
    database = state_db
    answers = AnswerLog(database, clock)
    feedback = FeedbackStore(database, answers, clock)
    for at, answer, session in [
            (DAY1, _answer("a1", Outcome.ANSWERED, "f-refund", latency=10), None),
            (DAY1, _answer("a2", Outcome.ANSWERED, "f-invoice", latency=20), None),
            (DAY1, _answer("c1", Outcome.CLARIFY, options=["f-a", "f-b"], latency=30), "s1"),
            (DAY1, _answer("p1", Outcome.ANSWERED, "f-b", chosen="f-b", latency=40), "s1"),
            (DAY1, _answer("hi", Outcome.SMALLTALK, latency=1), None),
            (DAY2, _answer("r1", Outcome.REFUSED, latency=50), None),
            (DAY2, _answer("h1", Outcome.HANDOFF, latency=60), None),
            (DAY2, _answer("a3", Outcome.ANSWERED, "f-refund", latency=70), None),
            (DAY2, _answer("c2", Outcome.CLARIFY, options=["f-a", "f-b"], latency=80), "s2")]:
        clock.now = at.timestamp()
        answers.remember(answer, session)
    feedback.record("a1", True)
    feedback.record("a2", False, FeedbackReason.WRONG)
    feedback.record("r1", False, FeedbackReason.IRRELEVANT)
    feedback.record("hi", True)   # small talk: rated or not, outside every figure
    return answers, feedback


def test_every_figure_counts_what_its_docstring_says(log):
    result = team_figures(*log, rejected={"a3"}, tz=UTC)
    total = result.total
    assert (total.questions, total.smalltalk) == (8, 1)
    assert (total.answered, total.clarified, total.refused, total.handed_off) == (4, 2, 1, 1)
    assert total.no_answer_rate == total.handoff_rate == 0.125 and total.clarify_rate == 0.25
    # a1 (helpful) + p1 (answered, unrated) + c1 (its option picked); not a2 (disliked), a3 (rejected)
    assert total.resolved == 3 and total.resolution_rate == 0.375 and total.rejected_in_review == 1
    assert (total.rated, total.helpful, total.wrong) == (3, 1, 1)
    assert total.satisfaction == total.wrong_share == 0.3333 and total.rated_share == 0.375
    assert total.latency_ms_p50 == 45.0 and total.latency_ms_p95 == pytest.approx(76.5)


def test_without_review_decisions_a_rejected_answer_counts_as_resolved(log):
    assert team_figures(*log, tz=UTC).total.resolved == 4


def test_days_cover_the_whole_window_and_categories_come_from_the_first_entry(log):
    result = team_figures(*log, since=dt.datetime(2026, 10, 31, tzinfo=UTC),
                          until=dt.datetime(2026, 11, 3, tzinfo=UTC), tz=UTC,
                          category_of={"f-refund": "售后退款", "f-invoice": "支付", "f-b": "支付"})
    assert [d.day.isoformat() for d in result.days] == ["2026-10-31", "2026-11-01", "2026-11-02"]
    empty, first, second = result.days
    assert empty.questions == 0 and empty.resolution_rate is None and empty.satisfaction is None
    assert (first.questions, first.resolved, first.resolution_rate, first.satisfaction) == (4, 3, 0.75, 0.5)
    assert (second.questions, second.resolved, second.no_answer_rate) == (4, 1, 0.25)
    by_name = {c.category: c for c in result.categories}
    assert [c.category for c in result.categories] == ["售后退款", "支付", None]   # ties by name, None last
    assert by_name["支付"].questions == 2 and by_name["售后退款"].resolved == 2
    assert by_name[None].questions == 4 and by_name[None].smalltalk == 1


def test_a_callable_maps_categories_and_total_has_no_days(log):
    result = team_figures(*log, granularity=Granularity.TOTAL, category_of=lambda entry: "全部", tz=UTC)
    assert result.days == [] and result.total.questions == 8
    assert {c.category for c in result.categories} == {"全部", None}


def test_days_are_counted_in_the_given_time_zone(log):
    beijing = dt.timezone(dt.timedelta(hours=8))
    late = team_figures(*log, tz=beijing)   # 09:00 UTC is 17:00 in Beijing: same days
    assert [d.day.isoformat() for d in late.days] == ["2026-11-01", "2026-11-02"]
    west = team_figures(*log, tz=dt.timezone(dt.timedelta(hours=-10)))
    assert [d.day.isoformat() for d in west.days] == ["2026-10-31", "2026-11-01"]


def test_nothing_to_count_gives_none_not_zero():
    empty = figures([], {})
    assert empty.questions == 0 and empty.resolution_rate is None and empty.latency_ms_p50 is None


def test_window_bounds_and_their_errors_name_the_field():
    assert window("2026-11-01", "2026-11-01", tz=UTC) == (dt.datetime(2026, 11, 1, tzinfo=UTC),
                                                          dt.datetime(2026, 11, 2, tzinfo=UTC))
    now = dt.datetime(2026, 11, 5, 15, tzinfo=UTC)
    assert window(days=7, tz=UTC, now=now) == (dt.datetime(2026, 10, 30, tzinfo=UTC),
                                               dt.datetime(2026, 11, 6, tzinfo=UTC))
    assert parse_bound("2026-11-01T08:00:00+08:00", "since") == dt.datetime(2026, 11, 1, tzinfo=UTC)
    assert parse_bound("2026-11-01T08:00", "since", tz=UTC).tzinfo is UTC
    with pytest.raises(WindowError, match="^since: not an ISO date") as bad:
        window("yesterday", tz=UTC)
    assert bad.value.field == "since"
    with pytest.raises(WindowError, match="^until: .*must come after since"):
        window("2026-11-03", "2026-11-02", tz=UTC)


def test_a_daily_breakdown_is_limited_to_a_year(log):
    answers, feedback = log
    since = dt.datetime(2025, 1, 1, tzinfo=UTC)
    with pytest.raises(WindowError, match=f"^since: a daily breakdown covers at most {MAX_DAYS} days"):
        team_figures(answers, feedback, since=since, tz=UTC)
    assert team_figures(answers, feedback, since=since, granularity=Granularity.TOTAL, tz=UTC).total.questions == 8


def test_days_are_counted_in_the_zone_validity_dates_use():
    shanghai = team_timezone("Asia/Shanghai")
    assert str(shanghai) == "Asia/Shanghai" and team_timezone(None) is not None
    start, end = window("2026-11-01", "2026-11-01", tz=shanghai)
    assert start.isoformat() == "2026-11-01T00:00:00+08:00" and end - start == dt.timedelta(days=1)


def test_question_types_emotions_and_noted_suggestions_are_counted(tmp_path):
    from cs_rag.types import Emotion, EmotionReading, QuestionType

    answers = AnswerLog(SqliteState(tmp_path / "service.db"), Clock())
    readings = [("n1", Outcome.NOTED, QuestionType.SUGGESTION, EmotionReading()),
                ("f1", Outcome.ANSWERED, QuestionType.FAULT, EmotionReading(label=Emotion.ANGRY, level=2)),
                ("q1", Outcome.ANSWERED, None, EmotionReading())]
    for trace_id, outcome, kind, emotion in readings:
        answers.remember(_answer(trace_id, outcome).model_copy(update={"question_type": kind,
                                                                       "emotion": emotion}))
    got = figures(answers.between(), {})
    assert (got.questions, got.noted, got.answered, got.handed_off) == (3, 1, 2, 0)
    assert got.question_types == {"suggestion": 1, "fault": 1}
    assert got.emotion_levels == {"0": 2, "2": 1} and got.emotions == {"angry": 1}
    assert got.negative_share == 0.3333   # _share rounds to 4 places
