"""Background ingests, one at a time on a worker thread, each undone if it fails."""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from enum import Enum

from pydantic import BaseModel

from cs_rag.guard import mask_pii
from cs_rag.knowledge_base import Progress
from cs_rag.edits import Undo
from cs_rag.types import IngestReport

log = logging.getLogger("cs_rag.service")


RECENT_JOBS = 200


class JobKind(str, Enum):
    BUILD = "build"        # the first ingest, when the service starts without an index
    REINDEX = "reindex"
    UPLOAD = "upload"
    DELETE = "delete"
    REVIEW = "review"      # an FAQ entry saved from a review
    LEARNING = "learning"  # a learning-queue action (link, create, undo) applied
    EDIT = "edit"          # an FAQ entry written in the console's editor


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


# ---- background ingest ----------------------------------------------------------------------



class JobRunner:
    """Runs ingest jobs one ingest at a time, in submission order, on one worker thread; jobs
    queued while an ingest runs share the next one. A job that fails runs its `on_failure` undo;
    after an ingest is done, `after` runs. Remembers the newest RECENT_JOBS jobs. Thread-safe."""

    def __init__(self, ingest: Callable[[Progress], IngestReport], count: Callable[[JobStatus], None],
                 after: Callable[[], None]) -> None:
        self._ingest = ingest
        self._after = after
        self._count = count
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
            batch, stop = [item], False
            while not self._queue.empty():   # jobs queued meanwhile share one ingest
                more = self._queue.get_nowait()
                if more is None:
                    stop = True
                    break
                batch.append(more)
            self._run(batch)
            if stop:
                return

    def _run(self, batch: list[tuple[Job, Undo | None]]) -> None:
        """One ingest for every job of `batch` (each ingest reads all knowledge, so one run
        applies them all): all are done with its report, or all fail and each change is undone."""
        jobs = [job for job, _ in batch]
        with self._lock:
            for job in jobs:
                job.status, job.started = JobStatus.RUNNING, _now()

        def progress(done: int, total: int) -> None:
            with self._lock:
                for job in jobs:
                    job.progress = JobProgress(embedded=done, to_embed=total)

        try:
            report = self._ingest(progress)
        except Exception as exc:  # noqa: BLE001 - a failed job is reported, the worker goes on
            for job, on_failure in reversed(batch):
                self._fail(job, on_failure, f"{type(exc).__name__}: {exc}")
            return
        with self._lock:
            for job in jobs:
                job.status, job.report, job.finished = JobStatus.DONE, report, _now()
        for job in jobs:
            self._count(JobStatus.DONE)
            log.info("ingest job %s (%s) done: %s", job.id, job.kind.value, report.summary())
        self._after()

    def _fail(self, job: Job, on_failure: Undo | None, error: str) -> None:
        if on_failure is not None:
            try:
                on_failure()
                error += " (the change was undone)"
            except Exception as undo_exc:  # noqa: BLE001
                error += f" (undoing the change failed: {undo_exc})"
        log.warning("ingest job %s (%s) failed: %s", job.id, job.kind.value, mask_pii(error))
        with self._lock:
            job.status, job.error, job.finished = JobStatus.FAILED, error, _now()
        self._count(JobStatus.FAILED)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


