"""The knowledge page: documents and FAQ entries with search and filters (kind, category,
product, validity), upload, delete and reindex with job progress (through the knowledge
routes), and the FAQ entry editor, which writes entries to the service's own folder."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from cs_rag.ingest.generated import CACHE_FILE, added_wordings
from cs_rag.learning.stats import team_timezone
from cs_rag.service.console.actions import attempt, caller_of
from cs_rag.service.console.render import page
from cs_rag.service.console.signin import OperatorDep, PostDep
from cs_rag.service.gate import CONSOLE_UPLOAD
from cs_rag.service.jobs import JobKind
from cs_rag.service.routes.knowledge import delete_document, reindex, upload
from cs_rag.service.state import Service
from cs_rag.types import Chunk, FaqEntry

router = APIRouter(prefix="/console", include_in_schema=False)

PAGE = 100
VALIDITY = {"current": "有效 · Valid today", "expired": "已过期 · Expired", "future": "未生效 · Not yet valid"}


@dataclass(frozen=True)
class Row:
    """One document of the live index as the page lists it."""

    id: str
    kind: str
    title: str
    source: str
    chunks: int
    owned: bool
    category: str | None
    products: list[str]
    valid_from: dt.date | None
    valid_to: dt.date | None

    def validity(self, today: dt.date) -> str:
        if self.valid_to is not None and self.valid_to < today:
            return "expired"
        if self.valid_from is not None and self.valid_from > today:
            return "future"
        return "current"


def rows(service: Service) -> list[Row]:
    """Every document of the live index with its first chunk's metadata, in id order."""
    if not service.knowledge_base.exists:
        return []
    first: dict[str, Chunk] = {}
    for chunk in service.knowledge_base.content().chunks:
        first.setdefault(chunk.doc_id, chunk)
    found = []
    for doc_id, record in sorted(service.knowledge_base.index().manifest.documents.items()):
        chunk = first.get(doc_id)
        title = (chunk.question or " / ".join(chunk.heading_path[:1])) if chunk else ""
        found.append(Row(doc_id, record.kind.value, title or doc_id, record.source, record.chunks,
                         service.folder.owns(Path(record.file)), chunk.category if chunk else None,
                         list(chunk.products) if chunk else [], chunk.valid_from if chunk else None,
                         chunk.valid_to if chunk else None))
    return found


@router.get("/knowledge")
def knowledge(request: Request, operator: OperatorDep, job: str | None = None,
              q: Annotated[str, Query(max_length=200)] = "", kind: str = "", category: str = "",
              product: str = "", validity: str = "") -> Response:
    return _listing(request, operator, job, q, kind, category, product, validity)


def _listing(request: Request, operator, job: str | None = None, q: str = "", kind: str = "",
             category: str = "", product: str = "", validity: str = "", error: str | None = None,
             status: int = 200) -> Response:
    """The knowledge page, filtered; with `error` when a form failed."""
    service: Service = request.app.state.service
    today = dt.datetime.now(team_timezone(service.settings.retrieval.timezone)).date()
    everything = rows(service)
    shown = [r for r in everything
             if (not q or q.lower() in f"{r.id} {r.title}".lower()) and (not kind or r.kind == kind)
             and (not category or r.category == category) and (not product or product in r.products)
             and (not validity or r.validity(today) == validity)]
    return page(operator, "knowledge.html", "knowledge", "知识库 · Knowledge", status,
                rows=shown[:PAGE], total=len(shown), documents=len(everything), today=today,
                chosen={"q": q, "kind": kind, "category": category, "product": product, "validity": validity},
                kinds=sorted({r.kind for r in everything}),
                categories=sorted({r.category for r in everything if r.category}),
                products=sorted({p for r in everything for p in r.products}), validities=VALIDITY,
                job=service.jobs.get(job) if job else None, error=error,
                version=service.version(), max_bytes=service.limits.upload_max_bytes)


def _after(request: Request, operator, result: dict | None, error: str | None) -> Response:
    if error is not None:
        return _listing(request, operator, error=error, status=422)
    job = result.get("job", result) if result else None
    return RedirectResponse(operator.root + (f"/console/knowledge?job={job['id']}" if job else "/console/knowledge"),
                            status_code=303)


@router.post(CONSOLE_UPLOAD.removeprefix("/console"))
def upload_file(request: Request, operator: PostDep, file: Annotated[UploadFile, File()]) -> Response:
    service: Service = request.app.state.service
    result, error = attempt(lambda: upload(file, service, caller_of(operator)))
    return _after(request, operator, result, error)


@router.post("/knowledge/delete")
def delete(request: Request, operator: PostDep, doc_id: Annotated[str, Form(min_length=1, max_length=500)]) -> Response:
    service: Service = request.app.state.service
    result, error = attempt(lambda: delete_document(doc_id, service, caller_of(operator)))
    return _after(request, operator, result, error)


@router.post("/knowledge/reindex")
def reindex_all(request: Request, operator: PostDep) -> Response:
    service: Service = request.app.state.service
    result, error = attempt(lambda: reindex(service, caller_of(operator)))
    return _after(request, operator, result, error)


@router.get("/knowledge/entry")
def entry_editor(request: Request, operator: OperatorDep, id: Annotated[str, Query(max_length=200)] = "") -> Response:
    service: Service = request.app.state.service
    entry, note = None, None
    if id and service.knowledge_base.exists:
        chunk = next((c for c in service.knowledge_base.document_chunks(id) if c.question), None)
        row = next((r for r in rows(service) if r.id == id), None)
        if chunk is not None and row is not None:
            generated = added_wordings(service.knowledge_base.index_dir / CACHE_FILE)   # the model's, not the team's
            entry = FaqEntry(id=id, question=chunk.question, answer=chunk.text,
                             similar_questions=[t for t in chunk.match_texts
                                                if t != chunk.question and t not in generated],
                             category=chunk.category, products=chunk.products,
                             valid_from=chunk.valid_from, valid_to=chunk.valid_to)
            if not row.owned:
                note = f"此条目来自 {row.source}：请在该文件中修改后重建索引；在这里保存需要一个新的 ID。" \
                       f"This entry comes from {row.source}: edit it there, then reindex; saving it here needs an id of its own."
    return page(operator, "entry.html", "knowledge", "FAQ 条目 · FAQ entry", entry=entry,
                editing=bool(entry and note is None), notice=note)


@router.post("/knowledge/entry")
def save_entry(request: Request, operator: PostDep,
               id: Annotated[str, Form(min_length=1, max_length=200, pattern=r"^[\w\-.]+$")],
               question: Annotated[str, Form(min_length=1, max_length=2000)],
               answer: Annotated[str, Form(min_length=1, max_length=20000)],
               similar: Annotated[str, Form(max_length=20000)] = "",
               category: Annotated[str, Form(max_length=200)] = "",
               products: Annotated[str, Form(max_length=2000)] = "",
               valid_from: Annotated[str, Form(max_length=10)] = "",
               valid_to: Annotated[str, Form(max_length=10)] = "") -> Response:
    """Write an FAQ entry to the service's own knowledge (replacing it there when the service
    already keeps an entry with this id) and queue the ingest that applies it."""
    service: Service = request.app.state.service
    try:
        entry = FaqEntry(id=id, question=question.strip(), answer=answer.strip(), category=category.strip() or None,
                         similar_questions=[s.strip() for s in similar.splitlines() if s.strip()],
                         products=[p.strip() for p in products.split(",") if p.strip()],
                         valid_from=valid_from or None, valid_to=valid_to or None)
    except ValidationError as exc:
        return _listing(request, operator, error="; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                                                          for e in exc.errors()), status=422)
    known = service.knowledge_base.index().manifest.documents.get(id) if service.knowledge_base.exists else None
    undos = []
    if known is not None:
        if not service.folder.owns(Path(known.file)):
            return _listing(request, operator, status=409, error=f"{id} 来自 {known.source}，请换一个 ID · "
                             f"{id} comes from {known.source}: give the new entry an id of its own")
        undos.append(service.folder.remove_document(Path(known.file), id))
    undos.append(service.folder.add_faq(entry))

    def undo_all() -> None:
        for undo in reversed(undos):
            undo()
    job = service.jobs.submit(JobKind.EDIT, f"console: FAQ entry {id}", on_failure=undo_all)
    return RedirectResponse(f"{operator.root}/console/knowledge?job={job.id}&q={id}", status_code=303)
