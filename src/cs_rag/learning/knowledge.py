"""The knowledge the learning loop writes: one JSONL file that every ingest includes.

It holds FAQ entries created from the learning queue (`{"creates": {entry learned-<action>},
"action": N}`, cs_rag.ingest.sources.FaqProposal: used while the team's files do not define that
id, so an exported entry merged into the team's Excel simply takes over; declined wordings are
such an entry without an answer, tagged `declined`) and extension records
(`{"extends": ID, "similar_questions": [...], "answer": ..., "action": N}`, see
cs_rag.ingest.sources.FaqExtension) that teach entries defined in the team's own files. Because
the file lives apart from the team's folders, a re-ingest of those folders keeps what was
learned. Every record carries the action that wrote it, so an action can be undone; each write
is atomic.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from cs_rag.edits import FileEditor
from cs_rag.types import FaqEntry

LEARNED_FILE = "learned.jsonl"
CREATED_PREFIX = "learned-"


def created_entry_id(action_id: int) -> str:
    """The id of the FAQ entry a `create` action writes."""
    return f"{CREATED_PREFIX}{action_id}"


class LearnedKnowledge:
    """The learned-knowledge file at `path` (created empty if missing). Thread-safe."""

    def __init__(self, path: Path, editor: FileEditor | None = None) -> None:
        self.path = path
        self._editor = editor or FileEditor()
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"")

    def extend(self, action_id: int, entry_id: str, similar_questions: list[str] | None = None,
               answer: str | None = None) -> None:
        """Add phrasings to, or replace the answer of, FAQ entry `entry_id`."""
        record: dict = {"extends": entry_id, "action": action_id}
        if similar_questions:
            record["similar_questions"] = similar_questions
        if answer is not None:
            record["answer"] = answer
        self._append(record)

    def create(self, action_id: int, question: str, answer: str | None, category: str | None,
               similar_questions: list[str], tags: tuple[str, ...] = ("learned",)) -> str:
        """Write a new FAQ entry (retrieval-only when `answer` is None); returns its id."""
        entry = FaqEntry(id=created_entry_id(action_id), question=question, answer=answer,
                         category=category, similar_questions=[q for q in similar_questions if q != question],
                         tags=list(tags))
        self._append({"creates": json.loads(entry.model_dump_json(exclude_none=True)), "action": action_id})
        return entry.id

    def remove_action(self, action_id: int) -> None:
        """Drop every record `action_id` wrote (its extensions, or the entry it created)."""
        self._rewrite(lambda record: record.get("action") != action_id)

    def records(self) -> list[dict]:
        return [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines() if line.strip()]

    def _append(self, record: dict) -> None:
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        self._editor.edit(self.path, lambda old: (old or b"") + line)

    def _rewrite(self, keep: Callable[[dict], bool]) -> None:
        def change(old: bytes | None) -> bytes:
            lines = (old or b"").decode("utf-8").splitlines(keepends=True)
            return "".join(line for line in lines if line.strip() and keep(json.loads(line))).encode("utf-8")
        self._editor.edit(self.path, change)
