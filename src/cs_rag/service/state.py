"""Everything the routes share: the knowledge base and assistant, stores, keys, limits, metrics
and the ingest worker."""

from __future__ import annotations

import json
import logging
import math
import threading
from collections.abc import Sequence
from pathlib import Path

from fastapi import HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials

from cs_rag.answering.assistant import Assistant
from cs_rag.answering.question_writer import ChatQuestionWriter
from cs_rag.config import ServiceSettings, Settings
from cs_rag.errors import CsRagError, InputError
from cs_rag.guard import mask_pii
from cs_rag.knowledge_base import KnowledgeBase, Progress, state_database
from cs_rag.learning.knowledge import LEARNED_FILE
from cs_rag.learning.loop import LearningLoop
from cs_rag.ops.insights import log_record
from cs_rag.qa import Conversation, Inspection, Inspector
from cs_rag.service.auth import (
    ADMIN_KEYS_ENV,
    ApiKeys,
    Caller,
    key_fingerprint,
)
from cs_rag.service.jobs import JobKind, JobRunner
from cs_rag.service.limits import Limit, RateLimits, customer_bucket
from cs_rag.service.metrics import Metrics
from cs_rag.service.qa_runs import QaRun, QaRunStore
from cs_rag.service.responses import invalid
from cs_rag.service.reviews import ReviewStore
from cs_rag.service.schemas import AnswerResponse
from cs_rag.service.sessions import Session, SessionStore
from cs_rag.service.storage import KnowledgeFolder
from cs_rag.types import Answer, IngestReport, Routing, Turn

log = logging.getLogger("cs_rag.service")


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
        if settings.index.generated_questions and self.knowledge_base.question_writer is None:
            if self.assistant.chat_model is None:
                log.warning("index.generated_questions is set but no chat model is: the service's ingests "
                            "keep the wordings already written and ask for none")
            else:   # the service's ingests write them too
                self.knowledge_base.question_writer = ChatQuestionWriter(self.assistant.chat_model,
                                                                         self.assistant.prompts)
        database = state_database(index_dir, settings, data_dir)
        self.database = database
        self.sessions = SessionStore(database, self.limits.session_ttl_minutes * 60)
        self.reviews = ReviewStore(database)
        self.qa_runs = QaRunStore(database)
        self.learning = LearningLoop(database, self.knowledge_base, self.folder.root / LEARNED_FILE,
                                     editor=self.folder.editor)
        self.answers, self.feedback = self.learning.answers, self.learning.feedback
        self.rate_limits = RateLimits(self.limits)   # per replica: see service/limits.py
        self.metrics = Metrics()
        self.question_log = data_dir / "questions"   # one JSONL a day, for cs-rag report/hotwords/gaps
        self._log_lock = threading.Lock()
        self.jobs = JobRunner(database, self._ingest, self.metrics.job, after=self._ingested)
        self.warm = threading.Event()
        self._warming = False
        self._warm_lock = threading.Lock()
        self._inspector: Inspector | None = None
        self._inspector_lock = threading.Lock()
        if self.knowledge_base.exists:
            self._start_warm_up()
        else:   # one BUILD for all replicas starting together (JobRunner.submit)
            self.jobs.submit(JobKind.BUILD, "the index did not exist at start")

    def inspector(self) -> Inspector:
        """The quality inspector (facts checked against the live index), built on first use."""
        with self._inspector_lock:
            if self._inspector is None:
                self._inspector = Inspector(self.settings, knowledge_base=self.knowledge_base)
            return self._inspector

    def inspect(self, conversations: Sequence[Conversation], *, keep_as: str | None = None, by: str = "",
                skipped: Sequence[str] = ()) -> tuple[list[Inspection], bool, QaRun | None]:
        """Inspect a batch of agents' conversations, wrong_info against the live index while
        there is one; with `keep_as` (the run's label) keep the run, by `by` (a key's
        fingerprint), for the console's quality page. Returns the inspections, whether facts
        were checked and the kept run."""
        checked = self.knowledge_base.exists
        inspections = self.inspector().inspect(conversations, check_facts=checked)
        run = self.qa_runs.add(keep_as, conversations, inspections, checked, by, skipped) if keep_as else None
        return inspections, checked, run

    def knowledge_paths(self) -> list[Path]:
        """What every ingest is given: the sources, then the service's own folder."""
        return [*self.sources, self.folder.root.resolve()]

    def _ingest(self, progress: Progress) -> IngestReport:
        return self.knowledge_base.ingest(self.knowledge_paths(), progress=progress)

    def _ingested(self) -> None:
        self._start_warm_up()   # the first index this service has, or nothing

    def _start_warm_up(self) -> None:
        """Warm up on a thread, once."""
        with self._warm_lock:
            if self._warming:
                return
            self._warming = True
        threading.Thread(target=self._warm_up, name="cs-rag-warm-up", daemon=True).start()

    def _warm_up(self) -> None:
        """Load the models before the first customer waits for them (a greeting loads the
        guard's; a greeting is never looked up, so the retriever loads its own)."""
        try:
            self.assistant.answer("你好")
            self.knowledge_base.retriever().warm_up()
        except CsRagError as exc:
            log.warning("warm-up failed: %s", mask_pii(str(exc)))
        self.warm.set()

    # ---- per request ------------------------------------------------------------------

    def authorize(self, credentials: HTTPAuthorizationCredentials | None, request: Request,
                  admin: bool, widget: bool = False) -> Caller:
        """The caller of a client route (`admin` False) or an admin route, within its key's rate
        limit; `widget`: the route also takes a widget key (from its origins only, on the
        widget's own rate limit). Client routes then call `limit_customer`."""
        presented = credentials.credentials if credentials else None
        role = self.keys.role(presented) if presented else None
        if role == "widget":
            return self._widget_caller(request, allowed=widget and not admin)
        address = self.rate_limits.client_address(request)
        if role is not None and (role == "admin" or not admin):
            caller = Caller(role, key_fingerprint(presented), address)
        elif admin and role == "client":
            raise HTTPException(403, "this route needs an admin key")
        elif admin:
            why = "an admin key is required" if self.keys.admin_configured else \
                f"admin routes are closed: {ADMIN_KEYS_ENV} is not set"
            raise HTTPException(401, why, headers={"WWW-Authenticate": "Bearer"})
        elif presented is None and not self.keys.client_configured:
            caller = Caller("anonymous", f"addr:{address}", address)
        else:
            raise HTTPException(401, "a valid key is required (Authorization: Bearer KEY)",
                                headers={"WWW-Authenticate": "Bearer"})
        self._admit(Limit.KEY, caller.id)
        request.state.caller = caller.id
        return caller

    def limit_customer(self, caller: Caller, customer: str | None) -> None:
        """429 when this end customer of the caller's key is over the per-customer limit. The
        customer is `customer` as the body names it (its session, OpenAI's `user`, the
        customer's id: see schemas.end_customer), else the client's address. A request refused
        here does not count against its key, so one customer's flood cannot use up the key's
        budget for the others. A widget visitor is already limited on the widget's own bucket."""
        if caller.role != "widget":
            who = customer or f"addr:{caller.address}"
            try:
                self._admit(Limit.CUSTOMER, customer_bucket(caller.id, who))
            except HTTPException:
                self.rate_limits.give_back(Limit.KEY, caller.id)
                raise

    def _admit(self, limit: Limit, who: str) -> None:
        wait = self.rate_limits.take(limit, who)
        if wait > 0:
            self.metrics.limited(limit.value)
            raise HTTPException(429, f"too many requests: over the {limit} rate limit "
                                     f"({self.rate_limits.describe(limit)}); see Retry-After",
                                headers={"Retry-After": str(math.ceil(wait)), "X-RateLimit-Scope": limit.value})

    def _widget_caller(self, request: Request, allowed: bool) -> Caller:
        """A visitor of a page carrying a widget key: a route the widget calls, from an origin
        configured for it (or the service's own, for /demo), within the widget's rate limit."""
        if not allowed:
            raise HTTPException(403, "a widget key may only ask (/v1/answer) and rate (/v1/feedback)")
        origin = request.headers.get("origin")
        own = f"{request.url.scheme}://{request.url.netloc}"
        if origin != own and origin not in self.limits.widget_origins:
            raise HTTPException(403, f"the widget key does not answer pages of {origin or 'no origin'}; "
                                     "see service.widget_origins")
        address = self.rate_limits.client_address(request)
        caller = Caller("widget", f"widget:{address}", address)
        self._admit(Limit.WIDGET, caller.id)
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
            invalid(loc, "value_error", "the question is empty")
        if len(text) > limit:
            invalid(loc, "string_too_long", f"String should have at most {limit} characters",
                     {"max_length": limit})

    def finish_turn(self, session: Session, answer: Answer) -> AnswerResponse:
        """Record an answered turn: session history, review queue, metrics, log."""
        self.sessions.append(session.id, [Turn(role="user", content=answer.question),
                                          Turn(role="assistant", content=answer.text)],
                             [(o.marker, o.id, o.title) for o in answer.options])
        review_id = None
        if answer.routing is Routing.REVIEW:
            review_id = self.reviews.add(answer, session.id, session.history, session.customer)
        self.record(answer, session.id)
        return AnswerResponse(**dict(answer), session_id=session.id, new_session=session.new,
                              expired_session=session.expired, review_id=review_id)

    def record(self, answer: Answer, session_id: str | None) -> None:
        """Metrics, a masked log line, a question-log record (the question is already masked
        by the pipeline), and the learning loop's answer log."""
        self.metrics.answer(answer)
        self.learning.remember(answer, session_id)
        record = log_record(answer, latency_ms=answer.trace.get("timings_ms", {}).get("total"),
                            session_id=session_id)
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
        """The index is live and the models are loaded. An index another replica built is
        noticed here: this replica then warms up."""
        if not self.warm.is_set():
            if self.knowledge_base.exists:
                self._start_warm_up()
            return False
        return self.knowledge_base.exists

    def close(self) -> None:
        self.jobs.close()
        self.database.close()


