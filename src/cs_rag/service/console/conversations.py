"""The conversations page: the question log with filters (outcome, flag kind, rating, dates,
text), and one answer in detail: the rewrite, the hits with per-retriever scores, the
confidence and decision, guard flags with their evidence, timings, the reply, the rating."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from cs_rag.errors import WindowError
from cs_rag.learning.conversations import LogFilter, Rated, find_answers
from cs_rag.learning.stats import parse_bound, team_timezone
from cs_rag.service.console.render import page
from cs_rag.service.console.signin import OperatorDep
from cs_rag.service.state import Service
from cs_rag.types import FlagKind, Outcome

router = APIRouter(prefix="/console", include_in_schema=False)

PAGE = 50
_DATE = r"^(\d{4}-\d{2}-\d{2})?$"


@router.get("/conversations")
def conversations(request: Request, operator: OperatorDep,
                  outcome: Annotated[str, Query(max_length=40)] = "",
                  flag: Annotated[str, Query(max_length=40)] = "",
                  rated: Annotated[str, Query(max_length=40)] = "",
                  since: Annotated[str, Query(pattern=_DATE)] = "",
                  until: Annotated[str, Query(pattern=_DATE)] = "",
                  text: Annotated[str, Query(max_length=200)] = "",
                  page_number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1) -> Response:
    service: Service = request.app.state.service
    tz = team_timezone(service.settings.retrieval.timezone)
    error = None
    try:
        where = LogFilter(_choice(Outcome, outcome), _choice(FlagKind, flag), _choice(Rated, rated),
                          parse_bound(since, "since", tz=tz) if since else None,
                          parse_bound(until, "until", end=True, tz=tz) if until else None, text)
    except (WindowError, ValueError) as exc:
        where, error = LogFilter(text=text), str(exc)
    rows, total = find_answers(service.database, service.feedback, where, PAGE, (page_number - 1) * PAGE)
    chosen = {"outcome": outcome, "flag": flag, "rated": rated, "since": since, "until": until, "text": text}
    return page(operator, "conversations.html", "conversations", "对话记录 · Conversations",
                rows=rows, total=total, page_number=page_number, pages=max(1, -(-total // PAGE)),
                chosen=chosen, outcomes=list(Outcome), flags=list(FlagKind), ratings=list(Rated),
                tz=tz, error=error)


def _choice(kind: type[Enum], value: str):
    """The member named `value`, None for an empty value (no filter); ValueError naming the choices."""
    if not value:
        return None
    try:
        return kind(value)
    except ValueError:
        raise ValueError(f"{value!r} is not one of {', '.join(m.value for m in kind)}") from None


@router.get("/conversations/{trace_id}")
def conversation(request: Request, trace_id: str, operator: OperatorDep) -> Response:
    service: Service = request.app.state.service
    record = service.answers.get(trace_id)
    if record is None:
        return page(operator, "conversation.html", "conversations", "对话记录 · Conversation", 404,
                    answer=None, error=f"没有这条记录 · No answer {trace_id}")
    answer = record.answer(service.database)
    retrieval = answer.trace.get("retrieval", {})
    return page(operator, "conversation.html", "conversations", "对话记录 · Conversation",
                record=record, answer=answer, retrieval=retrieval, rewrite=answer.trace.get("rewrite", {}),
                timings=answer.trace.get("timings_ms", {}), feedback=service.feedback.get(trace_id),
                tz=team_timezone(service.settings.retrieval.timezone))
