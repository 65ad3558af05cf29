"""Dify's External Knowledge API: `POST /retrieval`, so that a Dify app can use this service's
knowledge (register the service's base URL as the endpoint, `default` as the knowledge ID and
a client key as the API key). Every error of this route is in Dify's body (service/dify.py)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials
from starlette.exceptions import HTTPException as StarletteHTTPException

from cs_rag.errors import IndexStoreError
from cs_rag.retrieval.records import records
from cs_rag.service.auth import Caller
from cs_rag.service.deps import ServiceDep, bearer
from cs_rag.service.dify import (
    AUTHORIZATION_FAILED,
    DIFY_ERRORS,
    DIFY_PATH,
    KNOWLEDGE_ID,
    MALFORMED_AUTHORIZATION,
    UNKNOWN_KNOWLEDGE,
    DifyRequest,
    DifyResponse,
    dify_error,
    error_response,
)
from cs_rag.service.dify_conditions import search_filter
from cs_rag.service.responses import json_response, unavailable


class DifyRoute(APIRoute):
    """A route whose every error is answered in Dify's body; a body the contract does not allow
    is 400, naming the field."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def dify_errors(request: Request) -> Response:
            try:
                return await handle(request)
            except RequestValidationError as exc:
                return error_response(HTTPException(400, _describe(exc.errors())))
            except StarletteHTTPException as exc:   # FastAPI's own (a bad body) are Starlette's
                return error_response(exc)
            except IndexStoreError as exc:
                return error_response(unavailable(exc))
        return dify_errors


def _describe(errors: Any) -> str:
    """'retrieval_setting.top_k: Input should be ...' for each error, joined by '; '."""
    out = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())]
        if error.get("type") == "json_invalid":
            out.append(f"body: {error.get('msg')} at character {loc[-1]}")
            continue
        if len(loc) > 1 and loc[0] == "body":
            loc = loc[1:]
        out.append(f"{'.'.join(loc)}: {error.get('msg', 'invalid')}")
    return "; ".join(out) or "invalid request"


def _dify_caller(request: Request, service: ServiceDep, credentials: Annotated[
        HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Caller:
    """The caller, by the rule of the other client routes (open when no client key is set);
    a header that is not `Bearer KEY` is 1001 even then, an unknown key 1002."""
    header = request.headers.get("authorization")
    malformed = credentials is None or len(credentials.credentials.split()) != 1
    if (header is not None and malformed) or (header is None and service.keys.client_configured):
        raise dify_error(403, MALFORMED_AUTHORIZATION, "Invalid Authorization header format: "
                         "expected 'Bearer <api-key>'")
    try:
        caller = service.authorize(credentials, request, admin=False)
        service.limit_customer(caller, None)   # Dify names no end customer: the client's address
        return caller
    except HTTPException as exc:
        if exc.status_code == 401:
            raise dify_error(403, AUTHORIZATION_FAILED, "Authorization failed: unknown API key") from None
        raise


router = APIRouter(tags=["dify"], route_class=DifyRoute)


@router.post(DIFY_PATH, response_model=DifyResponse, responses=DIFY_ERRORS)
def retrieval(body: DifyRequest, service: ServiceDep,
              caller: Annotated[Caller, Depends(_dify_caller)]) -> Response:
    """Dify's External Knowledge API. Records in rank order: `content` is an FAQ answer (its
    question in `title`) or a chunk's text (its heading path in `title`); `score` is the
    calibrated probability that the record answers the query, never rising down the list (the
    first record's is the answer's confidence), so `score_threshold` keeps records at least that
    likely to be right. `metadata_condition` filters on category, kind, products and validity
    days; a condition cs_rag cannot honour is 400, naming it."""
    if body.knowledge_id != KNOWLEDGE_ID:
        raise dify_error(404, UNKNOWN_KNOWLEDGE, f"the knowledge base {body.knowledge_id!r} does "
                         f"not exist: this service has one, {KNOWLEDGE_ID!r}")
    where = search_filter(body.metadata_condition, service.settings.retrieval.timezone)
    service.require_index()
    service.check_question(body.query, ("body", "query"))
    found = service.knowledge_base.retrieve(body.query, k=body.retrieval_setting.top_k, where=where,
                                            read_evidence=False)
    threshold = body.retrieval_setting.score_threshold
    return json_response(DifyResponse(records=[r for r in records(found) if r.score >= threshold]))
