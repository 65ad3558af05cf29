"""Knowledge health over a hand-made index (helpers.HandMadeKnowledgeBase: vectors chosen by
hand, no model) and hand-made answers."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from helpers import HEALTH_NOW, HandMadeKnowledgeBase, unit

from cs_rag.learning.answers import AnswerLog
from cs_rag.learning.entries import Questions, entries, entry_categories, questions
from cs_rag.learning.feedback import FeedbackStore
from cs_rag.learning.health import DUPLICATE_COSINE, knowledge_health, near_duplicates
from cs_rag.types import Answer, Citation, DocumentKind, Outcome

UTC = dt.UTC
NOW = HEALTH_NOW   # helpers.HEALTH_CONTENT's validity is relative to its date
TODAY = NOW.date()


def _answer(trace_id: str, outcome: Outcome, cited: str | None = None) -> Answer:
    citations = [Citation(marker=1, id=cited, doc_id=cited.split("#")[0], source="-", kind=DocumentKind.FAQ,
                          title=cited, score=1.0)] if cited else []
    return Answer(question="问", text="答", outcome=outcome, confidence=0.5, citations=citations,
                  trace_id=trace_id, trace={"trace_id": trace_id})


@pytest.fixture
def stores(state_db):
    clock = {"now": NOW.timestamp()}
    database = state_db
    answers = AnswerLog(database, lambda: clock["now"])
    feedback = FeedbackStore(database, answers, lambda: clock["now"])
    for days_ago, answer in [(40, _answer("old", Outcome.ANSWERED, "f-ship")),        # before the window
                             (3, _answer("a1", Outcome.ANSWERED, "f-refund")),
                             (2, _answer("a2", Outcome.ANSWERED, "f-refund")),
                             (2, _answer("a3", Outcome.ANSWERED, "退换货政策#0")),
                             (1, _answer("c1", Outcome.CLARIFY))]:
        clock["now"] = (NOW - dt.timedelta(days=days_ago)).timestamp()
        answers.remember(answer)
    feedback.record("a1", False)
    feedback.record("a2", False)
    feedback.record("a3", True)
    feedback.record("old", False)   # outside the window
    return answers, feedback


def test_entries_and_questions_come_from_the_index_content():
    content = HandMadeKnowledgeBase().content()
    found = {e.id: e for e in entries(content)}
    assert found["退换货政策"].title == "退换货政策" and found["f-refund"].title == "退款多久到账"
    assert len(found) == 7                                  # the answer chunk is part of f-ship
    asked = questions(content)
    assert asked.owners[:3] == ["f-refund", "f-refund", "f-refund-2"] and "24小时内发货" not in asked.texts
    assert asked.vectors.shape == (len(asked.texts), 4)
    assert entry_categories(HandMadeKnowledgeBase())["f-ship"] == "物流配送"


def test_the_health_lists_what_needs_a_look(stores):
    health = knowledge_health(HandMadeKnowledgeBase(), *stores, days=30, rejections={"f-refund": 2, "gone": 5,
                                                                                  "f-ship": 0}, now=NOW, tz=UTC)
    assert health.today == TODAY and health.entries == 7
    # matched: f-refund, 退换货政策; expired (f-old-promo) and not yet valid (f-soon) are left out
    assert [e.id for e in health.never_matched] == ["f-refund-2", "f-ship", "f-promo"]
    assert [(e.id, e.days_left) for e in health.expiring] == [("f-promo", 10)]   # the policy: 40 days
    assert [(e.id, e.days_left) for e in health.expired] == [("f-old-promo", (dt.date(2020, 11, 30) - TODAY).days)]
    assert [(e.id, e.count) for e in health.disliked] == [("f-refund", 2)]
    assert [(e.id, e.count) for e in health.rejected] == [("f-refund", 2)]
    [duplicate] = health.near_duplicates     # the promotions are never valid together
    assert (duplicate.first, duplicate.second) == ("f-refund", "f-refund-2")
    assert duplicate.first_question == "退款多久到账" and duplicate.cosine >= DUPLICATE_COSINE
    assert health.totals["never_matched"] == 3


def test_lists_are_limited_and_totals_say_how_many(stores):
    health = knowledge_health(HandMadeKnowledgeBase(), *stores, days=30, limit=1, now=NOW, tz=UTC)
    assert len(health.never_matched) == 1 and health.totals["never_matched"] == 3
    with pytest.raises(ValueError, match="^days: "):
        knowledge_health(HandMadeKnowledgeBase(), *stores, days=0, now=NOW)


def test_near_duplicates_keep_the_closest_pair_per_entry_pair_above_the_threshold():
    vectors = np.asarray([unit(1, 0), unit(1, 0.06), unit(1, 0.05), unit(0, 1)], dtype=np.float32)
    asked = Questions(["a", "a", "b", "c"], ["a1", "a2", "b1", "c1"], vectors)
    [pair] = near_duplicates(asked, threshold=0.99)
    assert (pair.first, pair.second, pair.first_question, pair.second_question) == ("a", "b", "a2", "b1")
    assert near_duplicates(asked, threshold=0.99, may_collide=lambda a, b: False) == []
    assert len(near_duplicates(asked, threshold=-1.0)) == 3
