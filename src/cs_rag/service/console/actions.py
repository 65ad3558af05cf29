"""How console forms act: through the same route functions the JSON API uses (so a form can
do nothing the API would refuse), their errors turned into a sentence for the page."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import HTTPException
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import ValidationError

from cs_rag.service.auth import Caller
from cs_rag.service.console.signin import Operator


def caller_of(operator: Operator) -> Caller:
    """The admin caller a signed-in operator acts as (their key's fingerprint)."""
    return Caller("admin", operator.id)


def attempt(call: Callable[[], Response]) -> tuple[dict[str, Any] | None, str | None]:
    """(the route's JSON body, None) or (None, what went wrong) for a 4xx the route raised."""
    try:
        response = call()
    except HTTPException as exc:
        return None, str(exc.detail)
    except (RequestValidationError, ValidationError) as exc:
        return None, "; ".join(_problem(error) for error in exc.errors())
    return json.loads(response.body), None


def _problem(error: dict) -> str:
    where = ".".join(str(part) for part in error.get("loc", ()) if part not in ("body", "query"))
    return f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg", "invalid"))
