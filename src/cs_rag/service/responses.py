"""How routes answer: a pydantic body as JSON, a server-sent event, a 422 naming the field."""

from __future__ import annotations

from typing import Any, NoReturn

from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel


def invalid(loc: tuple, kind: str, message: str, ctx: dict | None = None) -> NoReturn:
    error: dict[str, Any] = {"type": kind, "loc": loc, "msg": message}
    if ctx:
        error["ctx"] = ctx
    raise RequestValidationError([error])


def json_response(model: BaseModel, status: int = 200) -> Response:
    return Response(model.model_dump_json(), status_code=status, media_type="application/json")


def sse_event(event: str | None, data: str) -> str:
    return (f"event: {event}\n" if event else "") + f"data: {data}\n\n"
