"""Customers' ratings of answers ("本次服务对您有帮助吗？"): one per answer, a later one replaces it."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from enum import Enum

from pydantic import BaseModel

from cs_rag.errors import UnknownAnswerError
from cs_rag.guard import mask_pii
from cs_rag.learning.answers import AnswerLog
from cs_rag.state import StateDatabase

MAX_COMMENT_CHARS = 1000

_MIGRATIONS = ["""
CREATE TABLE IF NOT EXISTS feedback (
    answer_id TEXT PRIMARY KEY,
    helpful INTEGER NOT NULL,
    reason TEXT,
    comment TEXT,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    given_by TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS feedback_updated ON feedback(updated);
"""]


class FeedbackReason(str, Enum):
    """Why an answer did not help."""

    WRONG = "wrong"
    IRRELEVANT = "irrelevant"
    INCOMPLETE = "incomplete"
    OUTDATED = "outdated"
    UNCLEAR = "unclear"
    OTHER = "other"


class Feedback(BaseModel):
    """One rating of one answer; `comment` is masked for personal data."""

    answer_id: str
    helpful: bool
    reason: FeedbackReason | None = None
    comment: str | None = None
    created: dt.datetime
    updated: dt.datetime
    given_by: str


class FeedbackStore:
    """Ratings in the state database, keyed by the answer's trace id. Thread-safe."""

    def __init__(self, database: StateDatabase, answers: AnswerLog,
                 clock: Callable[[], float] = time.time) -> None:
        self.database = database
        self.answers = answers
        self._clock = clock
        database.migrate("feedback", _MIGRATIONS)

    def record(self, answer_id: str, helpful: bool, reason: FeedbackReason | str | None = None,
               comment: str | None = None, given_by: str = "-") -> tuple[Feedback, bool]:
        """Store the rating of answer `answer_id`, replacing an earlier one; returns it and
        whether it is the first. UnknownAnswerError if no such answer was given; ValueError for
        an unknown reason, a reason on a helpful answer or a comment over MAX_COMMENT_CHARS."""
        if isinstance(reason, str) and not isinstance(reason, FeedbackReason):
            if reason not in {r.value for r in FeedbackReason}:
                raise ValueError(f"reason: one of {', '.join(r.value for r in FeedbackReason)}")
            reason = FeedbackReason(reason)
        if helpful and reason is not None:
            raise ValueError("reason: only an unhelpful answer has a reason")
        if comment is not None and len(comment) > MAX_COMMENT_CHARS:
            raise ValueError(f"comment: at most {MAX_COMMENT_CHARS} characters")
        if self.answers.get(answer_id) is None:
            raise UnknownAnswerError(f"no answer {answer_id!r}: answer_id is the trace_id of an answer "
                                     "this service gave")
        masked = mask_pii(comment).strip() or None if comment else None
        now = self._clock()
        with self.database.transaction() as db:
            before = db.execute("SELECT created FROM feedback WHERE answer_id = ?", (answer_id,)).fetchone()
            created = before[0] if before else now
            db.execute("INSERT INTO feedback (answer_id, helpful, reason, comment, created, updated, "
                       "given_by) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (answer_id) DO UPDATE SET "
                       "helpful = excluded.helpful, reason = excluded.reason, comment = excluded.comment, "
                       "updated = excluded.updated, given_by = excluded.given_by",
                       (answer_id, int(helpful), reason.value if reason else None, masked, created, now,
                        given_by))
        return self.get(answer_id), before is None   # type: ignore[return-value]

    def get(self, answer_id: str) -> Feedback | None:
        with self.database.transaction() as db:
            row = db.execute("SELECT answer_id, helpful, reason, comment, created, updated, given_by "
                             "FROM feedback WHERE answer_id = ?", (answer_id,)).fetchone()
        return _feedback(row) if row else None

    def version(self) -> tuple[int, float]:
        """(ratings kept, the latest change's time): changes whenever a rating is given or replaced."""
        with self.database.transaction() as db:
            count, latest = db.execute("SELECT COUNT(*), MAX(updated) FROM feedback").fetchone()
        return count, latest or 0.0

    def all(self) -> dict[str, Feedback]:
        """Every rating by answer id."""
        with self.database.transaction() as db:
            rows = db.execute("SELECT answer_id, helpful, reason, comment, created, updated, given_by "
                              "FROM feedback").fetchall()
        return {row[0]: _feedback(row) for row in rows}


def _feedback(row: tuple) -> Feedback:
    answer_id, helpful, reason, comment, created, updated, given_by = row
    utc = dt.UTC
    return Feedback(answer_id=answer_id, helpful=bool(helpful), reason=reason, comment=comment,
                    created=dt.datetime.fromtimestamp(created, tz=utc),
                    updated=dt.datetime.fromtimestamp(updated, tz=utc), given_by=given_by)
