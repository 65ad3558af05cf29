"""Search and reply suggestions for human agents."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response

from cs_rag.answering.suggest import suggest_replies
from cs_rag.service.deps import ClientDep, ServiceDep
from cs_rag.service.responses import invalid, json_response
from cs_rag.service.schemas import (
    CLIENT_ERRORS,
    SearchRequest,
    SearchResponse,
    SuggestRequest,
    SuggestResponse,
    error_responses,
)
from cs_rag.types import Turn

router = APIRouter(prefix="/v1", tags=["search"])


@router.post("/search", response_model=SearchResponse, responses=CLIENT_ERRORS)
def search(body: SearchRequest, service: ServiceDep, caller: ClientDep) -> Response:
    """Ranked hits from the live index (hybrid BM25 + dense), without an answer."""
    service.limit_customer(caller, None)
    service.require_index()
    service.check_question(body.query, ("body", "query"))
    hits = service.knowledge_base.search(body.query, k=body.k, where=body.search_filter())
    return json_response(SearchResponse(query=body.query, hits=hits))


@router.post("/suggest", response_model=SuggestResponse,
             responses={**CLIENT_ERRORS, **error_responses(404)})
def suggest(body: SuggestRequest, service: ServiceDep, caller: ClientDep) -> Response:
    """Replies a human agent may send for the customer's last message: the best hits from
    distinct documents, as FAQ answers verbatim or the sentences of a passage that answer it."""
    service.limit_customer(caller, body.end_customer())
    service.require_index()
    history: list[Turn] = []
    if body.session_id is not None:
        found = service.sessions.history(body.session_id, service.settings.answer.history_turns)
        if found is None:
            raise HTTPException(404, "the session has ended or is unknown")
        history = found
    elif body.messages:
        history = list(body.messages)
    question = body.question
    if question is None:
        last_user = next((i for i in range(len(history) - 1, -1, -1) if history[i].role == "user"), None)
        if last_user is None:
            invalid(("body", "question"), "missing", "give a question, or a session or messages "
                     "with a user turn")
        question, history = history[last_user].content, history[:last_user]
    service.check_question(question, ("body", "question"))
    replies = suggest_replies(service.assistant, question, history, body.k, body.search_filter())
    return json_response(SuggestResponse(question=replies.question, search_query=replies.search_query,
                                         suggestions=replies.suggestions, flags=replies.flags,
                                         suggested_script=replies.suggested_script))
