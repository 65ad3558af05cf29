"""The learning queue (知识点学习): the questions the bot could not serve, grouped by meaning, for
an operator to teach the knowledge base, one group at a time.

An item is an answer (by trace id) with a reason: refused, clarified (no option picked),
handed off for want of knowledge, disliked, or a review rejected or edited. An item joins a
group when it arrives: the open group whose items are nearest its standalone wording on average
(cosine distance at most the gap threshold `cs-rag gaps` uses, i.e. average linkage), else a new
group named after it. Groups are therefore stable: an action on some of a group's items leaves
the others in the same group, and listing is a read, not a re-clustering. Actions:
`link` (the wordings become similar questions of an entry), `create` (a new FAQ entry whose
similar questions they are), `ignore` (with a reason), `decline` (with a reason: the wordings
become a retrieval-only entry, so the same question is refused rather than answered from a
neighbouring entry) and `undo`. Each action closes the
group's items in the same transaction that audits it (who, when, what), so two operators acting
on one group cannot both win: the second gets LearningConflict.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable
from enum import Enum

import numpy as np
from pydantic import BaseModel

from cs_rag.errors import LearningConflict
from cs_rag.learning.answers import AnswerLog, AnswerRecord
from cs_rag.ops.insights import DEFAULT_GAP_THRESHOLD
from cs_rag.state import StateDatabase

Embed = Callable[[str], np.ndarray]   # one wording -> its vector

_MIGRATIONS = ["""
CREATE TABLE IF NOT EXISTS learning_items (
    trace_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    at REAL NOT NULL,
    group_id TEXT NOT NULL,
    vector BLOB NOT NULL,
    suggested TEXT,
    action_id INTEGER,
    PRIMARY KEY (trace_id, reason)
);
CREATE INDEX IF NOT EXISTS learning_items_open ON learning_items(action_id, group_id);
CREATE TABLE IF NOT EXISTS learning_actions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    group_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    entry_id TEXT,
    detail TEXT NOT NULL,
    at REAL NOT NULL,
    given_by TEXT NOT NULL,
    undone_by INTEGER,
    undoes INTEGER
);
"""]


class ItemReason(str, Enum):
    """Why a question is in the learning queue."""

    REFUSED = "refused"
    CLARIFIED = "clarified"            # offered choices, none picked
    PICKED = "picked"                  # offered choices, one picked: a wording to confirm
    HANDED_OFF = "handed_off"          # handed to a person with no confident knowledge
    DISLIKED = "disliked"
    REVIEW_REJECTED = "review_rejected"
    REVIEW_EDITED = "review_edited"


class ActionKind(str, Enum):
    LINK = "link"
    CREATE = "create"
    IGNORE = "ignore"
    DECLINE = "decline"     # the wordings become a retrieval-only entry: matched, never answered
    UNDO = "undo"


class Wording(BaseModel):
    text: str
    count: int
    first: dt.datetime
    last: dt.datetime
    sources: dict[str, int] = {}   # its items by ItemReason


class Candidate(BaseModel):
    id: str
    question: str
    score: float


class LearningGroup(BaseModel):
    """Open items that mean the same thing, with the entries they most nearly matched."""

    id: str
    count: int                       # items, repeats included
    wordings: list[Wording]          # distinct standalone questions, most asked first
    sources: dict[str, int]          # items by ItemReason
    candidates: list[Candidate]      # the 3 FAQ entries the group's wording matches best, best first
    suggested: dict[str, int] = {}   # entries customers picked from the choices offered, with counts
    members: dict[str, str]          # trace id -> its wording, oldest first (not shown to clients)

    def only(self, wordings: list[str] | None) -> LearningGroup:
        """The group narrowed to the items of `wordings` (None: all); ValueError naming a
        wording that is not the group's."""
        if wordings is None:
            return self
        known = {w.text for w in self.wordings}
        stray = next((w for w in wordings if w not in known), None)
        if stray is not None or not wordings:
            raise ValueError(f"wordings: {stray!r} is not a wording of group {self.id}" if stray
                             else "wordings: name at least one")
        chosen = set(wordings)
        return self.model_copy(update={
            "wordings": [w for w in self.wordings if w.text in chosen],
            "members": {t: w for t, w in self.members.items() if w in chosen}})


class LearningAction(BaseModel):
    """One audited action."""

    id: int
    group_id: str
    kind: ActionKind
    entry_id: str | None = None
    detail: dict
    at: dt.datetime
    given_by: str
    undone_by: int | None = None
    undoes: int | None = None


class LearningItems:
    """The items and the audit log in the state database, and the grouping. Thread-safe."""

    def __init__(self, database: StateDatabase, answers: AnswerLog, embed: Embed,
                 candidates: Callable[[str], list[Candidate]], *, threshold: float = DEFAULT_GAP_THRESHOLD,
                 clock: Callable[[], float] = time.time) -> None:
        self.database = database
        self.answers = answers
        self._embed = embed
        self._candidates = candidates
        self._threshold = threshold
        self._clock = clock
        database.migrate("learning", _MIGRATIONS)

    def add(self, record: AnswerRecord, reason: ItemReason, suggested: str | None = None) -> None:
        """Queue the answer of `record` for `reason`, in the group its other items are in, else
        the nearest open group, else a new one; `suggested` is the entry the customer picked,
        for a PICKED item."""
        trace_id = record.trace_id
        with self.database.transaction() as db:
            known = db.execute("SELECT group_id, vector FROM learning_items WHERE trace_id = ? LIMIT 1",
                               (trace_id,)).fetchone()
        if known is not None:
            group_id, blob = known
        else:
            vector = np.asarray(self._embed(record.standalone.strip()), dtype=np.float32)
            vector = vector / max(float(np.linalg.norm(vector)), 1e-12)
            group_id, blob = self._nearest_group(vector) or group_id_of(trace_id), vector.tobytes()
        with self.database.transaction() as db:
            db.execute("INSERT INTO learning_items (trace_id, reason, at, group_id, vector, suggested) "
                       "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING", (trace_id, reason.value, self._clock(), group_id, blob, suggested))

    def _nearest_group(self, vector: np.ndarray) -> str | None:
        """The open group whose items are nearest `vector` on average (cosine distance, unit
        vectors), if within the threshold."""
        with self.database.transaction() as db:
            rows = db.execute("SELECT group_id, vector FROM learning_items WHERE action_id IS NULL").fetchall()
        if not rows:
            return None
        vectors = np.frombuffer(b"".join(blob for _, blob in rows), dtype=np.float32).reshape(len(rows), -1)
        names, member_of = np.unique([group for group, _ in rows], return_inverse=True)
        mean_distance = np.bincount(member_of, weights=1.0 - vectors @ vector) / np.bincount(member_of)
        best = int(np.argmin(mean_distance))
        return str(names[best]) if mean_distance[best] <= self._threshold else None

    def withdraw(self, trace_id: str, reason: ItemReason) -> None:
        """Drop an open item whose reason no longer holds (a dislike turned into a like, a
        clarify reply whose choice was picked)."""
        with self.database.transaction() as db:
            db.execute("DELETE FROM learning_items WHERE trace_id = ? AND reason = ? AND action_id IS NULL",
                       (trace_id, reason.value))

    def groups(self, limit: int | None = None, offset: int = 0, candidates: bool = True) -> list[LearningGroup]:
        """Open groups, largest first (`limit` of them from `offset`), with their candidate
        entries (a search each) unless `candidates` is false."""
        if limit is None:
            chosen = self._open_groups()[offset:]
        else:   # only the page's groups are read and built
            with self.database.transaction() as db:
                ids = [row[0] for row in db.execute(
                    "SELECT group_id FROM learning_items WHERE action_id IS NULL GROUP BY group_id "
                    "ORDER BY COUNT(DISTINCT trace_id) DESC, MIN(at), group_id LIMIT ? OFFSET ?",
                    (limit, offset)).fetchall()]
            chosen = self._open_groups(ids) if ids else []
        if not candidates:
            return chosen
        return [g.model_copy(update={"candidates": self._candidates(g.wordings[0].text)}) for g in chosen]

    def open_count(self) -> int:
        """How many groups are open."""
        with self.database.transaction() as db:
            return db.execute("SELECT COUNT(DISTINCT group_id) FROM learning_items WHERE action_id IS NULL"
                              ).fetchone()[0]

    def _open_groups(self, group_ids: list[str] | None = None) -> list[LearningGroup]:
        """Open groups (only `group_ids` when given), largest first, then oldest."""
        query = "SELECT trace_id, reason, group_id, suggested FROM learning_items WHERE action_id IS NULL"
        if group_ids:
            query += f" AND group_id IN ({','.join('?' * len(group_ids))})"
        with self.database.transaction() as db:
            rows = db.execute(query + " ORDER BY at, trace_id", group_ids or ()).fetchall()
        reasons: dict[str, list[str]] = {}
        group_of: dict[str, str] = {}
        picked: dict[str, Counter] = {}
        for trace_id, reason, group, suggested in rows:
            reasons.setdefault(trace_id, []).append(reason)
            group_of[trace_id] = group
            if suggested:
                picked.setdefault(group, Counter())[suggested] += 1
        members: dict[str, list[AnswerRecord]] = {}
        kept = self.answers.many(list(reasons))
        for record in (kept[t] for t in reasons if t in kept):
            members.setdefault(group_of[record.trace_id], []).append(record)
        groups = [self._group(group, records, reasons).model_copy(
            update={"suggested": dict(picked.get(group, Counter()).most_common())})
            for group, records in members.items()]
        groups.sort(key=lambda g: (-g.count, min(w.first for w in g.wordings), g.id))
        return groups

    def group(self, group_id: str) -> LearningGroup:
        """The open group `group_id`: KeyError if there is none, LearningConflict if its items
        were handled already."""
        found = self._open_groups([group_id])
        if found:
            return found[0]
        with self.database.transaction() as db:
            handled = db.execute("SELECT action_id FROM learning_items WHERE group_id = ? AND action_id "
                                 "IS NOT NULL ORDER BY action_id DESC LIMIT 1", (group_id,)).fetchone()
        if handled is not None:
            raise LearningConflict(f"group {group_id} was already handled by action {handled[0]}")
        raise KeyError(group_id)

    @staticmethod
    def _group(group_id: str, records: list[AnswerRecord], reasons: dict[str, list[str]]) -> LearningGroup:
        by_text: dict[str, list[AnswerRecord]] = {}
        for record in records:
            by_text.setdefault(record.standalone.strip(), []).append(record)
        wordings = [Wording(text=text, count=len(rs), first=rs[0].at, last=rs[-1].at,
                            sources=dict(Counter(reason for r in rs for reason in reasons[r.trace_id])))
                    for text, rs in by_text.items()]
        wordings.sort(key=lambda w: (-w.count, w.first))
        sources = Counter(reason for r in records for reason in reasons[r.trace_id])
        return LearningGroup(id=group_id, count=len(records), wordings=wordings,
                             sources=dict(sources.most_common()), candidates=[],
                             members={r.trace_id: r.standalone.strip() for r in records})

    # ---- actions -------------------------------------------------------------------------

    def act(self, group: LearningGroup, kind: ActionKind, entry_id: str | None, detail: dict,
            given_by: str, apply: Callable[[int], str | None]) -> LearningAction:
        """Audit an action on `group` (maybe narrowed to some wordings, see LearningGroup.only:
        the other items stay open) and close its items, then `apply(action_id)` (the file
        change, returning the entry id it wrote, if any) inside the same transaction: an
        exception leaves nothing behind. LearningConflict when an item was closed meanwhile."""
        with self.database.transaction() as db:
            traces = list(group.members)
            marks = ",".join("?" * len(traces))
            taken = db.execute(f"SELECT action_id FROM learning_items WHERE trace_id IN ({marks}) "
                               "AND action_id IS NOT NULL LIMIT 1", traces).fetchone() if marks else None
            if taken is not None:
                raise LearningConflict(f"group {group.id} was already handled by action {taken[0]}")
            action_id = db.execute("INSERT INTO learning_actions (group_id, kind, entry_id, detail, at, "
                                   "given_by) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                                   (group.id, kind.value, entry_id, json.dumps(detail, ensure_ascii=False),
                                    self._clock(), given_by)).fetchone()[0]
            if marks:
                db.execute(f"UPDATE learning_items SET action_id = ? WHERE trace_id IN ({marks}) "
                           "AND action_id IS NULL", (action_id, *traces))
            written = apply(action_id)
            if written is not None:
                db.execute("UPDATE learning_actions SET entry_id = ? WHERE id = ?", (written, action_id))
        return self.action(action_id)

    def undo(self, group_id: str, action_id: int, given_by: str, apply: Callable[[], None]) -> LearningAction:
        """Reverse action `action_id` of group `group_id`: its items reopen, `apply()` removes
        what it wrote. KeyError if there is no such action; LearningConflict if it is an undo
        or was undone already."""
        with self.database.transaction() as db:
            row = db.execute("SELECT kind, undone_by FROM learning_actions WHERE id = ? AND group_id = ?",
                             (action_id, group_id)).fetchone()
            if row is None:
                raise KeyError(action_id)
            if row[0] == ActionKind.UNDO.value or row[1] is not None:
                raise LearningConflict(f"action {action_id} is an undo or was undone already")
            undo_id = db.execute("INSERT INTO learning_actions (group_id, kind, detail, at, given_by, undoes) "
                                 "VALUES (?, ?, '{}', ?, ?, ?) RETURNING id",
                                 (group_id, ActionKind.UNDO.value, self._clock(), given_by, action_id)
                                 ).fetchone()[0]
            db.execute("UPDATE learning_actions SET undone_by = ? WHERE id = ?", (undo_id, action_id))
            db.execute("UPDATE learning_items SET action_id = NULL WHERE action_id = ?", (action_id,))
            apply()
        return self.action(undo_id)

    def action(self, action_id: int) -> LearningAction:
        with self.database.transaction() as db:
            row = db.execute("SELECT id, group_id, kind, entry_id, detail, at, given_by, undone_by, undoes "
                             "FROM learning_actions WHERE id = ?", (action_id,)).fetchone()
        if row is None:
            raise KeyError(action_id)
        return _action(row)

    def actions(self, limit: int = 100) -> list[LearningAction]:
        """The audit log, newest first."""
        with self.database.transaction() as db:
            rows = db.execute("SELECT id, group_id, kind, entry_id, detail, at, given_by, undone_by, undoes "
                              "FROM learning_actions ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [_action(row) for row in rows]


def group_id_of(trace_id: str) -> str:
    """A group is named after the item that opened it."""
    return "g-" + hashlib.sha1(trace_id.encode("utf-8")).hexdigest()[:12]


def _action(row: tuple) -> LearningAction:
    action_id, group_id, kind, entry_id, detail, at, given_by, undone_by, undoes = row
    return LearningAction(id=action_id, group_id=group_id, kind=kind, entry_id=entry_id,
                          detail=json.loads(detail), at=dt.datetime.fromtimestamp(at, tz=dt.UTC),
                          given_by=given_by, undone_by=undone_by, undoes=undoes)
