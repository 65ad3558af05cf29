"""The HTTP service: answers (JSON or server-sent events), OpenAI-compatible chat, search,
reply suggestions, server-side sessions, the review queue and knowledge admin.

`create_app(index_dir, knowledge)` builds the FastAPI app; `serve(...)` (`cs-rag serve`) runs it
with uvicorn on 127.0.0.1 by default. The request and response bodies are cs_rag's pydantic
models; `/openapi.json` describes every route.

Keys come from the environment only: CS_RAG_API_KEYS (clients) and CS_RAG_ADMIN_KEYS (admins),
comma-separated, sent as `Authorization: Bearer KEY`. Client routes (answer, chat, search,
suggest) take a client or an admin key, and are open when no client key is configured. Admin
routes (reviews, knowledge, jobs) take an admin key only and are never open: a missing or
unknown key is 401, a client key 403. `/healthz` and `/metrics` need no key.

Knowledge: the index is always ingested from the same list of paths, the `knowledge` sources
given at start plus the service's own folder `<data_dir>/knowledge` (uploads, and FAQ entries
saved from reviews), because an ingest removes documents whose file disappeared from the
paths it is given. Ingests run one at a time on a worker thread; searches keep using the live
index version until the new one is switched in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import logging
import math
import os
import queue
import re
import shutil
import threading
import time
import traceback
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn

from fastapi import APIRouter, Depends, FastAPI, File, HTTPException, Query, Request, UploadFile
from fastapi import Path as FastApiPath
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.routing import Match
from pydantic import BaseModel, ConfigDict, Field

from cs_rag import __version__
from cs_rag.config import ServiceSettings, Settings
from cs_rag.errors import CsRagError, IndexStoreError, InputError
from cs_rag.answering.extractive import extract_answer
from cs_rag.guard import mask_pii
from cs_rag.index.base import SearchFilter
from cs_rag.ops.insights import log_record
from cs_rag.ingest.documents import SUPPORTED_SUFFIXES
from cs_rag.ingest.sources import DICTIONARY_FILES, JSONL_SUFFIXES, TABLE_SUFFIXES, collect_documents
from cs_rag.knowledge_base import KnowledgeBase, Progress
from cs_rag.answering.assistant import MAX_QUESTION_CHARS, Assistant
from cs_rag.retrieval.hybrid import distinct_documents
from cs_rag.service.reviews import Review, ReviewConflict, ReviewStatus, ReviewStore, SavedAs
from cs_rag.answering.rewrite import rewrite_followup
from cs_rag.service.sessions import Database, Session, SessionStore
from cs_rag.types import (Answer, Citation, Customer, Document, DocumentKind, FaqEntry, Flag, FlagKind, Hit,
                    IngestReport, Outcome, Routing, Turn)

log = logging.getLogger("cs_rag.server")

API_KEYS_ENV = "CS_RAG_API_KEYS"
ADMIN_KEYS_ENV = "CS_RAG_ADMIN_KEYS"
REVIEWED_FAQ = "reviewed_faq.jsonl"
UPLOAD_SUFFIXES = frozenset(JSONL_SUFFIXES | TABLE_SUFFIXES | SUPPORTED_SUFFIXES)
MULTIPART_OVERHEAD = 64 * 1024      # allowed on top of upload_max_bytes for the form around the file
MODEL_NAME = "cs-rag"
RECENT_JOBS = 200
_SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
_UNSAFE_NAME = re.compile(r"[^0-9A-Za-z_\-\u3400-\u9fff]+")


# ---- API models -----------------------------------------------------------------------------

_QuestionText = Annotated[str, Field(min_length=1, max_length=MAX_QUESTION_CHARS, pattern=r"\S")]


class _Scoped(BaseModel):
    """Filters a request may carry, each one name or a list: `category` keeps hits of those
    categories; `product` (e.g. the product page the chat was opened from) keeps hits about
    those products or about no product in particular. Blank names are ignored, so a client that
    sends "" when it has no product keeps every entry."""

    category: str | list[str] | None = None
    product: str | list[str] | None = None

    def search_filter(self) -> SearchFilter | None:
        categories, products = _names(self.category), _names(self.product)
        if not categories and not products:
            return None
        return SearchFilter(categories=categories or None, products=products or None)


def _names(value: str | list[str] | None) -> set[str]:
    values = [value] if isinstance(value, str) else value or []
    return {v.strip() for v in values if v.strip()}


class AnswerRequest(_Scoped):
    """A customer's question; `session_id` continues a conversation kept by the service."""

    model_config = ConfigDict(extra="forbid")

    question: _QuestionText
    session_id: str | None = Field(default=None, max_length=64)
    customer: Customer | None = None   # replaces what the session knew of the customer
    stream: bool = False               # server-sent events: `delta` pieces, then `answer`


class AnswerResponse(Answer):
    """The Answer, field for field as `cs-rag ask --json` prints it, plus the session."""

    session_id: str
    new_session: bool                  # this question started a session
    expired_session: str | None = None  # the session asked for, if it had ended or is unknown
    review_id: int | None = None       # set when the answer was queued for review


class SearchRequest(_Scoped):
    model_config = ConfigDict(extra="forbid")

    query: _QuestionText
    k: int = Field(default=10, ge=1, le=50)


class SearchResponse(BaseModel):
    query: str
    hits: list[Hit]


class SuggestRequest(_Scoped):
    """The customer's last message: `question`, or the last user turn of `session_id`'s
    history or of `messages`; the turns before it are the history."""

    model_config = ConfigDict(extra="forbid")

    question: _QuestionText | None = None
    session_id: str | None = Field(default=None, max_length=64)
    messages: list[Turn] | None = None
    k: int = Field(default=3, ge=1, le=5)


class Suggestion(BaseModel):
    """A reply a human agent may send: an FAQ answer verbatim, or sentences from a passage."""

    text: str
    citation: Citation
    confidence: float | None = None


class SuggestResponse(BaseModel):
    question: str                     # the customer's message, personal data masked
    search_query: str                 # what was searched (the follow-up rewritten, if it was)
    suggestions: list[Suggestion]
    flags: list[Flag]                 # what the guard found in the customer's message
    suggested_script: str | None = None


class ChatContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[ChatContentPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(p.text or "" for p in self.content if p.type == "text")
        return self.content or ""


class ChatCompletionRequest(_Scoped):
    """OpenAI chat completions: the last message (a user's) is the question, earlier user and
    assistant messages the history. Sampling parameters are accepted and ignored; `category`
    and `product` (cs_rag's own, like `customer`) filter what is searched."""

    model_config = ConfigDict(extra="allow")

    model: str | None = None
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    customer: Customer | None = None   # cs_rag's own field (openai client: extra_body)


class ChatChoiceMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class ChatChoice(BaseModel):
    index: int = 0
    message: ChatChoiceMessage
    finish_reason: str = "stop"
    logprobs: None = None


class ChatCompletion(BaseModel):
    """An OpenAI chat completion; `cs_rag` holds the Answer's other fields (citations, flags,
    outcome, routing, ...)."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[ChatChoice]
    cs_rag: dict[str, Any]


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = "cs_rag"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class ReviewAction(str, Enum):
    APPROVE = "approve"
    EDIT = "edit"
    REJECT = "reject"


class ReviewDecision(BaseModel):
    """A reviewer's decision. `edit` needs `text`. An approved or edited answer may be saved:
    `faq_answer` writes a new FAQ entry (`question`, default the standalone question, with the
    final text); `similar_question` writes the customer's question as a new phrasing of the FAQ
    entry `faq_id` (default: the first FAQ entry the answer cites), answered as that entry is."""

    model_config = ConfigDict(extra="forbid")

    action: ReviewAction
    text: str | None = Field(default=None, min_length=1, max_length=20000)
    note: str | None = Field(default=None, max_length=2000)
    save_as: SavedAs | None = None
    question: str | None = Field(default=None, min_length=1, max_length=MAX_QUESTION_CHARS)
    faq_id: str | None = Field(default=None, min_length=1, max_length=200)
    category: str | None = Field(default=None, max_length=200)


class JobKind(str, Enum):
    BUILD = "build"        # the first ingest, when the service starts without an index
    REINDEX = "reindex"
    UPLOAD = "upload"
    DELETE = "delete"
    REVIEW = "review"      # an FAQ entry saved from a review


class JobStatus(str, Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class JobProgress(BaseModel):
    embedded: int
    to_embed: int


class Job(BaseModel):
    """One background ingest of every knowledge path; `report` when done, `error` when failed
    (the change that queued it is then undone, unless the file changed again since)."""

    id: str
    kind: JobKind
    detail: str = ""
    status: JobStatus = JobStatus.QUEUED
    created: dt.datetime
    started: dt.datetime | None = None
    finished: dt.datetime | None = None
    progress: JobProgress | None = None
    report: IngestReport | None = None
    error: str | None = None


class JobList(BaseModel):
    jobs: list[Job]


class ReviewList(BaseModel):
    total: int
    reviews: list[Review]


class ReviewResult(BaseModel):
    review: Review
    job: Job | None = None    # the ingest that adds a saved FAQ entry to the index


class UploadResult(BaseModel):
    file: str                 # where it is stored, relative to the service's knowledge folder
    documents: list[str]      # the document ids it holds
    replaced: bool            # an earlier upload with the same name was replaced
    job: Job


class DeleteResult(BaseModel):
    document: str
    job: Job


class DocumentInfo(BaseModel):
    id: str
    kind: DocumentKind
    source: str
    chunks: int
    owned: bool               # stored by the service (uploads, reviews), so DELETE can remove it


class DocumentList(BaseModel):
    index_version: str
    documents: list[DocumentInfo]


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    ready: bool               # the index is live and the models are loaded
    index_version: str | None = None
    documents: int | None = None
    chunks: int | None = None
    jobs: dict[str, int]


class ErrorBody(BaseModel):
    detail: str | list[dict[str, Any]]


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    text = {400: "the body is not valid JSON or multipart", 401: "missing or unknown key", 403: "an admin key is required", 404: "not found",
            409: "conflicts with the current state", 413: "request body too large",
            415: "file type not accepted", 429: "rate limited; see Retry-After",
            503: "the index is not built yet; see Retry-After"}
    return {code: {"model": ErrorBody, "description": text[code]} for code in codes}


_CLIENT_ERRORS = _errors(400, 401, 413, 429, 503)
_ADMIN_ERRORS = _errors(401, 403, 413, 429)
_ID = Annotated[int, FastApiPath(ge=1, le=2**63 - 1)]   # SQLite's INTEGER range


def _event_stream(description: str, events: list[str] | None) -> dict[str, Any]:
    """The OpenAPI 3.1 description of a server-sent event stream: `schema` is one event."""
    event: dict[str, Any] = {"type": "string", "enum": events} if events else {"type": "string"}
    properties = {"data": {"type": "string"}, **({"event": event} if events else {})}
    return {"text/event-stream": {"schema": {"type": "object", "properties": properties,
                                             "required": ["data"], "description": description}}}


# ---- keys, rate limits, metrics -------------------------------------------------------------

class ApiKeys:
    """Client and admin keys. A presented key is compared with every configured key in
    constant time (on SHA-256 digests, so not even its length leaks)."""

    def __init__(self, client: Sequence[str] = (), admin: Sequence[str] = ()) -> None:
        self._digests = [(_digest(k), "admin") for k in admin] + [(_digest(k), "client") for k in client]
        self.client_configured = bool(client)
        self.admin_configured = bool(admin)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> "ApiKeys":
        environ = os.environ if environ is None else environ
        return cls(_split_keys(environ.get(API_KEYS_ENV, "")), _split_keys(environ.get(ADMIN_KEYS_ENV, "")))

    def role(self, presented: str) -> str | None:
        """"admin", "client" or None for an unknown key."""
        digest = _digest(presented)
        found = None
        for known, role in self._digests:
            if hmac.compare_digest(digest, known) and found is None:
                found = role
        return found


def _split_keys(value: str) -> list[str]:
    return [k.strip() for k in value.split(",") if k.strip()]


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


def key_fingerprint(key: str) -> str:
    """What logs and review records show of a key."""
    return "key:" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]


@dataclass(frozen=True)
class Caller:
    role: str    # "admin", "client", or "anonymous" on open client routes
    id: str      # a key fingerprint, or "addr:<client address>" when anonymous


class TokenBuckets:
    """A token bucket per caller: `burst` requests at once, refilled at `per_minute`.
    `per_minute` 0 turns limiting off. Thread-safe."""

    MAX_BUCKETS = 10000

    def __init__(self, per_minute: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = per_minute / 60.0
        self.burst = burst
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}   # caller -> (tokens, updated)
        self._lock = threading.Lock()

    def take(self, caller: str) -> float:
        """0 if the request may proceed, else the seconds until it may."""
        if self.rate <= 0:
            return 0.0
        now = self._clock()
        with self._lock:
            tokens, updated = self._buckets.get(caller, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - updated) * self.rate)
            if tokens >= 1.0:
                self._buckets[caller] = (tokens - 1.0, now)
                if len(self._buckets) > self.MAX_BUCKETS:
                    self._forget_full(now)
                return 0.0
            self._buckets[caller] = (tokens, now)
            return (1.0 - tokens) / self.rate

    def _forget_full(self, now: float) -> None:
        # a bucket that has refilled completely behaves exactly like a new one
        full = [c for c, (t, u) in self._buckets.items() if t + (now - u) * self.rate >= self.burst]
        for caller in full:
            del self._buckets[caller]


class Metrics:
    """Counters and a latency histogram, rendered in the Prometheus text format. Thread-safe."""

    BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: dict[tuple[str, str, str], int] = {}
        self._latency: dict[str, list[float]] = {}   # route -> bucket counts, then sum, count
        self._answers: dict[tuple[str, str], int] = {}
        self._flags: dict[str, int] = {}
        self._jobs: dict[str, int] = {}

    def request(self, route: str, method: str, status: int, seconds: float) -> None:
        with self._lock:
            key = (route, method, str(status))
            self._requests[key] = self._requests.get(key, 0) + 1
            counts = self._latency.setdefault(route, [0.0] * (len(self.BUCKETS) + 2))
            for i, bound in enumerate(self.BUCKETS):
                if seconds <= bound:
                    counts[i] += 1
            counts[-2] += seconds
            counts[-1] += 1

    def answer(self, answer: Answer) -> None:
        with self._lock:
            key = (answer.outcome.value, answer.routing.value)
            self._answers[key] = self._answers.get(key, 0) + 1
            for flag in answer.flags:
                self._flags[flag.kind.value] = self._flags.get(flag.kind.value, 0) + 1

    def job(self, status: JobStatus) -> None:
        with self._lock:
            self._jobs[status.value] = self._jobs.get(status.value, 0) + 1

    def render(self, gauges: Mapping[str, tuple[str, float]]) -> str:
        """The exposition text; `gauges` maps a metric name to (help, value)."""
        out: list[str] = []
        with self._lock:
            _family(out, "cs_rag_http_requests_total", "counter", "HTTP requests by route, method and status.",
                    [({"route": r, "method": m, "status": s}, v) for (r, m, s), v in sorted(self._requests.items())])
            out += ["# HELP cs_rag_http_request_duration_seconds Time from request to the last byte "
                    "of the response, by route.",
                    "# TYPE cs_rag_http_request_duration_seconds histogram"]
            for route, counts in sorted(self._latency.items()):
                for bound, count in zip(self.BUCKETS, counts):
                    out.append(_sample("cs_rag_http_request_duration_seconds_bucket",
                                       {"route": route, "le": repr(bound)}, count))
                out.append(_sample("cs_rag_http_request_duration_seconds_bucket",
                                   {"route": route, "le": "+Inf"}, counts[-1]))
                out.append(_sample("cs_rag_http_request_duration_seconds_sum", {"route": route}, counts[-2]))
                out.append(_sample("cs_rag_http_request_duration_seconds_count", {"route": route}, counts[-1]))
            _family(out, "cs_rag_answers_total", "counter", "Answers by outcome and routing.",
                    [({"outcome": o, "routing": r}, v) for (o, r), v in sorted(self._answers.items())])
            _family(out, "cs_rag_flags_total", "counter", "Flags raised on answers, by kind.",
                    [({"kind": k}, v) for k, v in sorted(self._flags.items())])
            _family(out, "cs_rag_ingest_jobs_total", "counter", "Finished ingest jobs by status.",
                    [({"status": s}, v) for s, v in sorted(self._jobs.items())])
        for name, (help_text, value) in gauges.items():
            _family(out, name, "gauge", help_text, [({}, value)])
        return "\n".join(out) + "\n"


def _family(out: list[str], name: str, kind: str, help_text: str,
            samples: list[tuple[dict[str, str], float]]) -> None:
    out += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    out += [_sample(name, labels, value) for labels, value in samples]


def _sample(name: str, labels: dict[str, str], value: float) -> str:
    def escape(v: str) -> str:
        return v.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n")
    label_text = ",".join(f'{k}="{escape(v)}"' for k, v in labels.items())
    number = repr(float(value)) if not float(value).is_integer() else str(int(value))
    return f"{name}{{{label_text}}} {number}" if label_text else f"{name} {number}"


# ---- background ingest ----------------------------------------------------------------------

Undo = Callable[[], None]


class JobRunner:
    """Runs ingest jobs one at a time, in submission order, on one worker thread. A job that
    fails runs its `on_failure` undo; after one is done, `after` runs. Remembers the newest
    RECENT_JOBS jobs. Thread-safe."""

    def __init__(self, ingest: Callable[[Progress], IngestReport], metrics: Metrics,
                 after: Callable[[], None]) -> None:
        self._ingest = ingest
        self._after = after
        self._metrics = metrics
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()
        self._queue: queue.Queue[tuple[Job, Undo | None] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._work, name="cs-rag-ingest", daemon=True)
        self._thread.start()

    def submit(self, kind: JobKind, detail: str = "", *, on_failure: Undo | None = None) -> Job:
        job = Job(id=uuid.uuid4().hex, kind=kind, detail=detail, created=_now())
        with self._lock:
            self._jobs[job.id] = job
            while len(self._jobs) > RECENT_JOBS:
                oldest = next(iter(self._jobs))
                if self._jobs[oldest].status in (JobStatus.QUEUED, JobStatus.RUNNING):
                    break
                del self._jobs[oldest]
            snapshot = job.model_copy(deep=True)
        self._queue.put((job, on_failure))
        return snapshot

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            job = self._jobs.get(job_id)
            return job.model_copy(deep=True) if job else None

    def recent(self, limit: int) -> list[Job]:
        with self._lock:
            return [j.model_copy(deep=True) for j in reversed(self._jobs.values())][:limit]

    def counts(self) -> dict[str, int]:
        with self._lock:
            counts = {s.value: 0 for s in (JobStatus.QUEUED, JobStatus.RUNNING)}
            for job in self._jobs.values():
                if job.status.value in counts:
                    counts[job.status.value] += 1
            return counts

    def close(self, timeout: float = 5.0) -> None:
        """Stop after the running job (queued ones are dropped: their files are on disk, and
        the next ingest picks them up)."""
        self._queue.put(None)
        self._thread.join(timeout)

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            self._run(*item)

    def _run(self, job: Job, on_failure: Undo | None) -> None:
        with self._lock:
            job.status, job.started = JobStatus.RUNNING, _now()

        def progress(done: int, total: int) -> None:
            with self._lock:
                job.progress = JobProgress(embedded=done, to_embed=total)

        try:
            report = self._ingest(progress)
        except Exception as exc:  # noqa: BLE001 - a failed job is reported, the worker goes on
            error = f"{type(exc).__name__}: {exc}"
            if on_failure is not None:
                try:
                    on_failure()
                    error += " (the change was undone)"
                except Exception as undo_exc:  # noqa: BLE001
                    error += f" (undoing the change failed: {undo_exc})"
            log.warning("ingest job %s (%s) failed: %s", job.id, job.kind.value, mask_pii(error))
            with self._lock:
                job.status, job.error, job.finished = JobStatus.FAILED, error, _now()
            self._metrics.job(JobStatus.FAILED)
            return
        with self._lock:
            job.status, job.report, job.finished = JobStatus.DONE, report, _now()
        self._metrics.job(JobStatus.DONE)
        log.info("ingest job %s (%s) done: %s", job.id, job.kind.value, report.summary())
        self._after()


class KnowledgeFolder:
    """The service's own knowledge, ingested together with the configured sources: uploaded
    files under `uploads/` and FAQ entries saved from reviews in REVIEWED_FAQ (which always
    exists, so the folder is never empty of knowledge files). Writes are atomic (a dot-named
    temporary file, which ingest skips, then a rename). Every change returns an undo that
    restores the file as it was, unless it has changed again since. Thread-safe."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.uploads = root / "uploads"
        self.reviewed = root / REVIEWED_FAQ
        self.uploads.mkdir(parents=True, exist_ok=True)
        if not self.reviewed.exists():
            self.reviewed.write_bytes(b"")
        self._lock = threading.Lock()

    def owns(self, file: Path) -> bool:
        return self.root.resolve() in file.resolve().parents

    def put(self, path: Path, data: bytes) -> Undo:
        return self._edit(path, lambda _old: data)

    def add_faq(self, entry: FaqEntry) -> Undo:
        line = (entry.model_dump_json(exclude_none=True) + "\n").encode("utf-8")
        return self._edit(self.reviewed, lambda old: (old or b"") + line)

    def remove_document(self, file: Path, doc_id: str) -> Undo:
        """Remove one document: its line from a JSONL file (the file itself once empty, except
        REVIEWED_FAQ), or the whole file for any other format (one document per file)."""
        def change(old: bytes | None) -> bytes | None:
            if file.suffix.lower() not in JSONL_SUFFIXES or old is None:
                return None
            kept = [line for line in old.decode("utf-8-sig").splitlines(keepends=True)
                    if line.strip() and _record_id(line) != doc_id]
            if not kept and file.resolve() != self.reviewed.resolve():
                return None
            return "".join(kept).encode("utf-8")
        return self._edit(file, change)

    def _edit(self, path: Path, change: Callable[[bytes | None], bytes | None]) -> Undo:
        with self._lock:
            before = path.read_bytes() if path.exists() else None
            after = change(before)
            _write(path, after)

        def undo() -> None:
            with self._lock:
                now = path.read_bytes() if path.exists() else None
                if now == after:
                    _write(path, before)
        return undo


def _record_id(line: str) -> str | None:
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return None
    return record.get("id") if isinstance(record, dict) else None


def _write(path: Path, data: bytes | None) -> None:
    if data is None:
        path.unlink(missing_ok=True)
        return
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def upload_name(filename: str | None) -> tuple[str, str]:
    """(stem, lower-case suffix) to store an upload under: only the last path component of
    `filename` is used, and of its stem only letters, digits, CJK characters, '_' and '-'
    (anything else becomes '_'), so no name can leave the uploads folder."""
    base = re.split(r"[\\/]", filename or "")[-1]
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    clean = _UNSAFE_NAME.sub("_", stem).strip("_-")[:64] or "upload"
    return clean, ("." + suffix.lower()) if dot else ""


# ---- the service ----------------------------------------------------------------------------

class Service:
    """Everything the routes share: the knowledge base and assistant, stores, keys, limits,
    metrics and the ingest worker."""

    def __init__(self, index_dir: Path, knowledge: Sequence[Path], settings: Settings,
                 data_dir: Path, keys: ApiKeys, assistant: Assistant | None) -> None:
        self.settings = settings
        self.limits: ServiceSettings = settings.service
        self.data_dir = data_dir
        self.keys = keys
        for path in knowledge:
            if not path.exists():
                raise InputError(str(path), "no such file or directory (a --knowledge source)")
        self.sources = [p.resolve() for p in knowledge]
        self.folder = KnowledgeFolder(data_dir / "knowledge")
        self.knowledge_base = assistant.knowledge_base if assistant else KnowledgeBase(index_dir, settings)
        self.assistant = assistant or Assistant(self.knowledge_base)
        database = Database(data_dir / "service.db")
        self.database = database
        self.sessions = SessionStore(database, self.limits.session_ttl_minutes * 60)
        self.reviews = ReviewStore(database)
        self.buckets = TokenBuckets(self.limits.rate_limit_per_minute, self.limits.rate_limit_burst)
        self.metrics = Metrics()
        self.question_log = data_dir / "questions"   # one JSONL a day, for cs-rag report/hotwords/gaps
        self._log_lock = threading.Lock()
        self.jobs = JobRunner(self._ingest, self.metrics, after=self._ingested)
        self.warm = threading.Event()
        if self.knowledge_base.exists:
            threading.Thread(target=self._warm_up, name="cs-rag-warm-up", daemon=True).start()
        else:
            self.jobs.submit(JobKind.BUILD, "the index did not exist at start")

    def knowledge_paths(self) -> list[Path]:
        """What every ingest is given: the sources, then the service's own folder."""
        return [*self.sources, self.folder.root.resolve()]

    def _ingest(self, progress: Progress) -> IngestReport:
        return self.knowledge_base.ingest(self.knowledge_paths(), progress=progress)

    def _ingested(self) -> None:
        if not self.warm.is_set():   # the first index this service has
            self._warm_up()

    def _warm_up(self) -> None:
        """Load the models before the first customer waits for them."""
        try:
            self.assistant.answer("你好")
        except CsRagError as exc:
            log.warning("warm-up failed: %s", mask_pii(str(exc)))
        self.warm.set()

    # ---- per request ------------------------------------------------------------------

    def authorize(self, credentials: HTTPAuthorizationCredentials | None, request: Request,
                  admin: bool) -> Caller:
        presented = credentials.credentials if credentials else None
        role = self.keys.role(presented) if presented else None
        if role is not None and (role == "admin" or not admin):
            caller = Caller(role, key_fingerprint(presented))
        elif admin and role == "client":
            raise HTTPException(403, "this route needs an admin key")
        elif admin:
            why = "an admin key is required" if self.keys.admin_configured else \
                f"admin routes are closed: {ADMIN_KEYS_ENV} is not set"
            raise HTTPException(401, why, headers={"WWW-Authenticate": "Bearer"})
        elif presented is None and not self.keys.client_configured:
            caller = Caller("anonymous", f"addr:{request.client.host if request.client else '-'}")
        else:
            raise HTTPException(401, "a valid key is required (Authorization: Bearer KEY)",
                                headers={"WWW-Authenticate": "Bearer"})
        wait = self.buckets.take(caller.id)
        if wait > 0:
            raise HTTPException(429, "too many requests", headers={"Retry-After": str(math.ceil(wait))})
        request.state.caller = caller.id
        return caller

    def require_index(self) -> None:
        if not self.knowledge_base.exists:
            raise HTTPException(503, "the index is being built; see /v1/jobs and /healthz",
                                headers={"Retry-After": "5"})

    def check_question(self, text: str, loc: tuple) -> None:
        """422 naming `loc` for a blank question or one over `max_question_chars`."""
        limit = self.limits.max_question_chars
        if not text.strip():
            _invalid(loc, "value_error", "the question is empty")
        if len(text) > limit:
            _invalid(loc, "string_too_long", f"String should have at most {limit} characters",
                     {"max_length": limit})

    def finish_turn(self, session: Session, answer: Answer) -> AnswerResponse:
        """Record an answered turn: session history, review queue, metrics, log."""
        self.sessions.append(session.id, [Turn(role="user", content=answer.question),
                                          Turn(role="assistant", content=answer.text)])
        review_id = None
        if answer.routing is Routing.REVIEW:
            review_id = self.reviews.add(answer, session.id, session.history, session.customer)
        self.record(answer, session.id)
        return AnswerResponse(**dict(answer), session_id=session.id, new_session=session.new,
                              expired_session=session.expired, review_id=review_id)

    def record(self, answer: Answer, session_id: str | None) -> None:
        """Metrics, a masked log line, and a question-log record (the question is already
        masked by the pipeline)."""
        self.metrics.answer(answer)
        record = log_record(answer, latency_ms=answer.trace.get("timings_ms", {}).get("total"))
        with self._log_lock:
            self.question_log.mkdir(parents=True, exist_ok=True)
            with open(self.question_log / f"{record['ts'][:10]}.jsonl", "a", encoding="utf-8") as fh:
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        log.info("answer session=%s outcome=%s routing=%s flags=%s question=%s",
                 (session_id or "-")[:8], answer.outcome.value, answer.routing.value,
                 ",".join(f.kind.value for f in answer.flags) or "-",
                 json.dumps(mask_pii(answer.question)[:200], ensure_ascii=False))

    def gauges(self) -> dict[str, tuple[str, float]]:
        jobs = self.jobs.counts()
        return {"cs_rag_sessions_live": ("Sessions with a turn within the TTL.", self.sessions.count()),
                "cs_rag_reviews_pending": ("Answers waiting for review.", self.reviews.pending()),
                "cs_rag_ingest_jobs_queued": ("Ingest jobs waiting.", jobs["queued"]),
                "cs_rag_ingest_jobs_running": ("Ingest jobs running.", jobs["running"]),
                "cs_rag_ready": ("1 when the index is live and the models are loaded.",
                                 1 if self.ready else 0)}

    def version(self) -> str | None:
        """The live index version's folder name."""
        return self.knowledge_base.version()

    @property
    def ready(self) -> bool:
        return self.warm.is_set() and self.knowledge_base.exists

    def close(self) -> None:
        self.jobs.close()
        self.database.close()


def _invalid(loc: tuple, kind: str, message: str, ctx: dict | None = None) -> NoReturn:
    error: dict[str, Any] = {"type": kind, "loc": loc, "msg": message}
    if ctx:
        error["ctx"] = ctx
    raise RequestValidationError([error])


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _json(model: BaseModel, status: int = 200) -> Response:
    return Response(model.model_dump_json(), status_code=status, media_type="application/json")


def _sse(event: str | None, data: str) -> str:
    return (f"event: {event}\n" if event else "") + f"data: {data}\n\n"


# ---- routes ---------------------------------------------------------------------------------

_bearer = HTTPBearer(auto_error=False, description=f"Client keys from {API_KEYS_ENV}, admin keys "
                     f"from {ADMIN_KEYS_ENV} (comma-separated environment variables).")


def _service(request: Request) -> Service:
    return request.app.state.service


def _client(request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None,
                                                     Depends(_bearer)]) -> Caller:
    return _service(request).authorize(credentials, request, admin=False)


def _admin(request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None,
                                                    Depends(_bearer)]) -> Caller:
    return _service(request).authorize(credentials, request, admin=True)


ServiceDep = Annotated[Service, Depends(_service)]
ClientDep = Annotated[Caller, Depends(_client)]
AdminDep = Annotated[Caller, Depends(_admin)]
router = APIRouter()


@router.post("/v1/answer", tags=["answer"], response_model=AnswerResponse,
             responses={**_CLIENT_ERRORS, 200: {"content": _event_stream(
                 "with stream=true: `delta` events ({\"text\"}) as the answer is written, then "
                 "one `answer` event (the AnswerResponse), or `error` ({\"detail\"})",
                 ["delta", "answer", "error"])}})
def answer(body: AnswerRequest, service: ServiceDep, caller: ClientDep) -> Response:
    """Answer a customer's question within a session kept by the service.

    Without `session_id` (or with one that has ended) a new session starts: `new_session` is
    true and `expired_session` names the session that could not be continued. Each answer
    appends the user and assistant turns. Answers routed to `review` are queued
    (`review_id`)."""
    service.require_index()
    service.check_question(body.question, ("body", "question"))
    session = service.sessions.open(body.session_id, service.settings.answer.history_turns, body.customer)
    if body.stream:
        return StreamingResponse(_answer_events(service, body.question, session, body.search_filter()),
                                 media_type="text/event-stream", headers=_SSE_HEADERS)
    result = service.assistant.answer(body.question, session.history, session.customer, body.search_filter())
    return _json(service.finish_turn(session, result))


def _answer_events(service: Service, question: str, session: Session,
                   where: SearchFilter | None) -> Iterator[str]:
    try:
        for item in service.assistant.stream(question, session.history, session.customer, where):
            if isinstance(item, Answer):
                yield _sse("answer", service.finish_turn(session, item).model_dump_json())
                return
            yield _sse("delta", json.dumps({"text": item}, ensure_ascii=False))
    except Exception as exc:  # noqa: BLE001 - the stream has started: report the error in it
        _log_exception(exc)
        yield _sse("error", json.dumps({"detail": "the answer failed; see the service log"}))


@router.post("/v1/chat/completions", tags=["answer"], response_model=ChatCompletion,
             responses={**_CLIENT_ERRORS, 200: {"content": _event_stream(
                 "with stream=true: OpenAI chat.completion.chunk objects; the last one carries "
                 "`cs_rag`; then `[DONE]`", None)}})
def chat_completions(body: ChatCompletionRequest, service: ServiceDep, caller: ClientDep) -> Response:
    """OpenAI-compatible chat completions over the same pipeline (stateless: the history is
    the messages). The answer is `choices[0].message.content`; citations, flags, outcome,
    routing and the rest of the Answer are in the extra top-level field `cs_rag`."""
    service.require_index()
    last = len(body.messages) - 1
    if body.messages[last].role != "user":
        _invalid(("body", "messages", last, "role"), "value_error",
                 "the last message must be the user's question")
    question = body.messages[last].text()
    service.check_question(question, ("body", "messages", last, "content"))
    history = [Turn(role=m.role, content=m.text()) for m in body.messages[:last]
               if m.role in ("user", "assistant") and m.text().strip()]
    model = body.model or MODEL_NAME
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    if body.stream:
        return StreamingResponse(_chat_events(service, question, history, body.customer, model,
                                              completion_id, body.search_filter()),
                                 media_type="text/event-stream", headers=_SSE_HEADERS)
    result = service.assistant.answer(question, history, body.customer, body.search_filter())
    service.record(result, None)
    completion = ChatCompletion(id=completion_id, created=int(time.time()), model=model,
                                choices=[ChatChoice(message=ChatChoiceMessage(content=result.text))],
                                cs_rag=_cs_rag_field(result))
    return _json(completion)


def _chat_events(service: Service, question: str, history: list[Turn], customer: Customer | None,
                 model: str, completion_id: str, where: SearchFilter | None) -> Iterator[str]:
    created = int(time.time())

    def chunk(delta: dict, finish: str | None = None, **extra: Any) -> str:
        payload = {"id": completion_id, "object": "chat.completion.chunk", "created": created,
                   "model": model, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                   **extra}
        return _sse(None, json.dumps(payload, ensure_ascii=False))

    try:
        yield chunk({"role": "assistant", "content": ""})
        for item in service.assistant.stream(question, history, customer, where):
            if isinstance(item, Answer):
                service.record(item, None)
                yield chunk({}, "stop", cs_rag=_cs_rag_field(item))
                break
            yield chunk({"content": item})
    except Exception as exc:  # noqa: BLE001 - the stream has started: report the error in it
        _log_exception(exc)
        yield _sse(None, json.dumps({"error": {"message": "the answer failed; see the service log",
                                               "type": "server_error"}}))
    yield _sse(None, "[DONE]")


def _cs_rag_field(answer: Answer) -> dict[str, Any]:
    return answer.model_dump(mode="json", exclude={"text"})


@router.get("/v1/models", tags=["answer"], response_model=ModelList, responses=_errors(401, 429))
def models(caller: ClientDep) -> Response:
    """The one model name this service answers as (OpenAI clients list models)."""
    return _json(ModelList(data=[ModelCard(id=MODEL_NAME)]))


@router.post("/v1/search", tags=["search"], response_model=SearchResponse, responses=_CLIENT_ERRORS)
def search(body: SearchRequest, service: ServiceDep, caller: ClientDep) -> Response:
    """Ranked hits from the live index (hybrid BM25 + dense), without an answer."""
    service.require_index()
    service.check_question(body.query, ("body", "query"))
    hits = service.knowledge_base.search(body.query, k=body.k, where=body.search_filter())
    return _json(SearchResponse(query=body.query, hits=hits))


@router.post("/v1/suggest", tags=["search"], response_model=SuggestResponse,
             responses={**_CLIENT_ERRORS, **_errors(404)})
def suggest(body: SuggestRequest, service: ServiceDep, caller: ClientDep) -> Response:
    """Replies a human agent may send for the customer's last message: the best hits from
    distinct documents, as FAQ answers verbatim or the sentences of a passage that answer it."""
    service.require_index()
    history: list[Turn] = []
    if body.session_id is not None:
        found = service.sessions.history(body.session_id, service.settings.answer.history_turns)
        if found is None:
            raise HTTPException(404, "the session has ended or is unknown")
        history = found
    elif body.messages:
        history = list(body.messages)
    question = body.question
    if question is None:
        last_user = next((i for i in range(len(history) - 1, -1, -1) if history[i].role == "user"), None)
        if last_user is None:
            _invalid(("body", "question"), "missing", "give a question, or a session or messages "
                     "with a user turn")
        question, history = history[last_user].content, history[:last_user]
    service.check_question(question, ("body", "question"))
    message = service.assistant.guard.check_message(question)
    rewrite = rewrite_followup(message.masked_text, history)
    retrieval = service.knowledge_base.retrieve(rewrite.question, k=max(10, body.k * 3),
                                                where=body.search_filter())
    retriever = service.knowledge_base.retriever()
    tokens = retriever.tokenizer.tokenize(rewrite.question)
    suggestions: list[Suggestion] = []
    for hit in distinct_documents(retrieval.hits, len(retrieval.hits)):
        extract = extract_answer(tokens, [hit], lambda t: retriever.index.keyword_ceiling([t]))
        if extract is None:
            continue
        text = re.sub(r"\[1\]", "", extract.text).strip()
        suggestions.append(Suggestion(text=text, citation=_citation(len(suggestions) + 1, hit),
                                      confidence=None if hit.confidence is None
                                      else round(hit.confidence, 4)))
        if len(suggestions) == body.k:
            break
    return _json(SuggestResponse(question=message.masked_text, search_query=rewrite.question,
                                 suggestions=suggestions, flags=message.flags,
                                 suggested_script=message.suggested_script))


def _citation(marker: int, hit: Hit) -> Citation:
    title = hit.question or " > ".join(hit.heading_path) or hit.source
    return Citation(marker=marker, id=hit.id, doc_id=hit.doc_id, source=hit.source, kind=hit.kind,
                    title=title, heading_path=hit.heading_path, score=round(hit.score, 4),
                    confidence=None if hit.confidence is None else round(hit.confidence, 4))


# ---- reviews ----------------------------------------------------------------------------

@router.get("/v1/reviews", tags=["reviews"], response_model=ReviewList, responses=_ADMIN_ERRORS)
def list_reviews(service: ServiceDep, caller: AdminDep,
                 status: ReviewStatus | None = None, flag: FlagKind | None = None,
                 limit: Annotated[int, Query(ge=1, le=200)] = 50,
                 offset: Annotated[int, Query(ge=0, le=2**62)] = 0) -> Response:
    """Queued answers, newest first; filter by status and by flag kind."""
    reviews, total = service.reviews.list(status, flag, limit, offset)
    return _json(ReviewList(total=total, reviews=reviews))


@router.get("/v1/reviews/{review_id}", tags=["reviews"], response_model=Review,
            responses={**_ADMIN_ERRORS, **_errors(404)})
def get_review(review_id: _ID, service: ServiceDep, caller: AdminDep) -> Response:
    review = service.reviews.get(review_id)
    if review is None:
        raise HTTPException(404, f"no review {review_id}")
    return _json(review)


@router.post("/v1/reviews/{review_id}", tags=["reviews"], response_model=ReviewResult,
             responses={**_ADMIN_ERRORS, **_errors(400, 404, 409)})
def decide_review(review_id: _ID, body: ReviewDecision, service: ServiceDep, caller: AdminDep) -> Response:
    """Approve, edit or reject a pending answer; an approved or edited one may be saved as
    knowledge (see ReviewDecision), which queues an ingest job."""
    review = service.reviews.get(review_id)
    if review is None:
        raise HTTPException(404, f"no review {review_id}")
    if body.action is ReviewAction.EDIT and body.text is None:
        _invalid(("body", "text"), "missing", "an edit needs the corrected text")
    if body.action is ReviewAction.REJECT and body.save_as is not None:
        _invalid(("body", "save_as"), "value_error", "a rejected answer cannot be saved")
    if (body.save_as is SavedAs.FAQ_ANSWER and body.action is ReviewAction.APPROVE
            and review.answer.outcome is not Outcome.ANSWERED):
        _invalid(("body", "save_as"), "value_error", f"the draft is a {review.answer.outcome.value} "
                 "reply, not an answer: edit it to save it as an FAQ answer")
    final_text = None if body.action is ReviewAction.REJECT else (body.text or review.answer.text)
    entry = _saved_entry(service, review, body, final_text) if body.save_as else None
    status = {ReviewAction.APPROVE: ReviewStatus.APPROVED, ReviewAction.EDIT: ReviewStatus.EDITED,
              ReviewAction.REJECT: ReviewStatus.REJECTED}[body.action]
    try:
        decided = service.reviews.decide(review_id, status, final_text=final_text, note=body.note,
                                         decided_by=caller.id, saved_as=body.save_as,
                                         faq_id=entry.id if entry else None)
    except ReviewConflict as exc:
        raise HTTPException(409, str(exc)) from None
    job = None
    if entry is not None:
        undo = service.folder.add_faq(entry)
        job = service.jobs.submit(JobKind.REVIEW, f"review {review_id}: FAQ entry {entry.id}",
                                  on_failure=undo)
        service.reviews.set_job(review_id, job.id)
        decided = decided.model_copy(update={"job_id": job.id})
    return _json(ReviewResult(review=decided, job=job))


def _without_greetings(service: Service, review: Review, text: str) -> str:
    """The text without the opening and closing lines every answer gets anyway."""
    phrases = service.assistant.prompts.phrases(review.answer.language)
    body = text.strip()
    opening, closing = phrases.opening.strip(), phrases.closing_for(review.customer).strip()
    if opening and body.startswith(opening) and len(body) > len(opening):
        body = body[len(opening):].strip()
    if closing and body.endswith(closing) and len(body) > len(closing):
        body = body[:-len(closing)].strip()
    return body


def _saved_entry(service: Service, review: Review, body: ReviewDecision, final_text: str) -> FaqEntry:
    standalone = review.answer.trace.get("rewrite", {}).get("question") or review.answer.question
    entry_id = f"review-{review.id}"
    if body.save_as is SavedAs.FAQ_ANSWER:
        return FaqEntry(id=entry_id, question=body.question or standalone,
                        answer=_without_greetings(service, review, final_text),
                        category=body.category, tags=["reviewed"])
    target_id = body.faq_id or next((c.doc_id for c in review.answer.citations
                                     if c.kind is DocumentKind.FAQ), None)
    if target_id is None:
        _invalid(("body", "faq_id"), "missing", "the answer cites no FAQ entry; name one in faq_id")
    service.require_index()
    target = next((c for c in service.knowledge_base.document_chunks(target_id)
                   if c.id == target_id and c.kind is DocumentKind.FAQ), None)
    if target is None or not target.text:
        _invalid(("body", "faq_id"), "value_error", f"no FAQ entry {target_id!r} with an answer in the index")
    return FaqEntry(id=entry_id, question=body.question or standalone, answer=target.text,
                    category=body.category or target.category, tags=["reviewed", f"similar-to:{target_id}"])


# ---- knowledge admin --------------------------------------------------------------------

@router.get("/v1/knowledge", tags=["knowledge"], response_model=DocumentList,
            responses={**_ADMIN_ERRORS, **_errors(503)})
def list_documents(service: ServiceDep, caller: AdminDep) -> Response:
    """The documents in the live index version."""
    service.require_index()
    index = service.knowledge_base.index()
    documents = [DocumentInfo(id=doc_id, kind=r.kind, source=r.source, chunks=r.chunks,
                              owned=service.folder.owns(Path(r.file)))
                 for doc_id, r in sorted(index.manifest.documents.items())]
    return _json(DocumentList(index_version=service.version(), documents=documents))


@router.post("/v1/knowledge", tags=["knowledge"], status_code=202, response_model=UploadResult,
             responses={**_ADMIN_ERRORS, **_errors(400, 409, 415)})
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
        _invalid(("body", "file"), "value_error", f"{stem}{suffix} is a dictionary file name, not knowledge")
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
    return _json(UploadResult(file=str(target.relative_to(service.folder.root)), documents=ids,
                              replaced=replaced, job=job), status=202)


def _read_upload(service: Service, data: bytes, stem: str, suffix: str) -> list[Document]:
    # read under its final name (a document's id is its file name) in a folder of its own
    scratch = service.data_dir / "incoming" / uuid.uuid4().hex / f"{stem}{suffix}"
    scratch.parent.mkdir(parents=True)
    scratch.write_bytes(data)
    try:
        documents = collect_documents([scratch]).documents
    except InputError as exc:
        _invalid(("body", "file"), "value_error", str(exc).replace(exc.source, f"{stem}{suffix}", 1))
    finally:
        shutil.rmtree(scratch.parent, ignore_errors=True)
    if not documents:
        _invalid(("body", "file"), "value_error", f"{stem}{suffix} holds no knowledge")
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


@router.delete("/v1/knowledge/{doc_id:path}", tags=["knowledge"], status_code=202,
               response_model=DeleteResult, responses={**_ADMIN_ERRORS, **_errors(404, 409, 503)})
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
    return _json(DeleteResult(document=doc_id, job=job), status=202)


@router.post("/v1/knowledge/reindex", tags=["knowledge"], status_code=202, response_model=Job,
             responses=_ADMIN_ERRORS)
def reindex(service: ServiceDep, caller: AdminDep) -> Response:
    """Re-ingest every knowledge path (picks up edits to the sources given at start)."""
    return _json(service.jobs.submit(JobKind.REINDEX, "requested"), status=202)


@router.get("/v1/jobs", tags=["knowledge"], response_model=JobList, responses=_ADMIN_ERRORS)
def list_jobs(service: ServiceDep, caller: AdminDep,
              limit: Annotated[int, Query(ge=1, le=RECENT_JOBS)] = 20) -> Response:
    """The newest ingest jobs first."""
    return _json(JobList(jobs=service.jobs.recent(limit)))


@router.get("/v1/jobs/{job_id}", tags=["knowledge"], response_model=Job,
            responses={**_ADMIN_ERRORS, **_errors(404)})
def get_job(job_id: str, service: ServiceDep, caller: AdminDep) -> Response:
    job = service.jobs.get(job_id)
    if job is None:
        raise HTTPException(404, f"no job {job_id!r} (jobs are kept in memory, the newest {RECENT_JOBS})")
    return _json(job)


# ---- operations -------------------------------------------------------------------------

@router.get("/healthz", tags=["operations"], response_model=Health)
def healthz(service: ServiceDep) -> Response:
    """Liveness (always 200 while the process serves) and readiness (`ready`)."""
    ready = service.ready
    health = Health(ready=ready, jobs=service.jobs.counts())
    if ready:
        index = service.knowledge_base.index()
        health.documents, health.chunks = len(index.manifest.documents), len(index)
        health.index_version = service.version()
    return _json(health)


@router.get("/metrics", tags=["operations"], response_class=Response,
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}})
def metrics(service: ServiceDep) -> Response:
    """Prometheus text format: requests by route and status, latency histogram, answers by
    outcome and routing, flags by kind, ingest jobs, sessions, pending reviews."""
    return Response(service.metrics.render(service.gauges()),
                    media_type="text/plain; version=0.0.4; charset=utf-8")


# ---- the app ------------------------------------------------------------------------------

class _Gate:
    """Outermost middleware: the request body limit (413), request metrics, the access log
    (paths with personal data masked) and a masked log of any unhandled error (answered 500)."""

    def __init__(self, app: Any, service: Service, routes: Sequence[Any] = ()) -> None:
        self.app = app
        self.service = service
        self.routes = routes   # to name the route of a request answered before routing (413)

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 499, "sent": False}   # 499: the client went away before a response

        async def send_and_note(message: dict) -> None:
            if message["type"] == "http.response.start":
                status["code"], status["sent"] = message["status"], True
            await send(message)

        try:
            replay = await self._read_body(scope, receive, send_and_note)
            if replay is not None:
                await self.app(scope, replay, send_and_note)
        except Exception as exc:  # noqa: BLE001 - logged masked here, never by the server
            _log_exception(exc)
            if not status["sent"]:
                await _send_json(send_and_note, 500, {"detail": "internal error; see the service log"})
        finally:
            route = scope.get("route") or next(
                (r for r in self.routes if r.matches(scope)[0] is not Match.NONE), None)
            label = getattr(route, "path", None) or "unmatched"
            seconds = time.perf_counter() - started
            self.service.metrics.request(label, scope["method"], status["code"], seconds)
            state = scope.get("state") or {}
            query = scope.get("query_string", b"").decode("latin-1")
            log.info("%s %s %d %.1fms %s", scope["method"],
                     mask_pii(scope["path"] + (f"?{query}" if query else "")), status["code"],
                     seconds * 1000, state.get("caller", "-"))

    async def _read_body(self, scope: dict, receive: Callable, send: Callable) -> Callable | None:
        """A receive that replays the whole body, or None after answering 413 (or when the
        client went away)."""
        limits = self.service.limits
        limit = (limits.upload_max_bytes + MULTIPART_OVERHEAD
                 if scope["path"] == "/v1/knowledge" and scope["method"] == "POST"
                 else limits.max_body_bytes)
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _send_json(send, 413, {"detail": f"the request body is larger than {limit} bytes"})
            return None
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _send_json(send, 413, {"detail": f"the request body is larger than {limit} bytes"})
                return None
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        delivered = False

        async def replay() -> dict:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()
        return replay


async def _send_json(send: Callable, status: int, payload: dict) -> None:
    body = json.dumps(payload).encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def _log_exception(exc: BaseException) -> None:
    text = "".join(traceback.format_exception(exc))
    log.error("unhandled error: %s", mask_pii(text))


async def _input_error(request: Request, exc: InputError) -> JSONResponse:
    return JSONResponse({"detail": [{"type": "value_error", "loc": ["body", exc.source], "msg": str(exc)}]},
                        status_code=422)


async def _store_error(request: Request, exc: IndexStoreError) -> JSONResponse:
    log.error("index unavailable: %s", mask_pii(str(exc)))
    return JSONResponse({"detail": f"the index is unavailable: {exc}"}, status_code=503,
                        headers={"Retry-After": "30"})


def create_app(index_dir: str | Path, knowledge: Sequence[str | Path] = (), *,
               settings: Settings | None = None, data_dir: str | Path | None = None,
               keys: ApiKeys | None = None, assistant: Assistant | None = None) -> FastAPI:
    """The service over the index in `index_dir`, ingesting from `knowledge` (plus the
    service's own folder) whenever knowledge changes.

    `data_dir` (default `settings.service.data_dir`, else `<index_dir>.service`) holds the
    SQLite database (sessions, reviews) and the service's knowledge folder. `keys` default to
    CS_RAG_API_KEYS / CS_RAG_ADMIN_KEYS. Without an index, the first ingest starts at once
    and answer routes return 503 until it is live. Starts the ingest worker thread; the app's
    shutdown stops it.
    """
    settings = settings or Settings()
    index_dir = Path(index_dir)
    data_dir = Path(data_dir or settings.service.data_dir or f"{index_dir}.service")
    keys = keys if keys is not None else ApiKeys.from_environment()
    service = Service(index_dir, [Path(p) for p in knowledge], settings, data_dir, keys, assistant)
    if not keys.client_configured:
        log.warning("no client keys (%s): answer, chat, search and suggest are open to anyone "
                    "who can reach this address", API_KEYS_ENV)
    if not keys.admin_configured:
        log.warning("no admin keys (%s): review and knowledge routes are closed (401)", ADMIN_KEYS_ENV)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        service.close()

    # FastAPI's own OpenTelemetry hooks would see request bodies (personal data): off
    app = FastAPI(title="cs_rag", version=__version__, lifespan=lifespan,
                  description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
                  telemetry={"auto_configure": False, "tracing": False, "metrics": False,
                             "logs": False, "operation_spans": False})
    app.state.service = service
    app.include_router(router)
    app.add_exception_handler(InputError, _input_error)
    app.add_exception_handler(IndexStoreError, _store_error)
    if settings.service.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.service.cors_origins,
                           allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["Authorization", "Content-Type"])
    app.add_middleware(_Gate, service=service, routes=router.routes)
    return app


def serve(index_dir: str | Path, knowledge: Sequence[str | Path] = (), *, host: str = "127.0.0.1",
          port: int = 8000, data_dir: str | Path | None = None, settings: Settings | None = None,
          log_level: str = "info") -> None:
    """Run the service with uvicorn until interrupted (uvicorn's own access log is off: the
    service writes one with personal data masked)."""
    import uvicorn

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(index_dir, knowledge, settings=settings, data_dir=data_dir)
    if not _loopback(host) and not app.state.service.keys.client_configured:
        log.warning("listening on %s without client keys: anyone on the network can ask", host)
    uvicorn.run(app, host=host, port=port, access_log=False, log_level=log_level,
                timeout_graceful_shutdown=5)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
