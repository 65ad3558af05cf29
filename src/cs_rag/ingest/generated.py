"""Similar questions written by a chat model at ingest (`index.generated_questions`).

A team writes a few similar questions per FAQ entry; customers use many more wordings. With a
chat model configured, ingest asks it for `count` more wordings of each entry that has an
answer, and they join the entry's similar questions: matched, fitted on by the adapter and the
fine-tune, and carved into confidence's probes like the team's own. A wording that repeats any
entry's question or similar question (punctuation and case aside) is dropped.

What the model wrote is kept in `generated_questions.json` beside the index, per entry (its
question and answer; the file shows the question, how many wordings were asked for, what came
back and what the last ingest added). An unchanged entry is not asked again unless `count` grew, so a re-ingest stays
cheap and deterministic, and an ingest without a chat model (the service without one, `cs-rag
learning`) keeps what was written; lowering `count` uses the first ones. The file is the review
point: a wording deleted from an entry's `wordings` stays out. Delete the file to ask again
after editing the `similar` prompt or changing the model. The file is written every
SAVE_EVERY entries asked, so a killed ingest loses little; an entry whose call fails gets none
this time and is asked again at the next ingest; after FAILURES_IN_A_ROW failed calls the
ingest stops asking (a model that is down would cost its timeout per entry).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cs_rag.edits import write_atomic
from cs_rag.errors import InputError, LLMError
from cs_rag.text import plain
from cs_rag.types import Document, DocumentKind, FaqEntry

log = logging.getLogger(__name__)

CACHE_FILE = "generated_questions.json"
CACHE_VERSION = 2
SAVE_EVERY = 10          # entries asked between writes of the file: a killed ingest loses at most these
FAILURES_IN_A_ROW = 5    # failed calls after which an ingest stops asking
# (question, answer, count) -> up to `count` new wordings of the question
QuestionWriter = Callable[[str, str, int], Sequence[str]]


@dataclass
class Generation:
    """What one ingest did: entries given wordings from the file, newly asked, failed."""

    cached: int = 0
    asked: int = 0
    failed: int = 0

    def summary(self) -> str:
        return f"generated questions: {self.cached} entries from the file, {self.asked} asked, {self.failed} failed"


def with_generated_questions(documents: list[Document], count: int, cache_path: Path,
                             writer: QuestionWriter | None) -> tuple[list[Document], Generation]:
    """`documents` with up to `count` written wordings added to each answered FAQ entry's
    similar questions (from the file, else from `writer` when given), and what was done.
    A file that cannot be read raises InputError naming it."""
    cache = _read_cache(cache_path)
    taken = {plain(q) for d in documents if d.faq for q in (d.faq.question, *d.faq.similar_questions)}
    done, out, unsaved, failing = Generation(), [], 0, 0
    try:
        for document in documents:
            entry = document.faq
            if document.kind is not DocumentKind.FAQ or entry is None or not (entry.answer or "").strip():
                out.append(document)
                continue
            key = _key(entry)
            record = cache.get(key)
            if writer is not None and failing < FAILURES_IN_A_ROW and (record is None or record["asked"] < count):
                try:
                    wordings = list(writer(entry.question, entry.answer, count))
                    record = cache[key] = {"question": entry.question, "asked": count, "wordings": wordings}
                    done.asked, unsaved, failing = done.asked + 1, unsaved + 1, 0
                except LLMError as exc:
                    log.warning("%s: the chat model wrote no similar questions for %s: %s",
                                document.source, document.id, exc)
                    done.failed, failing = done.failed + 1, failing + 1
                if unsaved >= SAVE_EVERY:
                    _write_cache(cache_path, cache)
                    unsaved = 0
            elif record is not None:
                done.cached += 1
            new = _new_wordings(record["wordings"] if record else [], taken, count)
            if record is not None and record.get("added") != new:   # what this entry got, for `added_wordings`
                record["added"], unsaved = new, unsaved + 1
            out.append(document.model_copy(update={"faq": entry.model_copy(
                update={"similar_questions": [*entry.similar_questions, *new]})}) if new else document)
    finally:   # an interrupted ingest keeps what the model wrote
        if unsaved:
            _write_cache(cache_path, cache)
    return out, done


def added_wordings(cache_path: Path) -> set[str]:
    """The model's wordings the last ingest added to entries (never one the team wrote: those
    are dropped as repeats), to tell them from the team's own; empty without a file."""
    return {w for record in _read_cache(cache_path).values() for w in record.get("added", [])}


def _new_wordings(written: Sequence[str], taken: set[str], count: int) -> list[str]:
    """Up to `count` of `written` that differ (normalised) from every wording in `taken`,
    which gains them."""
    out = []
    for wording in written:
        same = plain(wording)
        if same and same not in taken and len(out) < count:
            taken.add(same)
            out.append(wording.strip())
    return out


def _key(entry: FaqEntry) -> str:
    return hashlib.sha256(json.dumps([entry.question, entry.answer], ensure_ascii=False).encode()).hexdigest()


def _read_cache(path: Path) -> dict[str, dict]:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != CACHE_VERSION:
            raise ValueError(f"version {data.get('version')!r}, expected {CACHE_VERSION}")
        entries = data["entries"]
        for record in entries.values():
            if not (isinstance(record.get("asked"), int) and isinstance(record.get("wordings"), list)
                    and all(isinstance(w, str) for w in record["wordings"])):
                raise ValueError("an entry lacks 'asked' or a list of 'wordings'")
        return dict(entries)
    except (ValueError, KeyError, AttributeError) as exc:
        raise InputError(str(path), f"not a generated-questions file ({exc}); delete it to ask "
                         "the chat model again") from None


def _write_cache(path: Path, cache: dict[str, dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"version": CACHE_VERSION, "entries": cache}, ensure_ascii=False, indent=1)
    write_atomic(path, text.encode("utf-8"))
