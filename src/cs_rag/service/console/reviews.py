"""The review queue page: pending answers one card each (question, conversation, draft, flags
with evidence), decided by approve, edit and send, or reject, optionally saved to the
knowledge; keyboard shortcuts (console.js) for working through a long queue."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from cs_rag.service.console.actions import attempt, caller_of
from cs_rag.service.console.render import page
from cs_rag.service.console.signin import OperatorDep, PostDep
from cs_rag.service.reviews import ReviewStatus
from cs_rag.service.routes.reviews import decide_review
from cs_rag.service.schemas import ReviewDecision
from cs_rag.service.state import Service

router = APIRouter(prefix="/console", include_in_schema=False)

PAGE = 50
DONE = {"approved": "已通过 · Approved", "edited": "已修改并发送 · Edited and sent",
        "rejected": "已拒绝 · Rejected"}


@router.get("/reviews")
def review_queue(request: Request, operator: OperatorDep, done: str | None = None) -> Response:
    return _queue(request, operator, notice=DONE.get(done or ""))


def _queue(request: Request, operator, notice: str | None = None, error: str | None = None,
           status: int = 200) -> Response:
    service: Service = request.app.state.service
    reviews, total = service.reviews.list(ReviewStatus.PENDING, None, PAGE, 0)
    return page(operator, "reviews.html", "reviews", "审核队列 · Review queue", status,
                reviews=reviews, total=total, notice=notice, error=error)


@router.post("/reviews/{review_id}")
def decide(request: Request, review_id: int, operator: PostDep,
           action: Annotated[str, Form(max_length=20)],
           text: Annotated[str, Form(max_length=20000)] = "",
           note: Annotated[str, Form(max_length=2000)] = "",
           save_as: Annotated[str, Form(max_length=40)] = "") -> Response:
    service: Service = request.app.state.service
    body = {"action": action, "text": text.strip() or None, "note": note.strip() or None,
            "save_as": save_as or None}
    if action != "edit":
        body["text"] = None
    result, error = attempt(lambda: decide_review(review_id, ReviewDecision.model_validate(body),
                                                  service, caller_of(operator)))
    if error is not None:
        return _queue(request, operator, error=f"#{review_id}: {error}", status=422)
    return RedirectResponse(f"{operator.root}/console/reviews?done={result['review']['status']}", status_code=303)
