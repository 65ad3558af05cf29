"""Feedback on answers and the learning queue: rate an answer; list what the bot could not serve
and teach the knowledge base from it."""

from __future__ import annotations

from typing import Annotated, NoReturn

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response

from cs_rag.errors import LearningConflict, UnknownAnswerError, UnknownEntryError
from cs_rag.learning.queue import ActionKind, LearningAction
from cs_rag.service.deps import AdminDep, AskerDep, ServiceDep
from cs_rag.service.jobs import JobKind
from cs_rag.service.responses import invalid, json_response
from cs_rag.service.schemas import (
    ADMIN_ERRORS,
    CLIENT_ERRORS,
    CreateAction,
    DeclineAction,
    FeedbackRequest,
    FeedbackResult,
    IgnoreAction,
    LearningGroups,
    LearningGroupView,
    LearningLog,
    LearningRequest,
    LearningResult,
    LinkAction,
    UndoAction,
    error_responses,
)
from cs_rag.service.state import Service
from cs_rag.types import Routing

router = APIRouter(tags=["learning"])


@router.post("/v1/feedback", response_model=FeedbackResult, status_code=201,
             responses={**CLIENT_ERRORS, **error_responses(404),
                        200: {"model": FeedbackResult, "description": "an earlier rating replaced"}})
def feedback(body: FeedbackRequest, service: ServiceDep, caller: AskerDep) -> Response:
    """Rate an answer (201; 200 when it replaces an earlier rating). A dislike of an answer that
    was sent to the customer queues it for review once."""
    service.limit_customer(caller, None)
    before = service.feedback.get(body.answer_id)
    try:
        stored, created = service.learning.record_feedback(body.answer_id, body.helpful, body.reason,
                                                           body.comment, caller.id)
    except UnknownAnswerError as exc:
        raise HTTPException(404, str(exc)) from None
    except ValueError as exc:
        _invalid_field(exc)
    review_id = None
    record = service.answers.get(body.answer_id)
    newly_disliked = not body.helpful and (before is None or before.helpful)
    if newly_disliked and record is not None and record.routing == Routing.SEND.value:
        review_id = service.reviews.add(record.answer(service.database), record.session_id, [], None)
    return json_response(FeedbackResult(feedback=stored, review_id=review_id), status=201 if created else 200)


@router.get("/v1/learning", response_model=LearningGroups, responses=ADMIN_ERRORS)
def learning_groups(service: ServiceDep, caller: AdminDep,
                    limit: Annotated[int, Query(ge=1, le=500)] = 100) -> Response:
    """What the bot could not serve, grouped by meaning, largest group first (at most `limit`)."""
    service.require_index()
    groups = [LearningGroupView(**g.model_dump(exclude={"members"})) for g in service.learning.groups(limit)]
    return json_response(LearningGroups(groups=groups))


@router.get("/v1/learning/actions", response_model=LearningLog, responses=ADMIN_ERRORS)
def learning_actions(service: ServiceDep, caller: AdminDep) -> Response:
    """The audit log of learning actions (who, when, what), newest first."""
    return json_response(LearningLog(actions=service.learning.items.actions()))


@router.post("/v1/learning/{group_id}", response_model=LearningResult,
             responses={**ADMIN_ERRORS, **error_responses(400, 404, 409)})
def learning_action(group_id: str, body: LearningRequest, service: ServiceDep, caller: AdminDep) -> Response:
    """Link the group to an entry, create an entry for it, decline it (never answer these
    wordings), ignore it, or undo an earlier action; every action but ignore returns the ingest
    job that applies it."""
    service.require_index()
    try:
        action = _act(service, group_id, body, caller.id)
    except KeyError:
        raise HTTPException(404, f"no action {body.action_id} of group {group_id}" if isinstance(body, UndoAction)
                            else f"no open learning group {group_id}") from None
    except UnknownEntryError as exc:
        raise HTTPException(404, str(exc)) from None
    except LearningConflict as exc:
        raise HTTPException(409, str(exc)) from None
    except ValueError as exc:
        _invalid_field(exc)
    job = None
    if action.kind is not ActionKind.IGNORE:
        rollback = None if action.kind is ActionKind.UNDO else (lambda: service.learning.rollback(action))
        job = service.jobs.submit(JobKind.LEARNING, f"learning action {action.id} ({action.kind.value})",
                                  on_failure=rollback)
    return json_response(LearningResult(action=action, job=job))


def _act(service: Service, group_id: str, body: LearningRequest, by: str) -> LearningAction:
    loop = service.learning
    if isinstance(body, LinkAction):
        return loop.link(group_id, body.entry_id, by, body.wordings)
    if isinstance(body, CreateAction):
        return loop.create(group_id, body.question, body.answer, body.category, by, body.wordings)
    if isinstance(body, IgnoreAction):
        return loop.ignore(group_id, body.reason, by, body.wordings)
    if isinstance(body, DeclineAction):
        return loop.decline(group_id, body.reason, by, body.wordings)
    return loop.undo(group_id, body.action_id, by)


def _invalid_field(exc: ValueError) -> NoReturn:
    """A 422 naming the body field of a "field: problem" ValueError from the learning loop."""
    field, _, problem = str(exc).partition(": ")
    invalid(("body", field), "value_error", problem)
