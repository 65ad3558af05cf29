"""Conversation sessions kept server-side in the state database: history for follow-ups, ending after idle time."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from cs_rag.state import StateConnection, StateDatabase
from cs_rag.types import Customer, Turn

PURGE_EVERY_SECONDS = 60.0

_MIGRATIONS = ["""
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    created REAL NOT NULL,
    last_turn REAL NOT NULL,
    customer TEXT
);
CREATE INDEX IF NOT EXISTS sessions_last_turn ON sessions(last_turn);
CREATE TABLE IF NOT EXISTS turns (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL,
    role TEXT NOT NULL,
    content TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS turns_session ON turns(session_id, seq);
CREATE TABLE IF NOT EXISTS offers (
    session_id TEXT NOT NULL,
    marker INTEGER NOT NULL,
    option_id TEXT NOT NULL,
    title TEXT NOT NULL,
    PRIMARY KEY (session_id, marker)
);
"""]


@dataclass(frozen=True)
class Session:
    """A session as one request sees it.

    `new` is true when the request starts a session; `expired` then names the session the
    request asked to continue if that one can no longer be continued (idle past the TTL, or
    unknown to this service). `history` holds the newest turns, oldest first.
    """

    id: str
    new: bool
    expired: str | None
    history: list[Turn]
    customer: Customer | None


class SessionStore:
    """Sessions in the state database. A session ends `ttl_seconds` after its last turn; ended sessions
    are deleted (at most every PURGE_EVERY_SECONDS). Thread-safe."""

    def __init__(self, database: StateDatabase, ttl_seconds: float,
                 clock: Callable[[], float] = time.time) -> None:
        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._db = database
        self._db.migrate("sessions", _MIGRATIONS)
        self._purged = 0.0

    def open(self, session_id: str | None, history_turns: int,
             customer: Customer | None = None) -> Session:
        """Continue `session_id` if it is alive, else start a new session.

        `customer`, when given, replaces what the session knew of the customer; otherwise the
        session's stored customer is returned. At most `history_turns` newest turns come back.
        """
        now = self._clock()
        with self._db.transaction() as db:
            self._purge(db, now)
            row = None
            if session_id is not None:
                row = db.execute("SELECT customer FROM sessions WHERE id = ? AND last_turn >= ?",
                                 (session_id, now - self.ttl_seconds)).fetchone()
            if row is None:
                new_id = uuid.uuid4().hex
                db.execute("INSERT INTO sessions (id, created, last_turn, customer) VALUES (?, ?, ?, ?)",
                           (new_id, now, now, _customer_json(customer)))
                return Session(new_id, True, session_id, [], customer)
            if customer is not None:
                db.execute("UPDATE sessions SET customer = ? WHERE id = ?",
                           (_customer_json(customer), session_id))
            stored = customer or (Customer.model_validate_json(row[0]) if row[0] else None)
            return Session(session_id, False, None, _turns(db, session_id, history_turns), stored)

    def append(self, session_id: str, turns: list[Turn],
               offers: list[tuple[int, str, str]] = ()) -> None:
        """Add turns to a session and restart its idle clock. `offers` (marker, option id,
        title) are the choices the last reply offered; they replace any earlier ones."""
        now = self._clock()
        with self._db.transaction() as db:
            db.executemany("INSERT INTO turns (session_id, role, content, at) VALUES (?, ?, ?, ?)",
                           [(session_id, t.role, t.content, now) for t in turns])
            db.execute("UPDATE sessions SET last_turn = ? WHERE id = ?", (now, session_id))
            db.execute("DELETE FROM offers WHERE session_id = ?", (session_id,))
            db.executemany("INSERT INTO offers (session_id, marker, option_id, title) VALUES (?, ?, ?, ?)",
                           [(session_id, *offer) for offer in offers])

    def picked(self, session_id: str, reply: str) -> tuple[str, str] | None:
        """(option id, title) when `reply` picks one of the choices the session's last reply
        offered: its number ("2", "2."、"第2个") or its title; None otherwise."""
        text = reply.strip().removeprefix("第").rstrip("。.、个條条 ")
        with self._db.transaction() as db:
            rows = db.execute("SELECT marker, option_id, title FROM offers WHERE session_id = ?",
                              (session_id,)).fetchall()
        return next(((option_id, title) for marker, option_id, title in rows
                     if text == str(marker) or reply.strip() == title), None)

    def history(self, session_id: str, history_turns: int) -> list[Turn] | None:
        """The newest turns of a live session, oldest first; None if it has ended or is unknown."""
        with self._db.transaction() as db:
            alive = db.execute("SELECT 1 FROM sessions WHERE id = ? AND last_turn >= ?",
                               (session_id, self._clock() - self.ttl_seconds)).fetchone()
            return _turns(db, session_id, history_turns) if alive else None

    def count(self) -> int:
        """Live sessions."""
        with self._db.transaction() as db:
            return db.execute("SELECT COUNT(*) FROM sessions WHERE last_turn >= ?",
                              (self._clock() - self.ttl_seconds,)).fetchone()[0]

    def _purge(self, db: StateConnection, now: float) -> None:
        if now - self._purged < PURGE_EVERY_SECONDS:
            return
        self._purged = now
        cutoff = now - self.ttl_seconds
        for table in ("turns", "offers"):
            db.execute(f"DELETE FROM {table} WHERE session_id IN (SELECT id FROM sessions WHERE last_turn < ?)",
                       (cutoff,))
        db.execute("DELETE FROM sessions WHERE last_turn < ?", (cutoff,))


def _customer_json(customer: Customer | None) -> str | None:
    return customer.model_dump_json() if customer is not None else None


def _turns(db: StateConnection, session_id: str, limit: int) -> list[Turn]:
    rows = db.execute("SELECT role, content FROM turns WHERE session_id = ? ORDER BY seq DESC LIMIT ?",
                      (session_id, limit)).fetchall()
    return [Turn(role=role, content=content) for role, content in reversed(rows)]
