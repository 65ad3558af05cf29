"""The question log as operators browse it: answers filtered by outcome, flag kind, rating,
time and text, newest first, each with its rating (the console's conversations page)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import Enum

from cs_rag.learning.answers import AnswerLog, AnswerRecord, record_from_row
from cs_rag.learning.feedback import Feedback, FeedbackStore
from cs_rag.state import StateDatabase
from cs_rag.types import FlagKind, Outcome


class Rated(str, Enum):
    """A filter on the customer's rating."""

    HELPFUL = "helpful"
    UNHELPFUL = "unhelpful"
    UNRATED = "unrated"


@dataclass(frozen=True)
class LogFilter:
    """Which answers to list; None (or empty text) leaves that condition out. `text` matches
    the question or its rewrite, as a substring."""

    outcome: Outcome | None = None
    flag: FlagKind | None = None
    rated: Rated | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    text: str = ""


def find_answers(database: StateDatabase, feedback: FeedbackStore, where: LogFilter, limit: int = 50,
                 offset: int = 0) -> tuple[list[tuple[AnswerRecord, Feedback | None]], int]:
    """(the page of matching answers, newest first, with their ratings; how many match)."""
    dialect = database.dialect
    conditions, params = ["1 = 1"], []
    if where.outcome is not None:
        conditions.append("a.outcome = ?")
        params.append(where.outcome.value)
    if where.flag is not None:
        conditions.append(dialect.json_array_has("a.answer", "flags", "kind"))
        params.append(where.flag.value)
    if where.rated is Rated.UNRATED:
        conditions.append("f.answer_id IS NULL")
    elif where.rated is not None:
        conditions.append("f.helpful = ?")
        params.append(1 if where.rated is Rated.HELPFUL else 0)
    if where.since is not None:
        conditions.append("a.at >= ?")
        params.append(where.since.timestamp())
    if where.until is not None:
        conditions.append("a.at < ?")
        params.append(where.until.timestamp())
    if where.text.strip():
        conditions.append(f"({dialect.contains('a.question')} OR {dialect.contains('a.standalone')})")
        params.extend([where.text.strip()] * 2)
    columns = AnswerLog.selected_from("a", dialect)
    body = f"FROM answers a LEFT JOIN feedback f ON f.answer_id = a.trace_id WHERE {' AND '.join(conditions)}"
    with database.transaction() as db:
        total = db.execute(f"SELECT COUNT(*) {body}", params).fetchone()[0]
        rows = db.execute(f"SELECT {columns} {body} ORDER BY a.at DESC LIMIT ? OFFSET ?",
                          (*params, limit, offset)).fetchall()
    records = [record_from_row(row) for row in rows]
    return [(record, feedback.get(record.trace_id)) for record in records], total
