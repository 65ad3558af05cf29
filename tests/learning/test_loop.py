"""The learning loop on a real knowledge base: unserved questions grouped, linked, created,
declined, ignored, undone, and what the next ingest makes of it."""

import json
import uuid

import pytest

from cs_rag import Assistant, KnowledgeBase
from cs_rag.errors import LearningConflict, UnknownEntryError
from cs_rag.learning.feedback import FeedbackReason
from cs_rag.learning.loop import LearningLoop
from cs_rag.learning.queue import ActionKind
from cs_rag.types import Answer, Outcome, Routing

pytestmark = pytest.mark.slow   # real ingests

WAREHOUSE = ["你们的货从哪个仓库发出", "你们的货是从哪个仓库发的"]   # one meaning, two wordings
CARD = "能用信用卡分期付款吗"


def _unserved(question: str, outcome: Outcome = Outcome.REFUSED) -> Answer:
    trace_id = uuid.uuid4().hex
    return Answer(question=question, text="抱歉……", outcome=outcome, routing=Routing.SEND, confidence=0.1,
                  language="zh", trace_id=trace_id, trace={"trace_id": trace_id, "retrieval": {}})


@pytest.fixture
def loop(tmp_path, knowledge_dir, settings, state_db):
    knowledge_base = KnowledgeBase(tmp_path / "index", settings)
    knowledge_base.ingest([knowledge_dir])
    return LearningLoop(state_db, knowledge_base, tmp_path / "learned" / "learned.jsonl"), knowledge_dir


def _group_of(loop, wording):
    return next(g for g in loop.groups() if wording in [w.text for w in g.wordings])


def test_unserved_questions_are_grouped_by_meaning_with_candidates(loop):
    loop, _ = loop
    for question in [*WAREHOUSE, WAREHOUSE[0], CARD]:
        loop.remember(_unserved(question))
    loop.remember(_unserved("可以信用卡分期吗", Outcome.CLARIFY))
    groups = loop.groups()
    warehouse = _group_of(loop, WAREHOUSE[0])
    assert warehouse.count == 3 and [w.text for w in warehouse.wordings] == WAREHOUSE   # most asked first
    assert warehouse.wordings[0].count == 2 and warehouse.sources == {"refused": 3}
    assert len(warehouse.candidates) == 3 and all(c.id.startswith("f-") for c in warehouse.candidates)
    assert CARD not in [w.text for w in warehouse.wordings] and len(groups) == 2
    assert _group_of(loop, CARD).sources == {"refused": 1, "clarified": 1}


def test_link_teaches_the_entry_and_the_next_ingest_answers_from_it(loop, tmp_path):
    loop, knowledge_dir = loop
    for question in WAREHOUSE:
        loop.remember(_unserved(question))
    group = _group_of(loop, WAREHOUSE[0])
    with pytest.raises(UnknownEntryError):
        loop.link(group.id, "f-nothing", "ops:li")
    action = loop.link(group.id, "f-ship", "ops:li")
    assert action.kind is ActionKind.LINK and action.entry_id == "f-ship" and action.given_by == "ops:li"
    assert action.detail["wordings"] == WAREHOUSE and loop.groups() == []
    with pytest.raises(LearningConflict, match=f"already handled by action {action.id}"):
        loop.link(group.id, "f-ship", "ops:wang")                      # the second operator loses
    with pytest.raises(KeyError):
        loop.ignore("g-000000000000", "no such group", "ops:li")
    report = loop.knowledge_base.ingest([knowledge_dir, loop.learned.path.parent])
    assert report.updated == ["f-ship"] and report.skipped == []
    answer = Assistant(loop.knowledge_base).answer(WAREHOUSE[1])
    assert answer.outcome is Outcome.ANSWERED and answer.citations[0].id == "f-ship"
    undone = loop.undo(group.id, action.id, "ops:li")
    assert undone.undoes == action.id and loop.items.action(action.id).undone_by == undone.id
    assert loop.learned.records() == [] and _group_of(loop, WAREHOUSE[0]).id == group.id   # reopened
    with pytest.raises(LearningConflict, match="undone already"):
        loop.undo(group.id, action.id, "ops:li")


def test_create_writes_an_entry_whose_similar_questions_are_the_wordings(loop):
    loop, knowledge_dir = loop
    loop.remember(_unserved(CARD))
    group = _group_of(loop, CARD)
    with pytest.raises(ValueError, match="answer: a new entry needs"):
        loop.create(group.id, "可以信用卡分期吗", " ", "支付", "ops:li")
    action = loop.create(group.id, "可以信用卡分期吗", "支持招商、工商等12家银行的信用卡分期。", "支付", "ops:li")
    assert action.entry_id == f"learned-{action.id}"
    [record] = loop.learned.records()
    assert record["creates"]["id"] == action.entry_id and record["creates"]["similar_questions"] == [CARD]
    loop.knowledge_base.ingest([knowledge_dir, loop.learned.path.parent])
    answer = Assistant(loop.knowledge_base).answer(CARD)
    assert answer.outcome is Outcome.ANSWERED and answer.citations[0].id == action.entry_id


def test_ignore_needs_a_reason_and_feedback_feeds_the_queue(loop):
    loop, _ = loop
    loop.remember(_unserved(CARD))
    group = _group_of(loop, CARD)
    with pytest.raises(ValueError, match="reason: say why"):
        loop.ignore(group.id, "", "ops:li")
    assert loop.ignore(group.id, "not our business", "ops:li").detail["reason"] == "not our business"
    answered = Answer(question="退款多久到账", text="3-5个工作日", outcome=Outcome.ANSWERED, routing=Routing.SEND,
                      confidence=0.9, language="zh", trace_id="t-like", trace={"trace_id": "t-like"})
    loop.remember(answered)
    assert loop.groups() == []                                       # answered: nothing to learn
    loop.record_feedback("t-like", False, FeedbackReason.OUTDATED)
    assert _group_of(loop, "退款多久到账").sources == {"disliked": 1}
    loop.record_feedback("t-like", True)
    assert loop.groups() == []                                       # the dislike was withdrawn
    assert [a.kind for a in loop.items.actions()] == [ActionKind.IGNORE]
    assert json.loads(json.dumps(loop.items.actions()[0].model_dump(mode="json")))["given_by"] == "ops:li"


OTHER_SHOP = ["好物汇的退款多久到账", "好物汇退款几天能到"]   # another platform's refund (a name no list knows): not ours to answer


def test_decline_makes_the_wordings_refused_and_keeps_their_neighbours_answered(loop):
    loop, knowledge_dir = loop
    assistant = Assistant(loop.knowledge_base)
    before = assistant.answer(OTHER_SHOP[0])
    assert before.outcome is Outcome.ANSWERED and before.citations[0].id == "f-refund"   # the near miss
    for question in OTHER_SHOP:
        loop.remember(_unserved(question, Outcome.CLARIFY))
    group = _group_of(loop, OTHER_SHOP[0])
    with pytest.raises(ValueError, match="reason: say why"):
        loop.decline(group.id, " ", "ops:li")
    action = loop.decline(group.id, "another platform's orders", "ops:li")
    assert action.kind is ActionKind.DECLINE and action.entry_id == f"learned-{action.id}"
    assert action.detail == {"reason": "another platform's orders", "wordings": OTHER_SHOP}
    [record] = loop.learned.records()
    assert record["creates"].get("answer") is None and record["creates"]["similar_questions"] == OTHER_SHOP[1:]
    assert record["creates"]["tags"] == ["learned", "declined"]
    loop.knowledge_base.ingest([knowledge_dir, loop.learned.path.parent])
    assistant = Assistant(loop.knowledge_base)
    declined = assistant.answer(OTHER_SHOP[0])
    assert declined.outcome is Outcome.REFUSED and not declined.citations and not declined.options
    assert declined.trace["declined"] == action.entry_id == declined.trace["retrieval"]["hits"][0]["id"]
    # the refusal is as sure as the match to the declined wordings, not as a neighbouring entry
    sure = loop.knowledge_base.settings.retrieval.answer_confidence
    assert declined.confidence == declined.trace["retrieval"]["confidence"] >= sure
    loop.remember(declined)
    assert loop.groups() == []                          # refused as decided: not queued again
    kept = assistant.answer("退款多久到账")
    assert kept.outcome is Outcome.ANSWERED and kept.citations[0].id == "f-refund"
    loop.undo(group.id, action.id, "ops:li")
    loop.knowledge_base.ingest([knowledge_dir, loop.learned.path.parent])
    assert Assistant(loop.knowledge_base).answer(OTHER_SHOP[0]).outcome is Outcome.ANSWERED


def test_an_action_on_some_wordings_leaves_the_others_open(loop):
    loop, _ = loop
    for question in WAREHOUSE:
        loop.remember(_unserved(question))
    group = _group_of(loop, WAREHOUSE[0])
    with pytest.raises(ValueError, match="wordings: '别的问题' is not a wording of group"):
        loop.link(group.id, "f-ship", "ops:li", wordings=["别的问题"])
    action = loop.link(group.id, "f-ship", "ops:li", wordings=[WAREHOUSE[1]])
    assert action.detail["wordings"] == [WAREHOUSE[1]]
    [rest] = loop.groups()
    assert [w.text for w in rest.wordings] == [WAREHOUSE[0]]
    assert loop.learned.records()[0]["similar_questions"] == [WAREHOUSE[1]]


def test_a_picked_choice_becomes_a_suggestion_to_confirm(loop):
    loop, _ = loop
    clarify = _unserved(CARD, Outcome.CLARIFY)
    loop.remember(clarify, session_id="s-1")
    assert _group_of(loop, CARD).sources == {"clarified": 1}
    trace_id = uuid.uuid4().hex
    picked = Answer(question="2", text="…", outcome=Outcome.ANSWERED, routing=Routing.SEND, confidence=0.9,
                    language="zh", trace_id=trace_id, trace={"trace_id": trace_id, "chosen_option": "f-invoice"})
    loop.remember(picked, session_id="s-1")
    group = _group_of(loop, CARD)
    assert group.sources == {"picked": 1} and group.suggested == {"f-invoice": 1}
    assert loop.link(group.id, "f-invoice", "ops:li").detail["wordings"] == [CARD]
