"""The quality page (智能质检): upload agents' conversations (the `cs-rag qa` JSONL) to inspect
them, or open a run kept by `POST /v1/qa` with `keep`; each run lists its agents against the
standards (worst overall first) and its flagged conversations (filtered by agent and code),
and one conversation shows its turns beside the findings. Runs are deleted here."""

from __future__ import annotations

import re
from collections import Counter
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from cs_rag.errors import InputError
from cs_rag.learning.stats import team_timezone
from cs_rag.qa import FindingCode
from cs_rag.qa.conversation import parse_conversations
from cs_rag.qa.report import summarise
from cs_rag.service.console.render import page
from cs_rag.service.console.signin import Operator, OperatorDep, PostDep
from cs_rag.service.gate import CONSOLE_QA_UPLOAD
from cs_rag.service.qa_runs import Inspected
from cs_rag.service.schemas import QA_BATCH
from cs_rag.service.state import Service

router = APIRouter(prefix="/console", include_in_schema=False)

RUNS = 20        # runs listed
FLAGGED = 200    # flagged conversations listed, lowest overall score first
TITLE = "质检 · Quality"
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f]")


@router.get("/qa")
def quality(request: Request, operator: OperatorDep, run: Annotated[int | None, Query(ge=1)] = None,
            agent: Annotated[str, Query(max_length=200)] = "",
            code: Annotated[str, Query(max_length=40)] = "") -> Response:
    return _page(request, operator, run, agent, code)


def _page(request: Request, operator: Operator, run_id: int | None = None, agent: str = "", code: str = "",
          error: str | None = None, status: int = 200) -> Response:
    """The run `run_id` (default: the newest) with its agents and flagged conversations."""
    service: Service = request.app.state.service
    runs = service.qa_runs.runs(RUNS)
    chosen = service.qa_runs.run(run_id) if run_id is not None else (runs[0] if runs else None)
    if run_id is not None and chosen is None:
        error, status = f"没有这次质检 · No inspection run {run_id}", 404
    context = dict(runs=runs, run=chosen, agent=agent, code=code, codes=[c.value for c in FindingCode],
                   error=error, max_bytes=service.limits.upload_max_bytes, batch=QA_BATCH,
                   tz=team_timezone(service.settings.retrieval.timezone), qa=service.settings.qa,
                   agents=[], by_code={}, flagged=[], flagged_total=0)
    if chosen is not None:
        inspected = service.qa_runs.inspected(chosen.id)
        agents = summarise([i.inspection for i in inspected], service.settings.qa)
        flagged = [i for i in inspected if i.inspection.findings and (not agent or i.inspection.agent_id == agent)
                   and (not code or any(f.code == code for f in i.inspection.findings))]
        flagged.sort(key=lambda i: (i.inspection.scores.overall, i.position))
        context.update(agents=sorted(agents, key=lambda a: (a.scores["overall"], a.agent_id)),
                       by_code=Counter(f.code.value for i in inspected for f in i.inspection.findings),
                       flagged=[(i, _shown(i, code)) for i in flagged[:FLAGGED]], flagged_total=len(flagged))
    return page(operator, "quality.html", "qa", TITLE, status, **context)


def _shown(inspected: Inspected, code: str) -> str:
    """The evidence a flagged row shows: of the chosen code's first finding, else the first."""
    findings = inspected.inspection.findings
    return next((f.evidence for f in findings if f.code == code), findings[0].evidence)


@router.post(CONSOLE_QA_UPLOAD.removeprefix("/console"))
def inspect_upload(request: Request, operator: PostDep, file: Annotated[UploadFile, File()],
                   skip_bad: Annotated[bool, Form()] = False) -> Response:
    """Inspect an uploaded JSONL of at most QA_BATCH conversations (a bad line names its line
    and field; with `skip_bad` the rest is inspected and the skipped lines kept with the run)
    and keep the run."""
    service: Service = request.app.state.service
    name = _UNPRINTABLE.sub("", file.filename or "")[:200] or "upload.jsonl"
    try:
        conversations, errors = parse_conversations(file.file.read(), name, skip_bad=skip_bad)
    except InputError as exc:
        return _page(request, operator, error=str(exc), status=422)
    if len(conversations) > QA_BATCH:
        return _page(request, operator, status=422, error=f"{name}: {len(conversations)} 段对话，一次最多 {QA_BATCH} 段 · "
                                                          f"{len(conversations)} conversations, at most {QA_BATCH} at once")
    _, _, run = service.inspect(conversations, keep_as=name, by=operator.id, skipped=[str(e) for e in errors])
    assert run is not None
    return RedirectResponse(f"{operator.root}/console/qa?run={run.id}", status_code=303)


@router.post("/qa/{run_id}/delete")
def delete_run(request: Request, run_id: int, operator: PostDep) -> Response:
    service: Service = request.app.state.service
    if not service.qa_runs.delete(run_id):
        return _page(request, operator, error=f"没有这次质检 · No inspection run {run_id}", status=404)
    return RedirectResponse(f"{operator.root}/console/qa", status_code=303)


@router.get("/qa/{run_id}/conversations/{position}")
def inspected_conversation(request: Request, run_id: int, position: int, operator: OperatorDep) -> Response:
    service: Service = request.app.state.service
    found = service.qa_runs.inspected(run_id, position)
    if not found:
        return page(operator, "quality_conversation.html", "qa", TITLE, 404, inspected=None, run_id=run_id,
                    error=f"没有这段对话 · No conversation {position} in run {run_id}")
    by_turn: dict[int, list] = {}
    for finding in found[0].inspection.findings:
        by_turn.setdefault(finding.turn, []).append(finding)
    return page(operator, "quality_conversation.html", "qa", TITLE, inspected=found[0], run_id=run_id,
                by_turn=by_turn, error=None)
