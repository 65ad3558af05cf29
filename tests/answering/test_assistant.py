"""answer(): outcomes, citations, rewrite, customer, guard routing, and the LLM path.

The knowledge is the project's own sample in knowledge/, ingested once with the real model.
The LLM path runs against tests/answering/scripted_openai.py (a scripted chat-completions test double,
for faults a real model cannot be made to produce) and against the real local Qwen model
(marker `llm`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cs_rag.config import LLMSettings
from cs_rag.errors import InputError
from cs_rag.index.base import SearchFilter
from cs_rag.knowledge_base import KnowledgeBase
from cs_rag.answering.llm.openai_compatible import ChatModel
from cs_rag.answering.assistant import SUGGESTION_ANSWER_CONFIDENCE, Assistant
from cs_rag.answering.verify import read_verdict
from cs_rag.retrieval.hybrid import distinct_documents
from cs_rag.types import Answer, Customer, Decision, FlagKind, Outcome, Routing, Turn
from helpers import FAQ, write_jsonl
from scripted_openai import ScriptedOpenAI

KNOWLEDGE = Path(__file__).resolve().parents[2] / "knowledge"


@pytest.fixture(scope="module")
def knowledge_base(tmp_path_factory, settings) -> KnowledgeBase:
    kb = KnowledgeBase(tmp_path_factory.mktemp("sample-index"), settings)
    kb.ingest([KNOWLEDGE])
    return kb


@pytest.fixture(scope="module")
def assistant(knowledge_base) -> Assistant:
    return Assistant(knowledge_base, chat_model=None)


def _llm(knowledge_base: KnowledgeBase, api: ScriptedOpenAI, **settings) -> Assistant:
    values = {"model": "scripted", "base_url": api.base_url, "retries": 0, "timeout": 2.0,
              "min_confidence": 0.0, **settings}
    return Assistant(knowledge_base, chat_model=ChatModel(LLMSettings(**values), {}))


def test_faq_match_answers_verbatim_with_citation_and_trace(assistant):
    answer = assistant.answer("退货的运费谁来出")
    assert answer.outcome is Outcome.ANSWERED and answer.routing is Routing.SEND
    assert answer.citations[0].id == "faq-refund-005" and answer.citations[0].source.endswith("faq.jsonl")
    assert "运费由闪电优选承担" in answer.text
    assert answer.text.startswith("您好，感谢您联系闪电优选！") and answer.text.endswith("欢迎随时咨询。")
    assert answer.generator == "extractive" and answer.confidence >= 0.5
    timings = answer.trace["timings_ms"]
    assert {"guard_message", "rewrite", "retrieve", "generate", "guard_answer", "total"} <= timings.keys()
    assert answer.trace["retrieval"]["hits"][0]["id"] == "faq-refund-005"
    assert answer.trace_id and answer.trace_id == answer.trace["trace_id"]


def test_a_product_filter_never_answers_from_another_products_entry(assistant):
    phone = assistant.answer("手机包装里有没有充电器", where=SearchFilter(products={"手机"}))
    assert phone.citations[0].id == "faq-product-007"  # knowledge/ marks it as about 手机
    earphones = assistant.answer("手机包装里有没有充电器", where=SearchFilter(products={"蓝牙耳机"}))
    assert "faq-product-007" not in {h["id"] for h in earphones.trace["retrieval"]["hits"]}
    assert "faq-product-007" not in {c.id for c in earphones.citations}


def test_policy_passage_answers_with_extracted_sentences(assistant):
    answer = assistant.answer("充电器保修多久")   # a detail only the warranty policy states
    assert answer.outcome is Outcome.ANSWERED
    assert answer.citations[0].doc_id == "保修条款" and answer.citations[0].heading_path
    assert "[1]" in answer.text
    body = answer.text.removeprefix("您好，感谢您联系闪电优选！")
    assert body[:body.index("[1]")] in _chunk_text(assistant, answer.citations[0].id)


def _chunk_text(assistant: Assistant, chunk_id: str) -> str:
    index = assistant.knowledge_base.index()
    return next(c.text for c in index.chunks if c.id == chunk_id).replace("\n", " ")


def test_out_of_scope_question_is_refused_politely(assistant):
    answer = assistant.answer("帮我算一下房贷利息")
    assert answer.outcome is Outcome.REFUSED and not answer.citations
    assert "人工客服" in answer.text


@pytest.fixture
def unsure_clarifies(knowledge_base, monkeypatch):
    """Thresholds under which any unsure question gets a clarify decision (the evidence reader,
    which answers a choice whose first option surely answers, is off)."""
    retriever = knowledge_base.retriever()
    monkeypatch.setattr(retriever, "settings", retriever.settings.model_copy(
        update={"answer_confidence": 0.99, "clarify_confidence": 0.0, "evidence_reader": False}))


def test_close_candidates_ask_the_customer_to_choose(assistant, unsure_clarifies):
    answer = assistant.answer("我想问个事")
    assert answer.outcome is Outcome.CLARIFY
    assert 2 <= len(answer.options) <= 3
    assert answer.text.startswith("您是想问以下哪个问题？")
    for option in answer.options:
        assert f"{option.marker}. {option.title}" in answer.text


def test_a_picked_option_answers_with_that_entry(assistant, unsure_clarifies):
    offered = assistant.answer("保修怎么算")
    assert offered.outcome is Outcome.CLARIFY
    picked = offered.options[-1]
    answer = assistant.choose(picked.id, picked.title, [Turn(role="user", content="保修怎么算"),
                                                        Turn(role="assistant", content=offered.text)])
    assert answer.outcome is Outcome.ANSWERED and answer.routing is Routing.SEND
    assert answer.citations[0].id == picked.id and answer.trace["chosen_option"] == picked.id
    expected = assistant.knowledge_base.document_chunks(picked.doc_id)[0].text
    assert expected[:20] in answer.text


def test_a_picked_option_that_is_gone_is_an_error_naming_it(assistant):
    from cs_rag.errors import UnknownEntryError

    with pytest.raises(UnknownEntryError, match="faq-no-such-entry"):
        assistant.choose("faq-no-such-entry", "随便问问")


def test_request_for_a_person_hands_off(assistant):
    answer = assistant.answer("别跟我扯了，我要转人工")
    assert answer.outcome is Outcome.HANDOFF and answer.routing is Routing.HANDOFF
    assert any(f.kind is FlagKind.HUMAN_REQUEST for f in answer.flags)
    assert "human_request" in answer.reasons
    assert "诉求" in answer.trace["handoff_summary"]
    with_topic = assistant.answer("退货的运费谁来出？我要找人工客服")
    assert with_topic.outcome is Outcome.HANDOFF and with_topic.citations[0].id == "faq-refund-005"


def test_follow_up_is_rewritten_from_history(assistant):
    history = [Turn(role="user", content="我想退货怎么办"),
               Turn(role="assistant", content="您可以在“我的订单”里申请售后。")]
    answer = assistant.answer("那运费呢？", history)
    assert answer.trace["rewrite"]["rule"] == "leading:那"
    assert answer.trace["rewrite"]["question"] == "我想退货怎么办，运费呢？"
    assert answer.citations[0].id == "faq-refund-005"
    assert assistant.answer("那运费呢？").trace["rewrite"]["rule"] is None


def test_plus_customer_gets_the_member_hotline(assistant):
    question = "下单后多久发货"
    plain = assistant.answer(question)
    plus = assistant.answer(question, customer=Customer(level="PLUS", tags=["老客户"]))
    assert "400-820-6699" not in plain.text
    assert plus.text.endswith("可随时拨打7×24小时专属热线400-820-6699。")


def test_personal_data_is_masked_before_anything_sees_it(assistant):
    answer = assistant.answer("我手机号13812345678，下单后多久发货")
    assert "13812345678" not in answer.question
    assert "13812345678" not in answer.trace["retrieval"]["query"]
    assert any(f.kind is FlagKind.PII for f in answer.flags)


def test_english_question_gets_english_lines(assistant):
    answer = assistant.answer("How long does international shipping take?")
    assert answer.language == "en" and answer.text.startswith("Hello")


def test_empty_or_huge_question_is_an_input_error(assistant):
    with pytest.raises(InputError, match="question"):
        assistant.answer("   ")
    with pytest.raises(InputError, match="characters"):
        assistant.answer("退" * 5000)


# ---- the LLM path, against the scripted test double -------------------------------------

def test_llm_answer_keeps_valid_markers_and_drops_invented_ones(knowledge_base):
    with ScriptedOpenAI(["ok:质量问题退货的运费由闪电优选承担[1]，详见政策[7]。"]) as api:
        answer = _llm(knowledge_base, api).answer("退货的运费谁来出", customer=Customer(level="VIP"))
        prompt = api.chat_requests[0].body["messages"]
    assert answer.generator == "llm:scripted"
    assert answer.text == "质量问题退货的运费由闪电优选承担[1]，详见政策。"
    assert [c.marker for c in answer.citations] == [1] and answer.citations[0].id == "faq-refund-005"
    bad = [f for f in answer.flags if f.kind is FlagKind.BAD_CITATION]
    assert bad and "[7]" in bad[0].evidence and answer.routing is Routing.REVIEW
    assert "[1] 退货的运费谁承担" in prompt[1]["content"]
    assert "等级: VIP" in prompt[0]["content"]
    assert answer.trace["prompt"]["evidence_used"] >= 1


@pytest.mark.parametrize("step", ["500", "429", "malformed", "empty", "timeout"])
def test_llm_failure_falls_back_to_the_extractive_answer_for_review(knowledge_base, step):
    with ScriptedOpenAI([step], hang_seconds=3.0) as api:
        answer = _llm(knowledge_base, api, timeout=0.5).answer("退货的运费谁来出")
    assert answer.outcome is Outcome.ANSWERED and answer.generator == "extractive"
    assert "运费由闪电优选承担" in answer.text
    errors = [f for f in answer.flags if f.kind is FlagKind.LLM_ERROR]
    assert errors and answer.routing is Routing.REVIEW and "llm_error" in answer.reasons


def test_low_confidence_never_reaches_the_llm(assistant, knowledge_base):
    plain = assistant.answer("发票怎么开")
    assert plain.outcome is Outcome.ANSWERED and plain.confidence < 0.999
    with ScriptedOpenAI(["ok:不应被调用"]) as api:
        answer = _llm(knowledge_base, api, min_confidence=0.999).answer("发票怎么开")
        assert not api.chat_requests
    assert answer.generator == "extractive"


def test_llm_stream_yields_pieces_then_the_answer(knowledge_base):
    with ScriptedOpenAI(["stream:运费由闪电优选承担[1]"]) as api:
        items = list(_llm(knowledge_base, api, stream=True).stream("退货的运费谁来出"))
    pieces, final = items[:-1], items[-1]
    assert len(pieces) >= 2 and "".join(pieces) == "运费由闪电优选承担[1]"
    assert isinstance(final, Answer) and final.text == "运费由闪电优选承担[1]"


def test_llm_stream_cut_halfway_still_answers(knowledge_base):
    with ScriptedOpenAI(["cut"]) as api:
        items = list(_llm(knowledge_base, api).stream("退货的运费谁来出"))
    final = items[-1]
    assert isinstance(final, Answer) and final.generator == "extractive"
    assert any(f.kind is FlagKind.LLM_ERROR for f in final.flags)


def test_llm_rewrite_only_where_rules_see_a_follow_up(knowledge_base):
    history = [Turn(role="user", content="我想退货怎么办")]
    with ScriptedOpenAI(["ok:退货的运费谁承担", "ok:运费由闪电优选承担[1]"]) as api:
        answer = _llm(knowledge_base, api, rewrite=True).answer("那运费呢？", history)
        assert len(api.chat_requests) == 2
    assert answer.trace["rewrite"]["question"] == "退货的运费谁承担"
    assert answer.trace["rewrite"]["by"] == "llm:scripted"


@pytest.mark.llm
def test_real_local_model_answers_through_the_pipeline(knowledge_base):
    from cs_rag.answering.llm.local import LocalLLMServer

    with LocalLLMServer() as server:
        chat_model = ChatModel(LLMSettings(model=server.alias, base_url=server.base_url, temperature=0.0,
                                           max_tokens=96, min_confidence=0.0, timeout=120.0), {})
        answer = Assistant(knowledge_base, chat_model=chat_model).answer("闪电PLUS年卡多少钱")
    assert answer.outcome is Outcome.ANSWERED
    assert answer.generator == f"llm:{server.alias}", answer.flags
    assert answer.text and answer.citations
    assert "198" in answer.text


def test_llm_words_the_clarify_question_only_when_it_keeps_every_option(knowledge_base, unsure_clarifies):
    fixed = Assistant(knowledge_base, chat_model=None).answer("我想问个事")
    titles = [o.title for o in fixed.options]
    worded = "请问您想了解哪一项？\n" + "\n".join(f"{i}. {t}" for i, t in enumerate(titles, start=1))
    with ScriptedOpenAI([f"ok:{worded}", "ok:请问您要问哪个？"]) as api:
        assistant = _llm(knowledge_base, api)
        kept = assistant.answer("我想问个事")
        dropped = assistant.answer("我想问个事")
        assert "候选问题" in api.chat_requests[0].body["messages"][1]["content"]
    assert kept.outcome is Outcome.CLARIFY and kept.text == worded
    assert dropped.text == fixed.text


def test_small_talk_is_answered_in_kind_without_searching(assistant):
    greeting = assistant.answer("你好，在吗？")
    assert greeting.outcome is Outcome.SMALLTALK and greeting.routing is Routing.SEND
    assert greeting.text == assistant.prompts.phrases("zh").presence_reply
    assert not greeting.citations and greeting.trace["small_talk"] == "presence"
    assert "retrieve" not in greeting.trace["timings_ms"] and not greeting.trace["retrieval"]["hits"]
    thanks = assistant.answer("thanks!")
    assert thanks.outcome is Outcome.SMALLTALK and thanks.text == assistant.prompts.phrases("en").thanks_reply
    # a question, greeting or not: searched (a vague one may be offered choices)
    assert assistant.answer("你好，我想退货").outcome in (Outcome.ANSWERED, Outcome.CLARIFY)
    assert assistant.answer("好的，我要转人工").outcome is Outcome.HANDOFF


def test_a_follow_up_after_small_talk_refers_to_the_last_real_question(assistant):
    history = [Turn(role="user", content="我想退货怎么办"), Turn(role="assistant", content="您可以申请售后。"),
               Turn(role="user", content="好的谢谢"), Turn(role="assistant", content="不客气")]
    answer = assistant.answer("那运费呢？", history)
    assert answer.trace["rewrite"]["question"].startswith("我想退货怎么办")


# ---- retrieval-only FAQ entries ("answer": null) ------------------------------------------

ANSWERLESS = [
    {"id": "f-giftcard", "question": "礼品卡可以退款吗", "similar_questions": ["礼品卡能退吗"], "answer": None},
    # the same question as f-refund, as an evaluation set's retrieval-only copy would be
    {"id": "f-refund-copy", "question": "退款多久到账", "similar_questions": ["退款要等几天"], "answer": None},
]


@pytest.fixture(scope="module")
def answerless_kb(tmp_path_factory, settings) -> KnowledgeBase:
    folder = tmp_path_factory.mktemp("answerless")
    write_jsonl(folder / "faq.jsonl", FAQ + ANSWERLESS)
    kb = KnowledgeBase(folder / "index", settings)
    kb.ingest([folder / "faq.jsonl"])
    return kb


def test_a_best_hit_without_an_answer_is_refused_not_answered(answerless_kb):
    assistant = Assistant(answerless_kb, chat_model=None)
    answer = assistant.answer("礼品卡可以退款吗")
    hits = answer.trace["retrieval"]["hits"]
    assert hits[0]["id"] == "f-giftcard" and hits[0]["confidence"] >= 0.9  # matched, but no answer
    assert answer.outcome is Outcome.REFUSED and not answer.citations
    assert answer.text == assistant.prompts.phrases("zh").refusal  # no opening or closing around it
    assert answer.confidence < 0.5  # the best answerable hit's (f-refund, about another question)
    assert "f-giftcard" in answer.trace["answerless_hits"]


def test_an_answered_copy_of_an_answerless_best_hit_answers(answerless_kb):
    answer = Assistant(answerless_kb, chat_model=None).answer("退款多久到账")
    assert answer.trace["retrieval"]["hits"][0]["id"] in {"f-refund", "f-refund-copy"}
    assert answer.outcome is Outcome.ANSWERED and answer.confidence >= 0.5
    assert [c.id for c in answer.citations] == ["f-refund"] and "原路退回" in answer.text


def test_answerless_entries_are_not_offered_as_clarify_options(answerless_kb, monkeypatch):
    found = answerless_kb.retrieve("礼品卡可以退款吗")
    assert found.hits[0].id == "f-giftcard"
    options = [found.hits[0], *distinct_documents([h for h in found.hits if h.text], 2)]
    assistant = Assistant(answerless_kb, chat_model=None)
    monkeypatch.setattr(answerless_kb, "retrieve", lambda question, k=10, where=None, read_evidence=True:
                        found.model_copy(update={"decision": Decision.CLARIFY, "options": options}))
    answer = assistant.answer("礼品卡可以退款吗")
    assert answer.outcome is Outcome.CLARIFY and [o.id for o in answer.options] == [o.id for o in options[1:]]
    assert answer.trace["answerless_hits"] == ["f-giftcard"]
    monkeypatch.setattr(answerless_kb, "retrieve", lambda question, k=10, where=None, read_evidence=True:
                        found.model_copy(update={"decision": Decision.CLARIFY, "options": options[:2]}))
    assert assistant.answer("礼品卡可以退款吗").outcome is Outcome.REFUSED  # one option left: nothing to choose


def test_the_llm_is_given_no_answerless_entry_as_evidence(answerless_kb):
    with ScriptedOpenAI(["ok:退款审核通过后3-5个工作日到账[1]"]) as api:
        answer = _llm(answerless_kb, api).answer("退款多久到账")
        evidence = api.chat_requests[0].body["messages"][1]["content"]
    assert [c.id for c in answer.citations] == ["f-refund"]
    assert set(answer.trace["answerless_hits"]) == {"f-giftcard", "f-refund-copy"}  # both among the hits
    assert evidence.count("] 退款多久到账") == 1 and "原路退回" in evidence and "礼品卡" not in evidence
    with ScriptedOpenAI(["ok:不应被调用"]) as api:
        refused = _llm(answerless_kb, api).answer("礼品卡可以退款吗")
        assert not api.chat_requests
    assert refused.outcome is Outcome.REFUSED


# ---- borderline answers verified by the chat model -------------------------------------

def test_a_borderline_answer_the_model_rejects_becomes_a_clarify_reply(knowledge_base):
    with ScriptedOpenAI(["ok:否", "ok:请问您想了解哪一项？"]) as api:
        answer = _llm(knowledge_base, api, verify_below=1.0).answer("退货的运费谁来出")
        verify_prompt = api.requests[0].body
    assert answer.outcome is Outcome.CLARIFY and len(answer.options) >= 2
    assert "faq-refund-005" in [o.id for o in answer.options]
    assert answer.trace["verify"] == {"confirmed": False, "reply": "否", "failed": False}
    assert verify_prompt["max_tokens"] == 4
    assert "退货的运费谁来出" in verify_prompt["messages"][-1]["content"]
    assert "运费由闪电优选承担" in verify_prompt["messages"][-1]["content"]


def test_a_borderline_answer_the_model_confirms_is_answered(knowledge_base):
    with ScriptedOpenAI(["ok:是。", "ok:退货运费由闪电优选承担[1]。"]) as api:
        answer = _llm(knowledge_base, api, verify_below=1.0).answer("退货的运费谁来出")
    assert answer.outcome is Outcome.ANSWERED and answer.citations[0].id == "faq-refund-005"
    assert answer.trace["verify"]["confirmed"] is True


def test_a_failed_verification_does_not_answer(knowledge_base):
    with ScriptedOpenAI(["500", "ok:请问您想了解哪一项？"]) as api:
        answer = _llm(knowledge_base, api, verify_below=1.0, retries=0).answer("退货的运费谁来出")
    assert answer.outcome in (Outcome.CLARIFY, Outcome.REFUSED)
    assert answer.trace["verify"]["failed"] is True


def test_a_confident_answer_or_verify_off_asks_no_verdict(knowledge_base):
    with ScriptedOpenAI(["ok:退货运费由闪电优选承担[1]。"]) as api:
        answer = _llm(knowledge_base, api).answer("退货的运费谁来出")  # verify_below 0: off
        assert len(api.requests) == 1
    assert answer.outcome is Outcome.ANSWERED and "verify" not in answer.trace


@pytest.mark.parametrize(("reply", "verdict"), [("是", True), ("“是”", True), ("Yes.", True), ("能", True),
                                                ("否", False), ("不是", False), ("no", False),
                                                ("不确定", False), ("maybe", None), ("", None)])
def test_verdicts_are_read_from_the_first_word(reply, verdict):
    assert read_verdict(reply) is verdict


@pytest.fixture(scope="module")
def reading_assistant(knowledge_base) -> Assistant:
    """The sample knowledge with a hand-written message model (tests/helpers.py)."""
    from cs_rag.guard import Guard
    from helpers import keyword_message_model

    model = keyword_message_model({"慢": {"emotion": "dissatisfied", "level": "1"},
                                   "烂": {"emotion": "angry", "level": "2", "question_type": "complaint"},
                                   "议": {"question_type": "suggestion"}})
    return Assistant(knowledge_base, chat_model=None, guard=Guard(message_model=model))


def test_a_suggestion_is_noted_for_the_product_team_not_answered(reading_assistant):
    answer = reading_assistant.answer("建议退货能上门取件")
    assert answer.outcome is Outcome.NOTED and answer.citations == []
    assert answer.question_type.value == "suggestion" and "产品团队" in answer.text
    assert answer.confidence < SUGGESTION_ANSWER_CONFIDENCE


def test_a_question_put_as_a_wish_is_answered_when_the_knowledge_is_sure(reading_assistant):
    wish = "议：退货的运费谁来出"          # 议 reads as a suggestion; the question is the FAQ's own
    answer = reading_assistant.answer(wish)
    assert answer.question_type.value == "suggestion"
    assert answer.outcome is Outcome.ANSWERED and answer.confidence >= SUGGESTION_ANSWER_CONFIDENCE


def test_emotion_question_type_and_priority_are_on_the_answer(reading_assistant):
    answer = reading_assistant.answer("退款太烂了")
    assert (answer.emotion.label.value, answer.emotion.level) == ("angry", 2)
    assert answer.question_type.value == "complaint" and answer.priority
    assert answer.routing is Routing.REVIEW


def test_rising_emotion_over_the_turns_hands_off(reading_assistant):
    history = [Turn(role="user", content="退款多久到账"), Turn(role="assistant", content="3-5个工作日"),
               Turn(role="user", content="有点慢"), Turn(role="assistant", content="请耐心等待")]
    answer = reading_assistant.answer("太烂了", history=history)
    assert answer.outcome is Outcome.HANDOFF and "emotion_escalation" in answer.reasons
