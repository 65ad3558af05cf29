"""Answers: /v1/answer (JSON or server-sent events), OpenAI-compatible chat completions, models."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response, StreamingResponse

from cs_rag.errors import UnknownEntryError
from cs_rag.index.base import SearchFilter
from cs_rag.service.deps import AskerDep, ClientDep, ServiceDep
from cs_rag.service.gate import log_exception
from cs_rag.service.responses import invalid, json_response, sse_event
from cs_rag.service.schemas import (
    CLIENT_ERRORS,
    AnswerRequest,
    AnswerResponse,
    ChatChoice,
    ChatChoiceMessage,
    ChatCompletion,
    ChatCompletionRequest,
    ModelCard,
    ModelList,
    error_responses,
    event_stream_doc,
)
from cs_rag.service.sessions import Session
from cs_rag.service.state import Service
from cs_rag.types import Answer, Customer, Turn

router = APIRouter(prefix="/v1", tags=["answer"])


MODEL_NAME = "cs-rag"
_SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}



@router.post("/answer", response_model=AnswerResponse,
             responses={**CLIENT_ERRORS, 200: {"content": event_stream_doc(
                 "with stream=true: `delta` events ({\"text\"}) as the answer is written, then "
                 "one `answer` event (the AnswerResponse), or `error` ({\"detail\"})",
                 ["delta", "answer", "error"])}})
def answer(body: AnswerRequest, service: ServiceDep, caller: AskerDep) -> Response:
    """Answer a customer's question within a session kept by the service.

    Without `session_id` (or with one that has ended) a new session starts: `new_session` is
    true and `expired_session` names the session that could not be continued. Each answer
    appends the user and assistant turns. Answers routed to `review` are queued
    (`review_id`). With `option_id` (the `id` of an option a clarify reply offered) that entry
    answers directly; so does a question that is just the number (or the title) of an option the
    session's last reply offered."""
    service.limit_customer(caller, body.end_customer())
    service.require_index()
    service.check_question(body.question, ("body", "question"))
    session = service.sessions.open(body.session_id, service.settings.answer.history_turns, body.customer)
    picked = None if body.option_id is not None else service.sessions.picked(session.id, body.question)
    if body.option_id is not None or picked is not None:
        option_id, question = (body.option_id, body.question) if picked is None else picked
        try:
            chosen = service.assistant.choose(option_id, question, session.history, session.customer)
        except UnknownEntryError as exc:
            invalid(("body", "option_id"), "value_error", str(exc))
        return json_response(service.finish_turn(session, chosen))
    if body.stream:
        return StreamingResponse(_answer_events(service, body.question, session, body.search_filter()),
                                 media_type="text/event-stream", headers=_SSE_HEADERS)
    result = service.assistant.answer(body.question, session.history, session.customer, body.search_filter())
    return json_response(service.finish_turn(session, result))


def _answer_events(service: Service, question: str, session: Session,
                   where: SearchFilter | None) -> Iterator[str]:
    try:
        for item in service.assistant.stream(question, session.history, session.customer, where):
            if isinstance(item, Answer):
                yield sse_event("answer", service.finish_turn(session, item).model_dump_json())
                return
            yield sse_event("delta", json.dumps({"text": item}, ensure_ascii=False))
    except Exception as exc:  # noqa: BLE001 - the stream has started: report the error in it
        log_exception(exc)
        yield sse_event("error", json.dumps({"detail": "the answer failed; see the service log"}))


@router.post("/chat/completions", response_model=ChatCompletion,
             responses={**CLIENT_ERRORS, 200: {"content": event_stream_doc(
                 "with stream=true: OpenAI chat.completion.chunk objects; the last one carries "
                 "`cs_rag`; then `[DONE]`", None)}})
def chat_completions(body: ChatCompletionRequest, service: ServiceDep, caller: ClientDep) -> Response:
    """OpenAI-compatible chat completions over the same pipeline (stateless: the history is
    the messages). The answer is `choices[0].message.content`; citations, flags, outcome,
    routing and the rest of the Answer are in the extra top-level field `cs_rag`. `user` (OpenAI's
    end-user id) names the end customer for the per-customer rate limit."""
    service.limit_customer(caller, body.end_customer())
    service.require_index()
    last = len(body.messages) - 1
    if body.messages[last].role != "user":
        invalid(("body", "messages", last, "role"), "value_error",
                 "the last message must be the user's question")
    question = body.messages[last].text()
    service.check_question(question, ("body", "messages", last, "content"))
    history = [Turn(role=m.role, content=m.text()) for m in body.messages[:last]
               if m.role in ("user", "assistant") and m.text().strip()]
    model = body.model or MODEL_NAME
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    if body.stream:
        return StreamingResponse(_chat_events(service, question, history, body.customer, model,
                                              completion_id, body.search_filter()),
                                 media_type="text/event-stream", headers=_SSE_HEADERS)
    result = service.assistant.answer(question, history, body.customer, body.search_filter())
    service.record(result, None)
    completion = ChatCompletion(id=completion_id, created=int(time.time()), model=model,
                                choices=[ChatChoice(message=ChatChoiceMessage(content=result.text))],
                                cs_rag=_cs_rag_field(result))
    return json_response(completion)


def _chat_events(service: Service, question: str, history: list[Turn], customer: Customer | None,
                 model: str, completion_id: str, where: SearchFilter | None) -> Iterator[str]:
    created = int(time.time())

    def chunk(delta: dict, finish: str | None = None, **extra: Any) -> str:
        payload = {"id": completion_id, "object": "chat.completion.chunk", "created": created,
                   "model": model, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                   **extra}
        return sse_event(None, json.dumps(payload, ensure_ascii=False))

    try:
        yield chunk({"role": "assistant", "content": ""})
        for item in service.assistant.stream(question, history, customer, where):
            if isinstance(item, Answer):
                service.record(item, None)
                yield chunk({}, "stop", cs_rag=_cs_rag_field(item))
                break
            yield chunk({"content": item})
    except Exception as exc:  # noqa: BLE001 - the stream has started: report the error in it
        log_exception(exc)
        yield sse_event(None, json.dumps({"error": {"message": "the answer failed; see the service log",
                                               "type": "server_error"}}))
    yield sse_event(None, "[DONE]")


def _cs_rag_field(answer: Answer) -> dict[str, Any]:
    return answer.model_dump(mode="json", exclude={"text"})


@router.get("/models", response_model=ModelList, responses=error_responses(401, 429))
def models(service: ServiceDep, caller: ClientDep) -> Response:
    """The one model name this service answers as (OpenAI clients list models)."""
    service.limit_customer(caller, None)
    return json_response(ModelList(data=[ModelCard(id=MODEL_NAME)]))


