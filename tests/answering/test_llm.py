"""ChatModel against the scripted chat-completions test double (tests/answering/scripted_openai.py):
every failure becomes one LLMError with a fixed reason; retries reach a later good reply."""

import pytest

from cs_rag.config import LLMSettings, load_settings
from cs_rag.errors import LLMError
from cs_rag.answering.llm.openai_compatible import NO_KEY, ChatModel, chat_model_from
from scripted_openai import CUT_TEXT, ScriptedOpenAI

MESSAGES = [{"role": "system", "content": "你是客服"}, {"role": "user", "content": "退款多久到账"}]


def _model(api: ScriptedOpenAI, environ=None, **settings) -> ChatModel:
    values = {"model": "scripted", "base_url": api.base_url, "timeout": 1.0, "retries": 0, **settings}
    return ChatModel(LLMSettings(**values), environ or {"OPENAI_API_KEY": "sk-test-key"})


def test_completion_text_and_request_carry_settings_and_key():
    with ScriptedOpenAI(["ok:退款1-3个工作日到账[1]"]) as api:
        completion = _model(api, temperature=0.0, max_tokens=64).complete(MESSAGES)
        request = api.chat_requests[-1]
    assert completion.text == "退款1-3个工作日到账[1]"
    assert request.headers["authorization"] == "Bearer sk-test-key"
    assert request.body["messages"] == MESSAGES
    assert request.body["temperature"] == 0.0 and request.body["max_tokens"] == 64


def test_cs_rag_key_wins_and_no_key_is_sent_for_keyless_local_servers():
    with ScriptedOpenAI(["ok:a", "ok:b"]) as api:
        _model(api, {"CS_RAG_LLM_API_KEY": "sk-own", "OPENAI_API_KEY": "sk-other"}).complete(MESSAGES)
        _model(api, {"UNRELATED": "1"}).complete(MESSAGES)
        keys = [r.headers["authorization"] for r in api.chat_requests]
    assert keys == ["Bearer sk-own", f"Bearer {NO_KEY}"]


def test_base_url_from_openai_base_url_variable():
    with ScriptedOpenAI(["ok:来自环境变量"]) as api:
        model = ChatModel(LLMSettings(model="scripted", retries=0),
                          {"OPENAI_BASE_URL": api.base_url, "OPENAI_API_KEY": "k"})
        assert model.complete(MESSAGES).text == "来自环境变量"


@pytest.mark.parametrize("step, reason", [
    ("500", "server_error"), ("503", "server_error"), ("429", "rate_limited"),
    ("401", "client_error"), ("malformed", "malformed"), ("empty", "malformed"),
    ("timeout", "timeout"),
])
def test_each_failure_is_one_llm_error_with_its_reason(step, reason):
    with ScriptedOpenAI([step], hang_seconds=3.0) as api:
        with pytest.raises(LLMError) as err:
            _model(api, timeout=0.5).complete(MESSAGES)
    assert err.value.reason == reason


def test_retries_reach_a_later_good_reply():
    with ScriptedOpenAI(["500", "429", "ok:第三次成功"]) as api:
        assert _model(api, retries=2).complete(MESSAGES).text == "第三次成功"
        assert len(api.chat_requests) == 3


def test_connection_refused_is_a_connection_error():
    with ScriptedOpenAI([]) as api:
        url = api.base_url
    with pytest.raises(LLMError) as err:
        ChatModel(LLMSettings(model="m", base_url=url, retries=0, timeout=1.0), {}).complete(MESSAGES)
    assert err.value.reason == "connection"


def test_stream_yields_pieces_in_order():
    with ScriptedOpenAI(["stream:七天无理由退货"]) as api:
        pieces = list(_model(api).stream(MESSAGES))
    assert len(pieces) >= 2 and "".join(pieces) == "七天无理由退货"


def test_stream_cut_halfway_raises_after_the_pieces_it_got():
    got: list[str] = []
    with ScriptedOpenAI(["cut"]) as api:
        with pytest.raises(LLMError) as err:
            for piece in _model(api).stream(MESSAGES):
                got.append(piece)
    assert "".join(got) and CUT_TEXT.startswith("".join(got))
    assert err.value.reason in {"malformed", "connection"}


def test_no_model_configured_means_no_chat_model():
    assert chat_model_from(LLMSettings()) is None
    settings = load_settings(environ={"CS_RAG_LLM_MODEL": "qwen-local", "CS_RAG_LLM_API_KEY": "secret"})
    assert settings.llm.model == "qwen-local"
    assert "secret" not in settings.model_dump_json()
