"""The review queue: list, read and decide queued answers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response

from cs_rag.errors import ReviewConflict, ReviewDecisionError
from cs_rag.learning.queue import LearningAction
from cs_rag.service import curation
from cs_rag.service.deps import AdminDep, ServiceDep
from cs_rag.service.jobs import JobKind
from cs_rag.service.responses import invalid, json_response
from cs_rag.service.reviews import Review, ReviewStatus, SavedAs
from cs_rag.service.schemas import (
    ADMIN_ERRORS,
    ReviewDecision,
    ReviewList,
    ReviewResult,
    RowId,
    error_responses,
)
from cs_rag.service.state import Service
from cs_rag.types import FaqEntry, FlagKind

REVIEW_TO_LEARN = ("rejected", "edited")   # decisions whose question joins the learning queue
router = APIRouter(prefix="/v1/reviews", tags=["reviews"])


# ---- reviews ----------------------------------------------------------------------------

@router.get("", response_model=ReviewList, responses=ADMIN_ERRORS)
def list_reviews(service: ServiceDep, caller: AdminDep,
                 status: ReviewStatus | None = None, flag: FlagKind | None = None,
                 limit: Annotated[int, Query(ge=1, le=200)] = 50,
                 offset: Annotated[int, Query(ge=0, le=2**62)] = 0) -> Response:
    """Queued answers, newest first; filter by status and by flag kind."""
    reviews, total = service.reviews.list(status, flag, limit, offset)
    return json_response(ReviewList(total=total, reviews=reviews))


@router.get("/{review_id}", response_model=Review,
            responses={**ADMIN_ERRORS, **error_responses(404)})
def get_review(review_id: RowId, service: ServiceDep, caller: AdminDep) -> Response:
    review = service.reviews.get(review_id)
    if review is None:
        raise HTTPException(404, f"no review {review_id}")
    return json_response(review)


@router.post("/{review_id}", response_model=ReviewResult,
             responses={**ADMIN_ERRORS, **error_responses(400, 404, 409)})
def decide_review(review_id: RowId, body: ReviewDecision, service: ServiceDep, caller: AdminDep) -> Response:
    """Approve, edit or reject a pending answer; an approved or edited one may be saved as
    knowledge (see ReviewDecision), which queues an ingest job."""
    review = service.reviews.get(review_id)
    if review is None:
        raise HTTPException(404, f"no review {review_id}")
    try:
        entry, target, old_answer = _saved(service, review, body)
    except ReviewDecisionError as exc:
        invalid(("body", exc.field), exc.kind, str(exc))
    text = curation.final_text(review, body.action.value, body.text)
    status = curation.DECIDED_STATUS[body.action.value]
    try:
        decided = service.reviews.decide(review_id, status, final_text=text, note=body.note,
                                         decided_by=caller.id, saved_as=body.save_as,
                                         faq_id=entry.id if entry else target)
    except ReviewConflict as exc:
        raise HTTPException(409, str(exc)) from None
    if status.value in REVIEW_TO_LEARN:
        service.learning.review_decided(review.answer.trace_id, status.value)
    job = None
    if entry is not None:
        undo = service.folder.add_faq(entry)
        job = service.jobs.submit(JobKind.REVIEW, f"review {review_id}: FAQ entry {entry.id}",
                                  on_failure=undo)
    elif target is not None:
        action = _teach(service, review, body, target, old_answer, caller.id)
        job = service.jobs.submit(JobKind.REVIEW, f"review {review_id}: FAQ entry {target} taught",
                                  on_failure=lambda: service.learning.rollback(action))
    if job is not None:
        service.reviews.set_job(review_id, job.id)
        decided = decided.model_copy(update={"job_id": job.id})
    return json_response(ReviewResult(review=decided, job=job))


def _saved(service: Service, review: Review,
           body: ReviewDecision) -> tuple[FaqEntry | None, str | None, str | None]:
    """(the new FAQ entry a `faq_answer` save writes, the existing entry a `similar_question`
    or `entry_answer` save teaches, that entry's current answer); ReviewDecisionError when a
    rule is broken, checked before anything is decided."""
    curation.check_decision(review, body.action.value, body.text, body.save_as)
    if body.save_as is SavedAs.FAQ_ANSWER:
        return curation.new_faq_entry(service.assistant, review, curation.final_text(review, body.action.value, body.text),
                                      body.question, body.category), None, None
    if body.save_as in (SavedAs.SIMILAR_QUESTION, SavedAs.ENTRY_ANSWER):
        service.require_index()
        target = curation.entry_target(review, body.faq_id)
        return None, target, curation.current_answer(service.assistant, target)
    return None, None, None


def _teach(service: Service, review: Review, body: ReviewDecision, target: str, old_answer: str | None,
           by: str) -> LearningAction:
    """A `similar_question` or `entry_answer` save, audited by the learning loop."""
    origin = f"review-{review.id}"
    if body.save_as is SavedAs.SIMILAR_QUESTION:
        return service.learning.teach(target, by, origin,
                                      similar_questions=[curation.taught_question(review, body.question)])
    new = curation.answer_body(service.assistant, review,
                               curation.final_text(review, body.action.value, body.text) or "")
    return service.learning.teach(target, by, origin, answer=new, old_answer=old_answer)
