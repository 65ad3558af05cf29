"""Quality inspection of human agents' conversations (`cs-rag qa` over HTTP)."""

from __future__ import annotations

from statistics import mean
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response, StreamingResponse

from cs_rag.errors import WindowError
from cs_rag.learning.stats import team_timezone, window
from cs_rag.qa import FindingCode
from cs_rag.service.conversation_export import exported_conversations
from cs_rag.service.deps import AdminDep, ServiceDep
from cs_rag.service.responses import invalid, json_response
from cs_rag.service.schemas import ADMIN_ERRORS, QaRequest, QaResponse, QaTotals

router = APIRouter(prefix="/v1", tags=["quality inspection"])


@router.post("/qa", response_model=QaResponse, responses=ADMIN_ERRORS)
def inspect(body: QaRequest, service: ServiceDep, caller: AdminDep) -> Response:
    """Inspect a batch of conversations: per conversation its findings (code, turn, evidence,
    span) and 0-100 scores, as `cs-rag qa --json` prints them, plus the batch's totals.
    wrong_info is checked against the live index, and left out while there is none
    (`totals.wrong_info_checked`). The body may be as large as `service.upload_max_bytes`.
    With `keep` the run is kept for the console's quality page and its id returned."""
    results, checked, run = service.inspect(body.conversations, keep_as=body.source if body.keep else None,
                                            by=caller.id)
    dimensions = ("overall", "attitude", "competence", "communication", "efficiency")
    totals = QaTotals(
        conversations=len(results),
        findings={code.value: sum(f.code is code for r in results for f in r.findings) for code in FindingCode},
        scores={d: round(mean(getattr(r.scores, d) for r in results), 2) for d in dimensions},
        wrong_info_checked=checked)
    return json_response(QaResponse(results=results, totals=totals, run_id=run.id if run else None))


@router.get("/qa/export", responses={**ADMIN_ERRORS, 200: {"content": {"application/x-ndjson": {}}}})
def export(service: ServiceDep, caller: AdminDep,
           since: Annotated[str | None, Query(description="an ISO date or date-time; default 30 days before `until`")] = None,
           until: Annotated[str | None, Query(description="an ISO date (included) or date-time; default the end of today")] = None,
           handed_off: Annotated[bool, Query(description="only conversations the bot handed to a person")] = False) -> Response:
    """The service's own conversations with an answer in [since, until), whole, as JSON lines
    in the shape `cs-rag qa` and `POST /v1/qa` read (one per session: the customer's messages,
    masked as logged, the bot's replies, system turns where a reply was held for review or the
    conversation handed off; agent_id "bot"). Set agent_id to your agent's, add their turns
    after the hand-off and inspect the whole conversation."""
    try:
        tz = team_timezone(service.settings.retrieval.timezone)
        start, end = window(since, until, tz=tz)
    except WindowError as exc:
        invalid(("query", exc.field), "value_error", str(exc))
    found = exported_conversations(service.answers, start, end, tz, handed_off_only=handed_off)
    return StreamingResponse((c.model_dump_json() + "\n" for c in found), media_type="application/x-ndjson")
