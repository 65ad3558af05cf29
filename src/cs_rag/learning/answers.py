"""Every answer given, kept so that feedback can name it (by its trace id) and the learning
queue can find the questions the bot could not serve."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from cs_rag.state import Dialect, StateDatabase
from cs_rag.types import Answer, DocumentKind, Outcome

_MIGRATIONS = ["""
CREATE TABLE IF NOT EXISTS answers (
    trace_id TEXT PRIMARY KEY,
    at REAL NOT NULL,
    session_id TEXT,
    question TEXT NOT NULL,
    standalone TEXT NOT NULL,
    language TEXT NOT NULL,
    outcome TEXT NOT NULL,
    routing TEXT NOT NULL,
    confidence REAL NOT NULL,
    first_id TEXT,
    first_kind TEXT,
    options TEXT NOT NULL,
    picked INTEGER NOT NULL DEFAULT 0,
    latency_ms REAL,
    answer TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS answers_at ON answers(at);
CREATE INDEX IF NOT EXISTS answers_session ON answers(session_id, at);
"""]


@dataclass(frozen=True)
class AnswerRecord:
    """One answer as the log keeps it; `question` was masked by the pipeline."""

    trace_id: str
    at: dt.datetime
    session_id: str | None
    question: str
    standalone: str        # the question after the follow-up rewrite: what was searched
    language: str
    outcome: Outcome
    routing: str
    confidence: float
    first_id: str | None   # the entry or document cited (answered) or ranked first
    first_kind: DocumentKind | None
    options: list[str]     # the entry ids a clarify reply offered
    picked: bool           # a clarify reply one of whose options the customer then picked
    latency_ms: float | None
    question_type: str | None = None   # the customer message's (QuestionType value)
    emotion: str = "none"              # the customer message's emotion label (Emotion value)
    level: int = 0                     # ... and its warning level 0-3

    def answer(self, database: StateDatabase) -> Answer:
        """The whole Answer, with its trace (read on demand: it is the largest column)."""
        with database.transaction() as db:
            row = db.execute("SELECT answer FROM answers WHERE trace_id = ?", (self.trace_id,)).fetchone()
        return Answer.model_validate_json(row[0])


class AnswerLog:
    """The answers table. Thread-safe (through the Database)."""

    COLUMNS = ("trace_id, at, session_id, question, standalone, language, outcome, routing, "
               "confidence, first_id, first_kind, options, picked, latency_ms")
    # question type and emotion are read from the stored Answer, so logs written before these
    # fields existed read as unknown
    EXTRACTED = ("question_type", "emotion.label", "emotion.level")

    @classmethod
    def selected_from(cls, table: str, dialect: Dialect) -> str:
        """The columns a record is read from (record_from_row), taken from `table` (a name or a
        join's alias)."""
        return ", ".join([f"{table}.{c.strip()}" for c in cls.COLUMNS.split(",")]
                         + [dialect.json_text(f"{table}.answer", path) for path in cls.EXTRACTED])

    def __init__(self, database: StateDatabase, clock: Callable[[], float] = time.time) -> None:
        self.database = database
        self._clock = clock
        database.migrate("answers", _MIGRATIONS)

    def remember(self, answer: Answer, session_id: str | None = None) -> AnswerRecord:
        """Keep `answer`; a choice of an offered option also marks that session's latest
        clarify reply as picked."""
        first_id, first_kind = _first(answer)
        standalone = answer.trace.get("rewrite", {}).get("question") or answer.question
        latency = answer.trace.get("timings_ms", {}).get("total")
        row = (answer.trace_id, self._clock(), session_id, answer.question, standalone, answer.language,
               answer.outcome.value, answer.routing.value, float(answer.confidence), first_id,
               first_kind, json.dumps([o.id for o in answer.options]), 0, latency)
        with self.database.transaction() as db:
            db.execute(f"INSERT INTO answers ({self.COLUMNS}, answer) VALUES ({', '.join('?' * len(row))}, ?) "
                       f"ON CONFLICT (trace_id) DO UPDATE SET {_REPLACE_ALL}", (*row, answer.model_dump_json()))
            chosen = answer.trace.get("chosen_option")
            if chosen and session_id:
                db.execute("UPDATE answers SET picked = 1 WHERE trace_id = (SELECT trace_id FROM answers "
                           "WHERE session_id = ? AND outcome = ? AND trace_id != ? ORDER BY at DESC LIMIT 1)",
                           (session_id, Outcome.CLARIFY.value, answer.trace_id))
        return record_from_row((*row, answer.question_type.value if answer.question_type else None,
                                answer.emotion.label.value, answer.emotion.level))

    def get(self, trace_id: str) -> AnswerRecord | None:
        with self.database.transaction() as db:
            row = db.execute(f"SELECT {self.selected_from('answers', db.dialect)} FROM answers WHERE trace_id = ?", (trace_id,)).fetchone()
        return record_from_row(row) if row else None

    def many(self, trace_ids: list[str]) -> dict[str, AnswerRecord]:
        """The records of `trace_ids` that are kept, by trace id (one query per 500 ids)."""
        found: dict[str, AnswerRecord] = {}
        with self.database.transaction() as db:
            for start in range(0, len(trace_ids), 500):
                chunk = trace_ids[start:start + 500]
                rows = db.execute(f"SELECT {self.selected_from('answers', db.dialect)} FROM answers WHERE trace_id IN "
                                  f"({', '.join('?' * len(chunk))})", chunk).fetchall()
                found.update((row[0], record_from_row(row)) for row in rows)
        return found

    def count(self, since: dt.datetime | None = None) -> int:
        """How many answers were given since `since` (all without it)."""
        with self.database.transaction() as db:
            return db.execute("SELECT COUNT(*) FROM answers WHERE at >= ?",
                              (since.timestamp() if since else float("-inf"),)).fetchone()[0]

    def latest_clarify(self, session_id: str) -> AnswerRecord | None:
        """The session's newest clarify reply."""
        with self.database.transaction() as db:
            row = db.execute(f"SELECT {self.selected_from('answers', db.dialect)} FROM answers WHERE session_id = ? AND outcome = ? "
                             "ORDER BY at DESC LIMIT 1", (session_id, Outcome.CLARIFY.value)).fetchone()
        return record_from_row(row) if row else None

    def between(self, since: dt.datetime | None = None, until: dt.datetime | None = None) -> list[AnswerRecord]:
        """Answers given in [since, until), oldest first (either bound may be open)."""
        low = since.timestamp() if since else float("-inf")
        high = until.timestamp() if until else float("inf")
        with self.database.transaction() as db:
            rows = db.execute(f"SELECT {self.selected_from('answers', db.dialect)} FROM answers WHERE at >= ? AND at < ? ORDER BY at",
                              (low, high)).fetchall()
        return [record_from_row(row) for row in rows]

    def conversations(self, keys: list[str]) -> dict[str, list[tuple[AnswerRecord, str]]]:
        """Every answer of the conversations `keys` (a session id, or the trace id of an
        answer given outside any session), oldest first, each with the reply's text; one query
        per 500 keys."""
        found: dict[str, list[tuple[AnswerRecord, str]]] = {}
        with self.database.transaction() as db:
            for start in range(0, len(keys), 500):
                chunk = keys[start:start + 500]
                marks = ", ".join("?" * len(chunk))
                rows = db.execute(f"SELECT {self.selected_from('answers', db.dialect)}, "
                                  f"{db.dialect.json_text('answers.answer', 'text')} FROM answers "
                                  f"WHERE session_id IN ({marks}) OR (session_id IS NULL AND trace_id IN ({marks})) "
                                  "ORDER BY at", [*chunk, *chunk]).fetchall()
                for row in rows:
                    record = record_from_row(row[:-1])
                    found.setdefault(record.session_id or record.trace_id, []).append((record, row[-1] or ""))
        return found


_REPLACE_ALL = ", ".join(f"{c.strip()} = excluded.{c.strip()}"
                         for c in (AnswerLog.COLUMNS + ", answer").split(",")[1:])


def _first(answer: Answer) -> tuple[str | None, str | None]:
    if answer.citations:
        return answer.citations[0].doc_id, answer.citations[0].kind.value
    hits = answer.trace.get("retrieval", {}).get("hits") or []
    return (hits[0]["id"].split("#")[0], None) if hits else (None, None)


def record_from_row(row: tuple) -> AnswerRecord:
    """An AnswerRecord from a row of `AnswerLog.selected_from(...)`."""
    (trace_id, at, session_id, question, standalone, language, outcome, routing, confidence,
     first_id, first_kind, options, picked, latency_ms, question_type, emotion, level) = row
    return AnswerRecord(trace_id, dt.datetime.fromtimestamp(at, tz=dt.UTC), session_id, question,
                        standalone, language, Outcome(outcome), routing, confidence, first_id,
                        DocumentKind(first_kind) if first_kind else None, json.loads(options),
                        bool(picked), latency_ms, question_type, emotion or "none", int(level or 0))
