"""Similar questions written by a chat model at ingest (`index.generated_questions`).

A team writes a few similar questions per FAQ entry; customers use many more wordings. With a
chat model configured, ingest asks it for `count` more wordings of each entry that has an
answer, and they join the entry's similar questions: matched, fitted on by the adapter and the
fine-tune, and carved into confidence's probes like the team's own.

What the model wrote is kept in a JSON file beside the index, keyed by the entry's question,
answer and the count asked. An unchanged entry is never asked again, so a re-ingest stays
cheap and deterministic, and an ingest without a chat model (the service's learning jobs)
keeps the wordings already written. The file is written every SAVE_EVERY entries asked, so a
killed ingest loses little of the model's work. An entry whose call fails gets none this time
and is asked again at the next ingest.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cs_rag.edits import write_atomic
from cs_rag.errors import InputError, LLMError
from cs_rag.text import normalize
from cs_rag.types import Document, DocumentKind

log = logging.getLogger(__name__)

CACHE_FILE = "generated_questions.json"
CACHE_VERSION = 1
SAVE_EVERY = 10   # entries asked between writes of the file: a killed ingest loses at most these
_PUNCT = re.compile(r"[\W_]+", re.UNICODE)
# (question, answer, count) -> up to `count` new wordings of the question
QuestionWriter = Callable[[str, str, int], Sequence[str]]


@dataclass
class Generation:
    """What one ingest did: entries given wordings from the cache, newly asked, failed."""

    cached: int = 0
    asked: int = 0
    failed: int = 0

    def summary(self) -> str:
        return f"generated questions: {self.cached} entries from the cache, {self.asked} asked, {self.failed} failed"


def with_generated_questions(documents: list[Document], count: int, cache_path: Path,
                             writer: QuestionWriter | None) -> tuple[list[Document], Generation]:
    """`documents` with up to `count` written wordings added to each answered FAQ entry's
    similar questions (from the cache, else from `writer` when given), and what was done.
    A cache file that cannot be read raises InputError naming it."""
    cache = _read_cache(cache_path)
    done = Generation()
    out, unsaved = [], 0
    try:
        for document in documents:
            entry = document.faq
            if document.kind is not DocumentKind.FAQ or entry is None or not (entry.answer or "").strip():
                out.append(document)
                continue
            key = _key(entry.question, entry.answer, count)
            written = cache.get(key)
            if written is not None:
                done.cached += 1
            elif writer is not None:
                try:
                    written = cache[key] = list(writer(entry.question, entry.answer, count))
                    done.asked, unsaved = done.asked + 1, unsaved + 1
                except LLMError as exc:
                    log.warning("%s: the chat model wrote no similar questions for %s: %s",
                                document.source, document.id, exc)
                    done.failed += 1
                if unsaved >= SAVE_EVERY:
                    _write_cache(cache_path, cache)
                    unsaved = 0
            new = _new_wordings(written or [], [entry.question, *entry.similar_questions], count)
            out.append(document.model_copy(update={"faq": entry.model_copy(
                update={"similar_questions": [*entry.similar_questions, *new]})}) if new else document)
    finally:   # an interrupted ingest keeps what the model wrote
        if unsaved:
            _write_cache(cache_path, cache)
    return out, done


def _new_wordings(written: Sequence[str], known: Sequence[str], count: int) -> list[str]:
    """Up to `count` of `written` that differ (normalised) from `known` and from each other."""
    seen = {_plain(q) for q in known}
    out = []
    for wording in written:
        plain = _plain(wording)
        if plain and plain not in seen and len(out) < count:
            seen.add(plain)
            out.append(wording.strip())
    return out


def _plain(text: str) -> str:
    return _PUNCT.sub("", normalize(text))


def _key(question: str, answer: str, count: int) -> str:
    return hashlib.sha256(json.dumps([question, answer, count], ensure_ascii=False).encode()).hexdigest()


def _read_cache(path: Path) -> dict[str, list[str]]:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != CACHE_VERSION:
            raise ValueError(f"version {data.get('version')!r}, expected {CACHE_VERSION}")
        entries = data["entries"]
        if not all(isinstance(v, list) and all(isinstance(q, str) for q in v) for v in entries.values()):
            raise ValueError("an entry is not a list of questions")
        return dict(entries)
    except (ValueError, KeyError, AttributeError) as exc:
        raise InputError(str(path), f"not a generated-questions file ({exc}); delete it to ask "
                         "the chat model again") from None


def _write_cache(path: Path, cache: dict[str, list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"version": CACHE_VERSION, "entries": cache}, ensure_ascii=False, indent=1)
    write_atomic(path, text.encode("utf-8"))
