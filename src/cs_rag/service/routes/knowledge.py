"""Knowledge admin: list, upload and delete documents, reindex, and the ingest jobs."""

from __future__ import annotations

import logging
import shutil
import uuid
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, HTTPException, Query, UploadFile
from fastapi.responses import Response

from cs_rag.errors import InputError
from cs_rag.guard import mask_pii
from cs_rag.ingest.documents import SUPPORTED_SUFFIXES
from cs_rag.ingest.sources import (
    DICTIONARY_FILES,
    JSONL_SUFFIXES,
    TABLE_SUFFIXES,
    collect_documents,
)
from cs_rag.service.deps import AdminDep, ServiceDep
from cs_rag.service.jobs import KEEP_FINISHED_DAYS, RECENT_JOBS, Job, JobKind, JobList
from cs_rag.service.responses import invalid, json_response
from cs_rag.service.schemas import (
    ADMIN_ERRORS,
    DeleteResult,
    DocumentInfo,
    DocumentList,
    UploadResult,
    error_responses,
)
from cs_rag.service.state import Service
from cs_rag.service.storage import upload_name
from cs_rag.types import Document

log = logging.getLogger("cs_rag.service")
router = APIRouter(prefix="/v1", tags=["knowledge"])


UPLOAD_SUFFIXES = frozenset(JSONL_SUFFIXES | TABLE_SUFFIXES | SUPPORTED_SUFFIXES)


# ---- knowledge admin --------------------------------------------------------------------

@router.get("/knowledge", response_model=DocumentList,
            responses=ADMIN_ERRORS)
def list_documents(service: ServiceDep, caller: AdminDep) -> Response:
    """The documents in the live index version."""
    service.require_index()
    index = service.knowledge_base.index()
    documents = [DocumentInfo(id=doc_id, kind=r.kind, source=r.source, chunks=r.chunks,
                              owned=service.folder.owns(Path(r.file)))
                 for doc_id, r in sorted(index.manifest.documents.items())]
    return json_response(DocumentList(index_version=service.version(), documents=documents))


@router.post("/knowledge", status_code=202, response_model=UploadResult,
             responses={**ADMIN_ERRORS, **error_responses(400, 409, 415)})
def upload(file: Annotated[UploadFile, File(description="an FAQ table (.jsonl/.csv/.xlsx), a "
                                            "passage set (.jsonl) or a document")],
           service: ServiceDep, caller: AdminDep) -> Response:
    """Add or replace knowledge. The file is stored under a name made from its own (only
    letters, digits, CJK, '_' and '-'; an upload with the same name replaces the earlier one);
    FAQ tables are stored as JSONL. The content is checked before anything is stored; the
    ingest runs in the background (see the job)."""
    stem, suffix = upload_name(file.filename)
    if suffix not in UPLOAD_SUFFIXES:
        raise HTTPException(415, f"file type {suffix or '(none)'!r} not accepted; expected one of "
                                 f"{', '.join(sorted(UPLOAD_SUFFIXES))}")
    if f"{stem}{suffix}".lower() in DICTIONARY_FILES:
        invalid(("body", "file"), "value_error", f"{stem}{suffix} is a dictionary file name, not knowledge")
    data = file.file.read(service.limits.upload_max_bytes + 1)
    if len(data) > service.limits.upload_max_bytes:
        raise HTTPException(413, f"the file is larger than {service.limits.upload_max_bytes} bytes")
    documents = _read_upload(service, data, stem, suffix)
    stored_suffix = ".jsonl" if suffix in TABLE_SUFFIXES else suffix
    target = service.folder.uploads / f"{stem}{stored_suffix}"
    if suffix in TABLE_SUFFIXES:
        data = "".join(d.faq.model_dump_json(exclude_none=True) + "\n" for d in documents).encode("utf-8")
    ids = [d.id for d in documents]
    _check_new_ids(service, ids, target)
    replaced = target.exists()
    undo = service.folder.put(target, data)
    job = service.jobs.submit(JobKind.UPLOAD, f"upload {target.name}", on_failure=undo)
    log.info("upload %s: %d documents, job %s", mask_pii(target.name), len(ids), job.id)
    return json_response(UploadResult(file=str(target.relative_to(service.folder.root)), documents=ids,
                              replaced=replaced, job=job), status=202)


def _read_upload(service: Service, data: bytes, stem: str, suffix: str) -> list[Document]:
    # read under its final name (a document's id is its file name) in a folder of its own
    scratch = service.data_dir / "incoming" / uuid.uuid4().hex / f"{stem}{suffix}"
    scratch.parent.mkdir(parents=True)
    scratch.write_bytes(data)
    try:
        documents = collect_documents([scratch]).documents
    except InputError as exc:
        invalid(("body", "file"), "value_error", str(exc).replace(exc.source, f"{stem}{suffix}", 1))
    finally:
        shutil.rmtree(scratch.parent, ignore_errors=True)
    if not documents:
        invalid(("body", "file"), "value_error", f"{stem}{suffix} holds no knowledge")
    return documents


def _check_new_ids(service: Service, ids: list[str], target: Path) -> None:
    """409 when an id is already used by a document from another file."""
    if not service.knowledge_base.exists:
        return
    known = service.knowledge_base.index().manifest.documents
    clashes = [f"{i} (in {known[i].source})" for i in ids
               if i in known and Path(known[i].file).resolve() != target.resolve()]
    if clashes:
        raise HTTPException(409, "document ids already used by other files: " + ", ".join(clashes[:10]))


@router.delete("/knowledge/{doc_id:path}", status_code=202,
               response_model=DeleteResult, responses={**ADMIN_ERRORS, **error_responses(404, 409)})
def delete_document(doc_id: str, service: ServiceDep, caller: AdminDep) -> Response:
    """Remove a document the service stores (an upload, or an FAQ entry saved from a review).
    Documents from the knowledge sources given at start are not the service's to delete (409):
    remove them there, then reindex."""
    service.require_index()
    record = service.knowledge_base.index().manifest.documents.get(doc_id)
    if record is None:
        raise HTTPException(404, f"no document {doc_id!r} in the live index")
    file = Path(record.file)
    if not service.folder.owns(file):
        raise HTTPException(409, f"{doc_id!r} comes from {record.source}, a knowledge source the "
                                 "service reads but does not own: remove it there, then reindex")
    undo = service.folder.remove_document(file, doc_id)
    job = service.jobs.submit(JobKind.DELETE, f"delete {doc_id}", on_failure=undo)
    return json_response(DeleteResult(document=doc_id, job=job), status=202)


@router.post("/knowledge/reindex", status_code=202, response_model=Job,
             responses=ADMIN_ERRORS)
def reindex(service: ServiceDep, caller: AdminDep) -> Response:
    """Re-ingest every knowledge path (picks up edits to the sources given at start)."""
    return json_response(service.jobs.submit(JobKind.REINDEX, "requested"), status=202)


@router.get("/jobs", response_model=JobList, responses=ADMIN_ERRORS)
def list_jobs(service: ServiceDep, caller: AdminDep,
              limit: Annotated[int, Query(ge=1, le=RECENT_JOBS)] = 20) -> Response:
    """The newest ingest jobs first."""
    return json_response(JobList(jobs=service.jobs.recent(limit)))


@router.get("/jobs/{job_id}", response_model=Job,
            responses={**ADMIN_ERRORS, **error_responses(404)})
def get_job(job_id: str, service: ServiceDep, caller: AdminDep) -> Response:
    job = service.jobs.get(job_id)
    if job is None:
        raise HTTPException(404, f"no job {job_id!r} (finished jobs are kept {KEEP_FINISHED_DAYS} days)")
    return json_response(job)


