"""The answer log and customers' feedback on answers."""

import pytest

from cs_rag.errors import UnknownAnswerError
from cs_rag.learning.answers import AnswerLog
from cs_rag.learning.feedback import MAX_COMMENT_CHARS, FeedbackReason, FeedbackStore
from cs_rag.types import Answer, Citation, DocumentKind, Outcome, Routing


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        self.now += 1
        return self.now


def _citation(marker: int, entry_id: str) -> Citation:
    return Citation(marker=marker, id=entry_id, doc_id=entry_id, source="faq.jsonl", kind=DocumentKind.FAQ,
                    title=entry_id, score=1.0)


def _answer(trace_id: str, outcome=Outcome.ANSWERED, options=(), chosen=None, question="退款多久到账"):
    citations = [_citation(1, "f-refund")] if outcome is Outcome.ANSWERED else []
    trace = {"trace_id": trace_id, "rewrite": {"question": question + "（改写）"}, "timings_ms": {"total": 12.5}}
    if chosen:
        trace["chosen_option"] = chosen
    return Answer(question=question, text="…", outcome=outcome, routing=Routing.SEND, confidence=0.9,
                  citations=citations, language="zh", trace_id=trace_id, trace=trace,
                  options=[_citation(i + 1, o) for i, o in enumerate(options)])


@pytest.fixture
def stores(state_db):
    clock = Clock()
    answers = AnswerLog(state_db, clock)
    return answers, FeedbackStore(state_db, answers, clock), clock


def test_answers_are_kept_with_what_the_queue_and_stats_need(stores):
    answers, _, _ = stores
    record = answers.remember(_answer("t1"), session_id="s1")
    again = answers.get("t1")
    assert again == record and again.first_id == "f-refund" and again.first_kind is DocumentKind.FAQ
    assert again.standalone == "退款多久到账（改写）" and again.latency_ms == 12.5 and not again.picked
    assert again.answer(answers.database).trace_id == "t1"
    assert answers.get("nope") is None


def test_picking_an_offered_option_marks_the_sessions_clarify_reply(stores):
    answers, _, _ = stores
    answers.remember(_answer("c1", Outcome.CLARIFY, options=["f-a", "f-b"]), session_id="s1")
    answers.remember(_answer("c2", Outcome.CLARIFY, options=["f-a", "f-b"]), session_id="s2")
    answers.remember(_answer("p1", chosen="f-b"), session_id="s1")
    assert answers.get("c1").picked and answers.get("c1").options == ["f-a", "f-b"]
    assert not answers.get("c2").picked


def test_one_feedback_per_answer_a_later_one_replaces_it(stores):
    answers, feedback, _ = stores
    answers.remember(_answer("t1"))
    first, created = feedback.record("t1", True, given_by="key:a")
    assert created and first.helpful and first.reason is None
    second, created = feedback.record("t1", False, FeedbackReason.OUTDATED, "电话 13812345678 打不通")
    assert not created and not second.helpful and second.reason is FeedbackReason.OUTDATED
    assert second.created == first.created and second.updated > first.updated
    assert "13812345678" not in second.comment and "138" in second.comment      # masked like the log
    assert list(feedback.all()) == ["t1"]


def test_bad_feedback_is_refused_and_nothing_is_stored(stores):
    answers, feedback, _ = stores
    with pytest.raises(UnknownAnswerError, match="no answer 'missing'"):
        feedback.record("missing", False)
    answers.remember(_answer("t1"))
    with pytest.raises(ValueError, match="reason: only an unhelpful answer"):
        feedback.record("t1", True, FeedbackReason.WRONG)
    with pytest.raises(ValueError, match="reason: one of wrong, irrelevant"):
        feedback.record("t1", False, "boring")
    assert feedback.record("t1", False, "wrong")[0].reason is FeedbackReason.WRONG   # by name too
    feedback.record("t1", True)
    with pytest.raises(ValueError, match="comment: at most"):
        feedback.record("t1", False, comment="长" * (MAX_COMMENT_CHARS + 1))
    assert feedback.get("t1").helpful is True              # the bad one changed nothing
