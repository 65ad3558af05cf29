"""How routes answer: a pydantic body as JSON, a server-sent event, a 422 naming the field, a
503 for an index or database that cannot be used now."""

from __future__ import annotations

import logging
from typing import Any, NoReturn

from fastapi import HTTPException
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel

from cs_rag.errors import DatabaseUnavailableError, IndexStoreError
from cs_rag.guard import mask_pii

log = logging.getLogger("cs_rag.service")

DATABASE_RETRY_SECONDS = 10   # a PostgreSQL restart or fail-over takes seconds
INDEX_RETRY_SECONDS = 30


def invalid(loc: tuple, kind: str, message: str, ctx: dict | None = None) -> NoReturn:
    error: dict[str, Any] = {"type": kind, "loc": loc, "msg": message}
    if ctx:
        error["ctx"] = ctx
    raise RequestValidationError([error])


def json_response(model: BaseModel, status: int = 200) -> Response:
    return Response(model.model_dump_json(), status_code=status, media_type="application/json")


def sse_event(event: str | None, data: str) -> str:
    return (f"event: {event}\n" if event else "") + f"data: {data}\n\n"


def unavailable(exc: IndexStoreError) -> HTTPException:
    """The 503 (with Retry-After) for an index or database error, logged with personal data
    masked. The database's address stays in the log, out of the response."""
    if isinstance(exc, DatabaseUnavailableError):
        log.error("database unavailable: %s", mask_pii(str(exc)))
        return HTTPException(503, f"the database is unreachable; retry in {DATABASE_RETRY_SECONDS} s",
                             {"Retry-After": str(DATABASE_RETRY_SECONDS)})
    log.error("index unavailable: %s", mask_pii(str(exc)))
    return HTTPException(503, f"the index is unavailable: {exc}", {"Retry-After": str(INDEX_RETRY_SECONDS)})
