"""The quality page (智能质检): upload agents' conversations (the `cs-rag qa` JSONL) to inspect
them, or open a run kept by `POST /v1/qa` with `keep`; each run lists its agents against the
standards and its flagged conversations (filtered by agent and code), and one conversation
shows its turns beside the findings."""

from __future__ import annotations

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
from cs_rag.service.console.signin import OperatorDep, PostDep
from cs_rag.service.gate import CONSOLE_QA_UPLOAD
from cs_rag.service.state import Service

router = APIRouter(prefix="/console", include_in_schema=False)

RUNS = 20        # runs listed
FLAGGED = 200    # flagged conversations listed, lowest overall score first
TITLE = "质检 · Quality"


@router.get("/qa")
def quality(request: Request, operator: OperatorDep, run: Annotated[int | None, Query(ge=1)] = None,
            agent: Annotated[str, Query(max_length=200)] = "",
            code: Annotated[str, Query(max_length=40)] = "") -> Response:
    return _page(request, operator, run, agent, code)


def _page(request: Request, operator, run_id: int | None = None, agent: str = "", code: str = "",
          error: str | None = None, skipped: list[str] | None = None, status: int = 200) -> Response:
    """The run `run_id` (default: the newest) with its agents and flagged conversations."""
    service: Service = request.app.state.service
    runs = service.qa_runs.runs(RUNS)
    chosen = service.qa_runs.run(run_id) if run_id is not None else (runs[0] if runs else None)
    if run_id is not None and chosen is None:
        error, status = f"没有这次质检 · No inspection run {run_id}", 404
    context = dict(runs=runs, run=chosen, agent=agent, code=code, codes=[c.value for c in FindingCode],
                   error=error, skipped=skipped or [], max_bytes=service.limits.upload_max_bytes,
                   tz=team_timezone(service.settings.retrieval.timezone), qa=service.settings.qa,
                   agents=[], by_code={}, flagged=[], flagged_total=0)
    if chosen is not None:
        inspected = service.qa_runs.inspected(chosen.id)
        inspections = [i.inspection for i in inspected]
        flagged = [i for i in inspections if i.findings and (not agent or i.agent_id == agent)
                   and (not code or any(f.code == code for f in i.findings))]
        flagged.sort(key=lambda i: (i.scores.overall, i.id))
        context.update(agents=summarise(inspections, service.settings.qa),
                       by_code=Counter(f.code.value for i in inspections for f in i.findings),
                       flagged=flagged[:FLAGGED], flagged_total=len(flagged))
    return page(operator, "quality.html", "qa", TITLE, status, **context)


@router.post(CONSOLE_QA_UPLOAD.removeprefix("/console"))
def inspect_upload(request: Request, operator: PostDep, file: Annotated[UploadFile, File()],
                   skip_bad: Annotated[bool, Form()] = False) -> Response:
    """Inspect an uploaded JSONL of conversations (bad lines name their line and field; with
    `skip_bad` the rest is inspected and the skipped lines listed) and keep the run."""
    service: Service = request.app.state.service
    name = file.filename or "upload.jsonl"
    try:
        conversations, errors = parse_conversations(file.file.read(), name, skip_bad=skip_bad)
    except InputError as exc:
        return _page(request, operator, error=str(exc), status=422)
    checked = service.knowledge_base.exists
    inspections = service.inspector().inspect(conversations, check_facts=checked)
    run = service.qa_runs.add(name, conversations, inspections, checked, operator.id)
    if errors:
        return _page(request, operator, run.id, skipped=[str(e) for e in errors])
    return RedirectResponse(f"{operator.root}/console/qa?run={run.id}", status_code=303)


@router.get("/qa/{run_id}/conversations/{conversation_id:path}")
def inspected_conversation(request: Request, run_id: int, conversation_id: str, operator: OperatorDep) -> Response:
    service: Service = request.app.state.service
    found = service.qa_runs.inspected(run_id, conversation_id)
    if not found:
        return page(operator, "quality_conversation.html", "qa", TITLE, 404, inspected=None, run_id=run_id,
                    error=f"没有这段对话 · No conversation {conversation_id} in run {run_id}")
    item = found[0]
    by_turn: dict[int, list] = {}
    for finding in item.inspection.findings:
        by_turn.setdefault(finding.turn, []).append(finding)
    return page(operator, "quality_conversation.html", "qa", TITLE, inspected=item, run_id=run_id,
                by_turn=by_turn, error=None, tz=team_timezone(service.settings.retrieval.timezone))
