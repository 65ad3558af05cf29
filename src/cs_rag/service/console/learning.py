"""The learning queue page: what the bot could not serve, grouped, with each group's wordings;
link a group to an entry (found with the search picker), create an entry, decline it (never
answer those wordings), ignore it, undo an action; and the JSON the page's script reads (entry
search, job progress)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from cs_rag.service.console.actions import attempt, caller_of
from cs_rag.service.console.render import SECURITY_HEADERS, page
from cs_rag.service.console.signin import OperatorDep, PostDep
from cs_rag.service.routes.learning import learning_action
from cs_rag.service.schemas import (
    CreateAction,
    DeclineAction,
    IgnoreAction,
    LinkAction,
    UndoAction,
)
from cs_rag.service.state import Service

router = APIRouter(prefix="/console", include_in_schema=False)

GROUPS = 20       # a page
ACTIONS = 20
PICKS = 8
KINDS = {"link": LinkAction, "create": CreateAction, "ignore": IgnoreAction, "decline": DeclineAction,
         "undo": UndoAction}


@router.get("/learning")
def learning_queue(request: Request, operator: OperatorDep, job: str | None = None,
                   page_number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1) -> Response:
    return _queue(request, operator, job=job, page_number=page_number)


def _queue(request: Request, operator, job: str | None = None, error: str | None = None,
           status: int = 200, page_number: int = 1) -> Response:
    """A page of GROUPS groups. Their nearest entries are searched on demand with the picker
    (a search per group would make a page of them slow)."""
    service: Service = request.app.state.service
    groups = service.learning.groups(GROUPS, (page_number - 1) * GROUPS, candidates=False)
    total = service.learning.items.open_count()
    running = service.jobs.get(job) if job else None
    return page(operator, "learning.html", "learning", "学习队列 · Learning queue", status,
                groups=groups, total=total, page_number=page_number, pages=max(1, -(-total // GROUPS)), chosen={},
                actions=service.learning.items.actions(ACTIONS), job=running, error=error)


@router.post("/learning/{group_id}")
def act(request: Request, group_id: str, operator: PostDep,
        action: Annotated[str, Form(max_length=20)],
        entry_id: Annotated[str, Form(max_length=200)] = "",
        question: Annotated[str, Form(max_length=2000)] = "",
        answer: Annotated[str, Form(max_length=20000)] = "",
        category: Annotated[str, Form(max_length=200)] = "",
        reason: Annotated[str, Form(max_length=2000)] = "",
        action_id: Annotated[int, Form(ge=0)] = 0) -> Response:
    service: Service = request.app.state.service
    fields = {"link": {"entry_id": entry_id.strip()},
              "create": {"question": question.strip(), "answer": answer.strip(),
                         "category": category.strip() or None},
              "ignore": {"reason": reason.strip()}, "decline": {"reason": reason.strip()},
              "undo": {"action_id": action_id}}
    if action not in KINDS:
        return _queue(request, operator, error=f"unknown action {action!r}", status=422)
    result, error = attempt(lambda: learning_action(
        group_id, KINDS[action].model_validate({"action": action, **fields[action]}), service,
        caller_of(operator)))
    if error is not None:
        return _queue(request, operator, error=error, status=422)
    job = result.get("job")
    return RedirectResponse(operator.root + "/console/learning" + (f"?job={job['id']}" if job else ""),
                            status_code=303)


@router.get("/entries.json")
def entry_search(request: Request, operator: OperatorDep,
                 q: Annotated[str, Query(min_length=1, max_length=200)]) -> Response:
    """The FAQ entries and documents best matching `q`, for the search picker."""
    service: Service = request.app.state.service
    if not service.knowledge_base.exists:
        return JSONResponse({"entries": []}, headers=SECURITY_HEADERS)
    seen, entries = set(), []
    for hit in service.knowledge_base.search(q, k=PICKS * 2):
        if hit.doc_id not in seen:
            seen.add(hit.doc_id)
            entries.append({"id": hit.doc_id, "title": hit.question or " / ".join(hit.heading_path) or hit.doc_id,
                            "text": hit.text[:160], "kind": hit.kind.value})
    return JSONResponse({"entries": entries[:PICKS]}, headers=SECURITY_HEADERS)


@router.get("/jobs/{job_id}.json")
def job_progress(request: Request, job_id: str, operator: OperatorDep) -> Response:
    """An ingest job as /v1/jobs/{id} shows it, for the pages' progress bars."""
    service: Service = request.app.state.service
    job = service.jobs.get(job_id)
    if job is None:
        return JSONResponse({"detail": f"no job {job_id}"}, status_code=404, headers=SECURITY_HEADERS)
    return JSONResponse(job.model_dump(mode="json"), headers=SECURITY_HEADERS)
