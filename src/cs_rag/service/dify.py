"""Dify's External Knowledge API contract: the request and response bodies of `POST /retrieval`
and its error body `{"error_code", "error_msg"}`.

Error codes: 1001 a missing or malformed Authorization header and 1002 an unknown key (both
HTTP 403), 2001 an unknown knowledge base (404), as Dify's documentation suggests; any other
error carries its HTTP status as the code (400 a body the contract does not allow, naming the
field; 413, 429, 503)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from cs_rag.retrieval.records import Record

DIFY_PATH = "/retrieval"    # Dify appends it to the endpoint a user registers
KNOWLEDGE_ID = "default"    # the one knowledge base a service holds

MALFORMED_AUTHORIZATION = 1001
AUTHORIZATION_FAILED = 1002
UNKNOWN_KNOWLEDGE = 2001


class RetrievalSetting(BaseModel):
    top_k: int = Field(ge=1, le=50, description="at most this many records")
    score_threshold: float = Field(ge=0.0, le=1.0, description="keep records scoring at least "
                                   "this (0 when Dify's threshold is off)")


class Condition(BaseModel):
    name: str = Field(description="a metadata field: category, kind, products, valid_on, "
                      "valid_from, valid_to")
    comparison_operator: str
    value: str | int | float | list[str] | None = None


class MetadataCondition(BaseModel):
    logical_operator: Literal["and", "or"] = "and"
    conditions: list[Condition]


class DifyRequest(BaseModel):
    """Dify's retrieval request. Fields Dify may add later are ignored."""

    knowledge_id: str = Field(description=f"{KNOWLEDGE_ID!r}: the service's knowledge base")
    query: str
    retrieval_setting: RetrievalSetting
    metadata_condition: MetadataCondition | None = None


class DifyResponse(BaseModel):
    records: list[Record]


class DifyErrorBody(BaseModel):
    error_code: int
    error_msg: str


def error_body(code: int, message: str) -> dict[str, Any]:
    return {"error_code": code, "error_msg": message}


def dify_error(status: int, code: int, message: str) -> HTTPException:
    """An HTTPException that Dify's route answers as `{"error_code": code, "error_msg": message}`."""
    return HTTPException(status, error_body(code, message))


def error_response(exc: StarletteHTTPException) -> JSONResponse:
    """`exc` in Dify's body (an error not made by `dify_error` has its status as the code)."""
    body = exc.detail if isinstance(exc.detail, dict) else error_body(exc.status_code, str(exc.detail))
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


_WHY = {400: "the body breaks the contract, or a condition cs_rag cannot honour (names the field)",
        403: "1001 a missing or malformed Authorization header, 1002 an unknown key",
        404: "2001 the knowledge base does not exist", 413: "request body too large",
        429: "rate limited; see Retry-After", 503: "the index is not built yet, or it cannot be reached; see Retry-After"}
DIFY_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": DifyErrorBody, "description": why} for status, why in _WHY.items()}
