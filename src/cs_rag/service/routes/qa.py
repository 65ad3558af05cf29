"""Quality inspection of human agents' conversations (`cs-rag qa` over HTTP)."""

from __future__ import annotations

from statistics import mean

from fastapi import APIRouter
from fastapi.responses import Response

from cs_rag.qa import FindingCode
from cs_rag.service.deps import AdminDep, ServiceDep
from cs_rag.service.responses import json_response
from cs_rag.service.schemas import ADMIN_ERRORS, QaRequest, QaResponse, QaTotals

router = APIRouter(prefix="/v1", tags=["quality inspection"])


@router.post("/qa", response_model=QaResponse, responses=ADMIN_ERRORS)
def inspect(body: QaRequest, service: ServiceDep, caller: AdminDep) -> Response:
    """Inspect a batch of conversations: per conversation its findings (code, turn, evidence,
    span) and 0-100 scores, as `cs-rag qa --json` prints them, plus the batch's totals.
    wrong_info is checked against the live index, and left out while there is none
    (`totals.wrong_info_checked`). The body may be as large as `service.upload_max_bytes`.
    With `keep` the run is kept for the console's quality page and its id returned."""
    checked = service.knowledge_base.exists
    results = service.inspector().inspect(body.conversations, check_facts=checked)
    run = service.qa_runs.add(body.source, body.conversations, results, checked, caller.id) if body.keep else None
    dimensions = ("overall", "attitude", "competence", "communication", "efficiency")
    totals = QaTotals(
        conversations=len(results),
        findings={code.value: sum(f.code is code for r in results for f in r.findings) for code in FindingCode},
        scores={d: round(mean(getattr(r.scores, d) for r in results), 2) for d in dimensions},
        wrong_info_checked=checked)
    return json_response(QaResponse(results=results, totals=totals, run_id=run.id if run else None))
