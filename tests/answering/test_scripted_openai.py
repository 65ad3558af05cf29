"""The scripted chat-completions test double does what its script says, as the openai client sees it."""

from __future__ import annotations

import json
import time

import openai
import pytest
from scripted_openai import CUT_TEXT, ScriptedOpenAI

MESSAGES = [{"role": "system", "content": "只根据资料回答。"}, {"role": "user", "content": "退款多久到账"}]


def client(api: ScriptedOpenAI, **options) -> openai.OpenAI:
    return openai.OpenAI(base_url=api.base_url, api_key="sk-test", **options)


def test_ok_records_prompt_and_authorization() -> None:
    with ScriptedOpenAI(["ok:3-5个工作日原路退回"]) as api:
        reply = client(api).chat.completions.create(model="m", messages=MESSAGES, temperature=0)
    assert reply.choices[0].message.content == "3-5个工作日原路退回"
    assert reply.choices[0].finish_reason == "stop"
    (request,) = api.chat_requests
    assert request.body["messages"] == MESSAGES
    assert request.body["model"] == "m" and request.body["temperature"] == 0
    assert request.headers["authorization"] == "Bearer sk-test"
    assert api.unused == []


def test_500_then_ok_is_reached_by_the_client_retry() -> None:
    with ScriptedOpenAI(["500", "ok:到账了"]) as api:
        reply = client(api, max_retries=2).chat.completions.create(model="m", messages=MESSAGES)
    assert reply.choices[0].message.content == "到账了"
    assert len(api.chat_requests) == 2


def test_429_is_recorded_and_surfaces_without_retries() -> None:
    with ScriptedOpenAI(["429", "ok:unused"]) as api:
        with pytest.raises(openai.RateLimitError) as caught:
            client(api, max_retries=0).chat.completions.create(model="m", messages=MESSAGES)
    assert caught.value.response.headers["retry-after"] == "0"
    assert len(api.chat_requests) == 1 and api.unused == ["ok:unused"]


def test_any_error_status() -> None:
    with ScriptedOpenAI(["401"]) as api:
        with pytest.raises(openai.AuthenticationError):
            client(api, max_retries=0).chat.completions.create(model="m", messages=MESSAGES)


def test_timeout_hangs_past_the_client_timeout() -> None:
    with ScriptedOpenAI(["timeout"], hang_seconds=10) as api:
        started = time.monotonic()
        with pytest.raises(openai.APITimeoutError):
            client(api, max_retries=0, timeout=0.3).chat.completions.create(model="m", messages=MESSAGES)
        assert time.monotonic() - started < 5
    assert len(api.chat_requests) == 1


def test_malformed_body_raises() -> None:
    with ScriptedOpenAI(["malformed"]) as api:
        with pytest.raises(json.JSONDecodeError):  # the openai client lets the parse error through
            client(api, max_retries=0).chat.completions.create(model="m", messages=MESSAGES)


def test_empty_choices() -> None:
    with ScriptedOpenAI(["empty"]) as api:
        reply = client(api).chat.completions.create(model="m", messages=MESSAGES)
    assert reply.choices == []


def test_stream_sends_one_chunk_per_character_then_done() -> None:
    with ScriptedOpenAI(["stream:三到五天"]) as api:
        chunks = list(client(api).chat.completions.create(model="m", messages=MESSAGES, stream=True))
    deltas = [c.choices[0].delta.content for c in chunks if c.choices[0].delta.content]
    assert deltas == ["三", "到", "五", "天"]
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert api.chat_requests[0].body["stream"] is True


def test_cut_stream_raises_after_the_first_chunks() -> None:
    received = []
    with ScriptedOpenAI(["cut"]) as api:
        with pytest.raises(openai.APIConnectionError):
            for chunk in client(api, max_retries=0).chat.completions.create(model="m", messages=MESSAGES, stream=True):
                received.append(chunk.choices[0].delta.content or "")
    assert "".join(received) == CUT_TEXT


def test_models_list_consumes_no_step() -> None:
    with ScriptedOpenAI(["ok:x"]) as api:
        assert [m.id for m in client(api).models.list()] == ["scripted"]
    assert api.unused == ["ok:x"] and api.requests[0].method == "GET"


def test_used_up_script_answers_500() -> None:
    with ScriptedOpenAI([]) as api:
        with pytest.raises(openai.InternalServerError, match="no script step left for request 1"):
            client(api, max_retries=0).chat.completions.create(model="m", messages=MESSAGES)


def test_unknown_step_is_rejected_up_front() -> None:
    with pytest.raises(ValueError, match="unknown script step 'okay'"):
        ScriptedOpenAI(["okay"])
