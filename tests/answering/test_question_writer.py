"""The chat model's similar questions for ingest (answering/question_writer.py), against the
scripted OpenAI-compatible double; the real local model is in tests/e2e/test_local_llm.py."""

import pytest

from cs_rag.answering.llm.openai_compatible import ChatModel
from cs_rag.answering.prompt import PromptLibrary
from cs_rag.answering.question_writer import ChatQuestionWriter, question_writer_from, quotes_answer, read_wordings
from cs_rag.config import LLMSettings, Settings
from cs_rag.errors import ConfigError, LLMError

from scripted_openai import ScriptedOpenAI


def writer_for(api: ScriptedOpenAI) -> ChatQuestionWriter:
    chat = ChatModel(LLMSettings(model="scripted", base_url=api.base_url, retries=0, timeout=2.0), {})
    return ChatQuestionWriter(chat, PromptLibrary())


def test_the_prompt_carries_the_entry_and_the_reply_becomes_wordings():
    """Numbering and quotes go; a line that pastes the answer or explains at length is dropped."""
    reply = ("1. 退货运费谁掏\n退货运费谁承担？质量问题退货的运费由我们承担。\n- “寄回去要我付钱吗”\n\n"
             "好的，以下是另一种说法，它比较长" + "很长" * 40 + "\n坏了退回来运费咋算")
    with ScriptedOpenAI([f"ok:{reply}"]) as api:
        wordings = writer_for(api)("退货运费谁承担", "质量问题退货的运费由我们承担。", 2)
        messages = api.chat_requests[0].body["messages"]
        max_tokens = api.chat_requests[0].body["max_tokens"]
    assert wordings == ["退货运费谁掏", "寄回去要我付钱吗"]
    text = "\n".join(m["content"] for m in messages)
    assert "退货运费谁承担" in text and "质量问题退货的运费由我们承担。" in text and "2种" in text
    assert max_tokens > 0


def test_an_english_entry_gets_the_english_prompt():
    with ScriptedOpenAI(["ok:who pays return shipping?"]) as api:
        wordings = writer_for(api)("Who pays for returns?", "We pay for defective items.", 3)
        text = "\n".join(m["content"] for m in api.chat_requests[0].body["messages"])
    assert wordings == ["who pays return shipping?"] and "Write 3 other ways" in text


def test_a_failed_call_raises_for_ingest_to_count():
    with ScriptedOpenAI(["500"]) as api, pytest.raises(LLMError):
        writer_for(api)("退货运费谁承担", "质量问题退货的运费由我们承担。", 2)


def test_bullets_numbers_quotes_and_lead_ins_are_stripped():
    assert read_wordings("以下是三种说法：\n（1）能开发票吗\n2、「开票在哪」\n* 报销凭证\n   \n") == \
        ["能开发票吗", "开票在哪", "报销凭证"]


def test_a_wording_that_pastes_the_answer_is_told_from_one_that_shares_a_few_words():
    answer = "We pay return shipping for defective items within 30 days of delivery."
    assert quotes_answer("Is it true we pay return shipping for defective items within 30 days?", answer)
    assert not quotes_answer("Do you pay return shipping?", answer)
    assert quotes_answer("退货运费谁出？质量问题退货的运费由我们承担", "质量问题退货的运费由我们承担。")
    assert not quotes_answer("质量问题退货运费谁出", "质量问题退货的运费由我们承担。")


def test_the_setting_without_a_chat_model_is_a_config_error_and_off_needs_none():
    with pytest.raises(ConfigError, match="index.generated_questions"):
        question_writer_from(Settings.model_validate({"index": {"generated_questions": 3}}))
    assert question_writer_from(Settings()) is None
