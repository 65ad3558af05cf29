"""The review queue in the state database: answers routed to `review` wait here for a person's decision."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from enum import Enum

from pydantic import BaseModel, Field

from cs_rag.errors import ReviewConflict
from cs_rag.state import StateConnection, StateDatabase
from cs_rag.types import Answer, Customer, FlagKind, Turn

_MIGRATIONS = ["""
CREATE TABLE IF NOT EXISTS reviews (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created REAL NOT NULL,
    session_id TEXT,
    answer TEXT NOT NULL,
    history TEXT NOT NULL,
    customer TEXT,
    status TEXT NOT NULL,
    final_text TEXT,
    note TEXT,
    saved_as TEXT,
    faq_id TEXT,
    job_id TEXT,
    decided REAL,
    decided_by TEXT
);
CREATE INDEX IF NOT EXISTS reviews_status ON reviews(status, id);
CREATE TABLE IF NOT EXISTS review_flags (
    review_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    PRIMARY KEY (review_id, kind)
);
CREATE INDEX IF NOT EXISTS review_flags_kind ON review_flags(kind, review_id);
"""]


class ReviewStatus(str, Enum):
    """Where a queued answer stands."""

    PENDING = "pending"     # waiting for a person
    APPROVED = "approved"   # the drafted text was right as it was
    EDITED = "edited"       # a person corrected the text
    REJECTED = "rejected"   # the draft must not be used


class SavedAs(str, Enum):
    """What an approved or edited answer became in the knowledge."""

    FAQ_ANSWER = "faq_answer"              # a new FAQ entry: the question with the final text
    SIMILAR_QUESTION = "similar_question"  # the question as a new phrasing of a cited FAQ entry
    ENTRY_ANSWER = "entry_answer"          # the final text replaces a cited FAQ entry's answer


class Review(BaseModel):
    """One queued answer with the conversation it came from and the decision on it."""

    id: int
    created: dt.datetime
    status: ReviewStatus
    session_id: str | None = None
    answer: Answer
    history: list[Turn] = Field(default_factory=list)   # the turns before the question
    customer: Customer | None = None
    flag_kinds: list[FlagKind] = Field(default_factory=list)
    final_text: str | None = None    # what the customer may be sent (approved or edited)
    note: str | None = None
    saved_as: SavedAs | None = None
    faq_id: str | None = None        # the FAQ entry written for it, when saved
    job_id: str | None = None        # the ingest job that put that entry in the index
    decided: dt.datetime | None = None
    decided_by: str | None = None    # the deciding key's fingerprint, never the key


class ReviewStore:
    """The review queue in the state database. Thread-safe."""

    def __init__(self, database: StateDatabase, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._db = database
        self._db.migrate("reviews", _MIGRATIONS)

    def add(self, answer: Answer, session_id: str | None, history: list[Turn],
            customer: Customer | None) -> int:
        """Queue an answer as pending; returns the review id."""
        history_json = "[" + ",".join(t.model_dump_json() for t in history) + "]"
        with self._db.transaction() as db:
            review_id = db.execute(
                "INSERT INTO reviews (created, session_id, answer, history, customer, status) "
                "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                (self._clock(), session_id, answer.model_dump_json(), history_json,
                 customer.model_dump_json() if customer else None, ReviewStatus.PENDING.value)).fetchone()[0]
            db.executemany("INSERT INTO review_flags (review_id, kind) VALUES (?, ?) ON CONFLICT DO NOTHING",
                           [(review_id, f.kind.value) for f in answer.flags])
        return review_id

    def get(self, review_id: int) -> Review | None:
        with self._db.transaction() as db:
            rows = self._select(db, "WHERE r.id = ?", (review_id,), 1, 0)
        return rows[0] if rows else None

    def list(self, status: ReviewStatus | None = None, flag: FlagKind | None = None,
             limit: int = 50, offset: int = 0) -> tuple[list[Review], int]:
        """Reviews with priority (a fault or complaint from a clearly upset customer) first, then
        newest first; optionally only one status and/or one flag kind; with the total that match."""
        clauses, params = [], []
        if status is not None:
            clauses.append("r.status = ?")
            params.append(status.value)
        if flag is not None:
            clauses.append("r.id IN (SELECT review_id FROM review_flags WHERE kind = ?)")
            params.append(flag.value)
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        with self._db.transaction() as db:
            total = db.execute(f"SELECT COUNT(*) FROM reviews r {where}", params).fetchone()[0]
            return self._select(db, where, tuple(params), limit, offset), total

    def decide(self, review_id: int, status: ReviewStatus, *, final_text: str | None,
               note: str | None, decided_by: str, saved_as: SavedAs | None = None,
               faq_id: str | None = None) -> Review:
        """Record a decision on a pending review; ReviewConflict if it was decided already,
        KeyError if there is no such review."""
        with self._db.transaction() as db:
            row = db.execute("SELECT status FROM reviews WHERE id = ?", (review_id,)).fetchone()
            if row is None:
                raise KeyError(review_id)
            if row[0] != ReviewStatus.PENDING.value:
                raise ReviewConflict(f"review {review_id} is already {row[0]}")
            db.execute("UPDATE reviews SET status = ?, final_text = ?, note = ?, saved_as = ?, "
                       "faq_id = ?, decided = ?, decided_by = ? WHERE id = ?",
                       (status.value, final_text, note, saved_as.value if saved_as else None,
                        faq_id, self._clock(), decided_by, review_id))
            return self._select(db, "WHERE r.id = ?", (review_id,), 1, 0)[0]

    def set_job(self, review_id: int, job_id: str) -> None:
        with self._db.transaction() as db:
            db.execute("UPDATE reviews SET job_id = ? WHERE id = ?", (job_id, review_id))

    def rejected(self, since: dt.datetime | None = None) -> list[tuple[str, str | None]]:
        """(trace id, first cited entry or document id) of every rejected answer queued at or
        after `since`, oldest first: what the team's figures and the knowledge health count."""
        with self._db.transaction() as db:
            rows = db.execute(f"SELECT {db.dialect.json_text('answer', 'trace_id')}, "
                              f"{db.dialect.json_text('answer', 'citations.0.doc_id')} FROM reviews "
                              "WHERE status = ? AND created >= ? ORDER BY id",
                              (ReviewStatus.REJECTED.value,
                               since.timestamp() if since else float("-inf"))).fetchall()
        return [(trace_id, first) for trace_id, first in rows]

    def pending(self) -> int:
        with self._db.transaction() as db:
            return db.execute("SELECT COUNT(*) FROM reviews WHERE status = ?",
                              (ReviewStatus.PENDING.value,)).fetchone()[0]

    @staticmethod
    def _select(db: StateConnection, where: str, params: tuple, limit: int,
                offset: int) -> list[Review]:
        rows = db.execute(
            "SELECT r.id, r.created, r.status, r.session_id, r.answer, r.history, r.customer, "
            "r.final_text, r.note, r.saved_as, r.faq_id, r.job_id, r.decided, r.decided_by, "
            f"(SELECT {db.dialect.joined('kind')} FROM review_flags f WHERE f.review_id = r.id) "
            f"FROM reviews r {where} "
            f"ORDER BY {db.dialect.json_flag('r.answer', 'priority')} DESC, r.id DESC "
            "LIMIT ? OFFSET ?",
            (*params, limit, offset)).fetchall()
        return [_review(row) for row in rows]


def _review(row: tuple) -> Review:
    (review_id, created, status, session_id, answer, history, customer, final_text, note,
     saved_as, faq_id, job_id, decided, decided_by, kinds) = row
    return Review(id=review_id, created=_time(created), status=status, session_id=session_id,
                  answer=Answer.model_validate_json(answer),
                  history=[Turn.model_validate(t) for t in json.loads(history)],
                  customer=Customer.model_validate_json(customer) if customer else None,
                  flag_kinds=sorted((kinds or "").split()), final_text=final_text, note=note,
                  saved_as=saved_as, faq_id=faq_id, job_id=job_id,
                  decided=_time(decided) if decided is not None else None, decided_by=decided_by)


def _time(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
