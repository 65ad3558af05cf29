"""Background ingests, kept in the state database so that every replica sees every job: each
job runs once, on one replica, and a failed one is undone by the replica that queued it."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid
from collections.abc import Callable
from enum import Enum

from pydantic import BaseModel

from cs_rag.edits import Undo
from cs_rag.errors import CsRagError
from cs_rag.guard import mask_pii
from cs_rag.knowledge_base import Progress
from cs_rag.state import StateDatabase
from cs_rag.types import IngestReport

log = logging.getLogger("cs_rag.service")

RECENT_JOBS = 200              # the most jobs one listing returns
KEEP_FINISHED_DAYS = 30        # finished jobs older than this are deleted
POLL_SECONDS = 0.5             # how often a worker looks for jobs other replicas queued
HEARTBEAT_SECONDS = 5.0        # how often a replica marks its queued and running jobs alive
LEASE_SECONDS = 60.0           # a job not marked alive for this long failed with its replica

_MIGRATIONS = ["""
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL,
    status TEXT NOT NULL,
    owner TEXT,
    runner TEXT,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    heartbeat REAL NOT NULL,
    embedded INTEGER,
    to_embed INTEGER,
    report TEXT,
    error TEXT
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs(status, seq);
CREATE INDEX IF NOT EXISTS jobs_finished ON jobs(finished)
"""]
_COLUMNS = "id, kind, detail, status, created, started, finished, embedded, to_embed, report, error"


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


class JobRunner:
    """Runs ingest jobs from the state database on one worker thread per replica.

    A job with an undo (`on_failure`) belongs to the replica that queued it (only it holds the
    undo), so only that replica runs it; any replica may run the others. A worker claims every
    queued job it may run in one transaction and runs one ingest for all of them (each ingest
    reads all knowledge), so jobs queued while an ingest runs share the next one; the claim
    is serialised by the state database, so a job runs once. Replicas mark their jobs alive
    every HEARTBEAT_SECONDS; a job whose replica stopped is failed by any other after
    LEASE_SECONDS (a queued job any replica may run waits for one). After an ingest is done,
    `after` runs. Thread-safe."""

    def __init__(self, database: StateDatabase, ingest: Callable[[Progress], IngestReport],
                 count: Callable[[JobStatus], None], after: Callable[[], None], *,
                 replica: str | None = None, clock: Callable[[], float] = time.time) -> None:
        self._db = database
        self._ingest = ingest
        self._after = after
        self._count = count
        self._clock = clock
        self.replica = replica or uuid.uuid4().hex
        self._undos: dict[str, Undo] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        database.migrate("jobs", _MIGRATIONS)
        self._threads = [threading.Thread(target=self._work, name="cs-rag-ingest", daemon=True),
                         threading.Thread(target=self._beat, name="cs-rag-job-heartbeat", daemon=True)]
        for thread in self._threads:
            thread.start()

    def submit(self, kind: JobKind, detail: str = "", *, on_failure: Undo | None = None) -> Job:
        """Queue a job. A BUILD while another BUILD is queued or running (on any replica)
        returns that one instead: the first index is built once."""
        now = self._clock()
        job_id = uuid.uuid4().hex
        with self._db.transaction() as db:
            if kind is JobKind.BUILD:
                row = db.execute(f"SELECT {_COLUMNS} FROM jobs WHERE kind = ? AND status IN (?, ?) "
                                 "ORDER BY seq LIMIT 1",
                                 (kind.value, JobStatus.QUEUED.value, JobStatus.RUNNING.value)).fetchone()
                if row is not None:
                    return _job(row)
            db.execute("INSERT INTO jobs (id, kind, detail, status, owner, created, heartbeat) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (job_id, kind.value, detail, JobStatus.QUEUED.value,
                        self.replica if on_failure else None, now, now))
            db.execute("DELETE FROM jobs WHERE finished < ?", (now - KEEP_FINISHED_DAYS * 86400,))
        if on_failure is not None:
            with self._lock:
                self._undos[job_id] = on_failure
        self._wake.set()
        return self.get(job_id)   # type: ignore[return-value]

    def get(self, job_id: str) -> Job | None:
        with self._db.transaction() as db:
            row = db.execute(f"SELECT {_COLUMNS} FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _job(row) if row else None

    def recent(self, limit: int) -> list[Job]:
        """The newest jobs of every replica, newest first."""
        with self._db.transaction() as db:
            rows = db.execute(f"SELECT {_COLUMNS} FROM jobs ORDER BY seq DESC LIMIT ?",
                              (limit,)).fetchall()
        return [_job(row) for row in rows]

    def counts(self) -> dict[str, int]:
        """Queued and running jobs, on every replica."""
        counts = {s.value: 0 for s in (JobStatus.QUEUED, JobStatus.RUNNING)}
        with self._db.transaction() as db:
            rows = db.execute("SELECT status, COUNT(*) FROM jobs WHERE status IN (?, ?) GROUP BY status",
                              tuple(counts)).fetchall()
        counts.update({status: int(n) for status, n in rows})
        return counts

    def close(self, timeout: float = 5.0) -> None:
        """Stop after the running ingest. This replica's queued jobs with an undo fail (their
        files are on disk, and the next ingest picks them up); others stay for other replicas."""
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout)
        try:
            with self._db.transaction() as db:
                db.execute("UPDATE jobs SET status = ?, error = ?, finished = ? WHERE owner = ? AND status = ?",
                           (JobStatus.FAILED.value, "the service stopped before it ran", self._clock(),
                            self.replica, JobStatus.QUEUED.value))
        except CsRagError as exc:
            log.warning("could not close this replica's queued jobs: %s", mask_pii(str(exc)))

    # ---- the worker --------------------------------------------------------------------

    def _work(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(POLL_SECONDS)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                batch = self._claim()
            except CsRagError as exc:   # the database is away: try again at the next poll
                log.warning("cannot claim jobs: %s", mask_pii(str(exc)))
                continue
            if batch:
                self._run(batch)

    def _claim(self) -> list[Job]:
        """Fail the jobs of replicas that stopped, then take every queued job this replica may
        run, oldest first."""
        now = self._clock()
        with self._db.transaction() as db:
            db.execute("UPDATE jobs SET status = ?, error = ?, finished = ? WHERE heartbeat < ? AND "
                       "(status = ? OR (status = ? AND owner IS NOT NULL))",
                       (JobStatus.FAILED.value, "the replica that had it stopped", now, now - LEASE_SECONDS,
                        JobStatus.RUNNING.value, JobStatus.QUEUED.value))
            rows = db.execute(f"SELECT {_COLUMNS} FROM jobs WHERE status = ? AND (owner IS NULL OR owner = ?) "
                              "ORDER BY seq", (JobStatus.QUEUED.value, self.replica)).fetchall()
            jobs = [_job(row) for row in rows]
            for job in jobs:
                db.execute("UPDATE jobs SET status = ?, runner = ?, started = ?, heartbeat = ? WHERE id = ?",
                           (JobStatus.RUNNING.value, self.replica, now, now, job.id))
        return jobs

    def _run(self, batch: list[Job]) -> None:
        """One ingest for every job of `batch`: all are done with its report, or all fail and
        each change is undone (newest first)."""
        ids = [job.id for job in batch]

        def progress(done: int, total: int) -> None:
            self._update(ids, "embedded = ?, to_embed = ?", (done, total))

        try:
            report = self._ingest(progress)
        except Exception as exc:  # noqa: BLE001 - a failed job is reported, the worker goes on
            for job in reversed(batch):
                self._fail(job, f"{type(exc).__name__}: {exc}")
            return
        self._update(ids, "status = ?, report = ?, finished = ?",
                     (JobStatus.DONE.value, report.model_dump_json(), self._clock()))
        with self._lock:
            for job_id in ids:
                self._undos.pop(job_id, None)
        for job in batch:
            self._count(JobStatus.DONE)
            log.info("ingest job %s (%s) done: %s", job.id, job.kind.value, report.summary())
        self._after()

    def _fail(self, job: Job, error: str) -> None:
        with self._lock:
            on_failure = self._undos.pop(job.id, None)
        if on_failure is not None:
            try:
                on_failure()
                error += " (the change was undone)"
            except Exception as undo_exc:  # noqa: BLE001
                error += f" (undoing the change failed: {undo_exc})"
        log.warning("ingest job %s (%s) failed: %s", job.id, job.kind.value, mask_pii(error))
        self._update([job.id], "status = ?, error = ?, finished = ?",
                     (JobStatus.FAILED.value, error, self._clock()))
        self._count(JobStatus.FAILED)

    def _update(self, ids: list[str], assignments: str, values: tuple) -> None:
        """Set columns of this replica's jobs `ids` (and mark them alive); a database that is
        away is logged, not raised: the ingest itself has happened or failed."""
        marks = ", ".join("?" * len(ids))
        try:
            with self._db.transaction() as db:
                db.execute(f"UPDATE jobs SET {assignments}, heartbeat = ? WHERE id IN ({marks})",
                           (*values, self._clock(), *ids))
        except CsRagError as exc:
            log.warning("cannot record jobs %s: %s", ", ".join(ids), mask_pii(str(exc)))

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            try:
                with self._db.transaction() as db:
                    db.execute("UPDATE jobs SET heartbeat = ? WHERE (status = ? AND owner = ?) "
                               "OR (status = ? AND runner = ?)",
                               (self._clock(), JobStatus.QUEUED.value, self.replica,
                                JobStatus.RUNNING.value, self.replica))
            except CsRagError as exc:
                log.warning("cannot mark jobs alive: %s", mask_pii(str(exc)))


def _job(row: tuple) -> Job:
    (job_id, kind, detail, status, created, started, finished, embedded, to_embed, report, error) = row
    return Job(id=job_id, kind=kind, detail=detail, status=status, created=_time(created),
               started=_time(started), finished=_time(finished),
               progress=JobProgress(embedded=embedded, to_embed=to_embed) if to_embed is not None else None,
               report=IngestReport.model_validate_json(report) if report else None, error=error)


def _time(seconds: float | None) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC) if seconds is not None else None
