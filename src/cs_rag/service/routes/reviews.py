"""The review queue: list, read and decide queued answers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response

from cs_rag.errors import ReviewConflict, ReviewDecisionError
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
        entry = _decided_entry(service, review, body)
    except ReviewDecisionError as exc:
        invalid(("body", exc.field), exc.kind, str(exc))
    text = curation.final_text(review, body.action.value, body.text)
    status = curation.DECIDED_STATUS[body.action.value]
    try:
        decided = service.reviews.decide(review_id, status, final_text=text, note=body.note,
                                         decided_by=caller.id, saved_as=body.save_as,
                                         faq_id=entry.id if entry else None)
    except ReviewConflict as exc:
        raise HTTPException(409, str(exc)) from None
    job = None
    if entry is not None:
        undo = service.folder.add_faq(entry)
        job = service.jobs.submit(JobKind.REVIEW, f"review {review_id}: FAQ entry {entry.id}",
                                  on_failure=undo)
        service.reviews.set_job(review_id, job.id)
        decided = decided.model_copy(update={"job_id": job.id})
    return json_response(ReviewResult(review=decided, job=job))


def _decided_entry(service: Service, review: Review, body: ReviewDecision) -> FaqEntry | None:
    """The FAQ entry the decision saves, if any; ReviewDecisionError when a rule is broken."""
    curation.check_decision(review, body.action.value, body.text, body.save_as)
    if body.save_as is SavedAs.FAQ_ANSWER:
        return curation.new_faq_entry(service.assistant, review, curation.final_text(review, body.action.value, body.text),
                                      body.question, body.category)
    if body.save_as is SavedAs.SIMILAR_QUESTION:
        target_id = curation.similar_question_target(review, body.faq_id)
        service.require_index()
        return curation.similar_question_entry(service.assistant, review, target_id, body.question, body.category)
    return None
