"""Quality inspection runs kept in the state database: each batch inspected from the console
(or by `POST /v1/qa` with `keep`) with its conversations, their inspections and the lines an
upload skipped, for the console's quality page. A run holds what agents and customers wrote,
as given: it is kept until an operator deletes it."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Sequence

from pydantic import BaseModel, Field

from cs_rag.qa import Conversation, Inspection
from cs_rag.state import StateDatabase

_MIGRATIONS = ["""
CREATE TABLE IF NOT EXISTS qa_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created REAL NOT NULL,
    source TEXT NOT NULL,
    conversations INTEGER NOT NULL,
    findings INTEGER NOT NULL,
    wrong_info_checked INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    skipped TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS qa_conversations (
    run_id INTEGER NOT NULL,
    position INTEGER NOT NULL,
    conversation_id TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    conversation TEXT NOT NULL,
    inspection TEXT NOT NULL,
    PRIMARY KEY (run_id, position)
);
"""]
_RUN_COLUMNS = "id, created, source, conversations, findings, wrong_info_checked, created_by, skipped"


class QaRun(BaseModel):
    """One inspected batch: where it came from, who ran it, how many conversations and
    findings, and the input lines it skipped (each named by file, line and field)."""

    id: int
    created: dt.datetime
    source: str
    conversations: int
    findings: int
    wrong_info_checked: bool
    created_by: str     # the admin key's fingerprint, never the key
    skipped: list[str] = Field(default_factory=list)


class Inspected(BaseModel):
    """One conversation of a run (at `position` in the batch) with what its inspection found."""

    position: int
    conversation: Conversation
    inspection: Inspection


class QaRunStore:
    """Inspection runs in the state database. Thread-safe."""

    def __init__(self, database: StateDatabase, clock: Callable[[], float] = time.time) -> None:
        self._db = database
        self._clock = clock
        database.migrate("qa_runs", _MIGRATIONS)

    def add(self, source: str, conversations: Sequence[Conversation], inspections: Sequence[Inspection],
            wrong_info_checked: bool, created_by: str, skipped: Sequence[str] = ()) -> QaRun:
        """Keep a run: the conversations in order, each with its inspection."""
        if len(conversations) != len(inspections):
            raise ValueError("one inspection per conversation")
        row = (self._clock(), source, len(conversations), sum(len(i.findings) for i in inspections),
               int(wrong_info_checked), created_by, json.dumps(list(skipped), ensure_ascii=False))
        with self._db.transaction() as db:
            run_id = db.execute(
                f"INSERT INTO qa_runs ({_RUN_COLUMNS.removeprefix('id, ')}) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                row).fetchone()[0]
            db.executemany(
                "INSERT INTO qa_conversations (run_id, position, conversation_id, agent_id, conversation, "
                "inspection) VALUES (?, ?, ?, ?, ?, ?)",
                [(run_id, n, c.id, c.agent_id, c.model_dump_json(), _inspection_json(i))
                 for n, (c, i) in enumerate(zip(conversations, inspections))])
        return _run((run_id, *row))

    def runs(self, limit: int = 20) -> list[QaRun]:
        """The newest runs first."""
        with self._db.transaction() as db:
            rows = db.execute(f"SELECT {_RUN_COLUMNS} FROM qa_runs ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [_run(row) for row in rows]

    def run(self, run_id: int) -> QaRun | None:
        """The run `run_id`, None when there is none."""
        with self._db.transaction() as db:
            row = db.execute(f"SELECT {_RUN_COLUMNS} FROM qa_runs WHERE id = ?", (run_id,)).fetchone()
        return _run(row) if row else None

    def inspected(self, run_id: int, position: int | None = None) -> list[Inspected]:
        """A run's conversations in the order inspected, or only the one at `position`."""
        clause, params = ("AND position = ? ", (run_id, position)) if position is not None else ("", (run_id,))
        with self._db.transaction() as db:
            rows = db.execute(f"SELECT position, conversation, inspection FROM qa_conversations WHERE run_id = ? "
                              f"{clause}ORDER BY position", params).fetchall()
        return [Inspected(position=p, conversation=Conversation.model_validate_json(c),
                          inspection=Inspection.model_validate_json(i)) for p, c, i in rows]

    def delete(self, run_id: int) -> bool:
        """Forget a run and its conversations; False when there was none."""
        with self._db.transaction() as db:
            db.execute("DELETE FROM qa_conversations WHERE run_id = ?", (run_id,))
            return db.execute("DELETE FROM qa_runs WHERE id = ? RETURNING id", (run_id,)).fetchone() is not None


def _inspection_json(inspection: Inspection) -> str:
    """The inspection with its measures, which its own JSON leaves out (the page's agent
    figures need them)."""
    return json.dumps({**inspection.model_dump(mode="json"), "measures": inspection.measures.model_dump(mode="json")},
                      ensure_ascii=False)


def _run(row: tuple) -> QaRun:
    run_id, created, source, conversations, findings, checked, created_by, skipped = row
    return QaRun(id=run_id, created=dt.datetime.fromtimestamp(created, tz=dt.UTC), source=source,
                 conversations=conversations, findings=findings, wrong_info_checked=bool(checked),
                 created_by=created_by, skipped=json.loads(skipped))
