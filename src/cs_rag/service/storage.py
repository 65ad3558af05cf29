"""The service's own knowledge folder: uploads and FAQ entries saved from reviews, each change
undoable."""

from __future__ import annotations

import json
import re
from pathlib import Path

from cs_rag.edits import FileEditor, Undo
from cs_rag.ingest.sources import JSONL_SUFFIXES
from cs_rag.types import FaqEntry

REVIEWED_FAQ = "reviewed_faq.jsonl"
_UNSAFE_NAME = re.compile(r"[^0-9A-Za-z_\-\u3400-\u9fff]+")


class KnowledgeFolder:
    """The service's own knowledge, ingested together with the configured sources: uploaded
    files under `uploads/` and FAQ entries saved from reviews in REVIEWED_FAQ (which always
    exists, so the folder is never empty of knowledge files). Writes are atomic (a dot-named
    temporary file, which ingest skips, then a rename). Every change returns an undo that
    restores the file as it was, unless it has changed again since. Thread-safe."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.uploads = root / "uploads"
        self.reviewed = root / REVIEWED_FAQ
        self.uploads.mkdir(parents=True, exist_ok=True)
        if not self.reviewed.exists():
            self.reviewed.write_bytes(b"")
        self.editor = FileEditor()

    def owns(self, file: Path) -> bool:
        return self.root.resolve() in file.resolve().parents

    def put(self, path: Path, data: bytes) -> Undo:
        return self.editor.edit(path, lambda _old: data)

    def add_faq(self, entry: FaqEntry) -> Undo:
        line = (entry.model_dump_json(exclude_none=True) + "\n").encode("utf-8")
        return self.editor.edit(self.reviewed, lambda old: (old or b"") + line)

    def remove_document(self, file: Path, doc_id: str) -> Undo:
        """Remove one document: its line from a JSONL file (the file itself once empty, except
        REVIEWED_FAQ), or the whole file for any other format (one document per file)."""
        def change(old: bytes | None) -> bytes | None:
            if file.suffix.lower() not in JSONL_SUFFIXES or old is None:
                return None
            kept = [line for line in old.decode("utf-8-sig").splitlines(keepends=True)
                    if line.strip() and _record_id(line) != doc_id]
            if not kept and file.resolve() != self.reviewed.resolve():
                return None
            return "".join(kept).encode("utf-8")
        return self.editor.edit(file, change)


def _record_id(line: str) -> str | None:
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return None
    return record.get("id") if isinstance(record, dict) else None


def upload_name(filename: str | None) -> tuple[str, str]:
    """(stem, lower-case suffix) to store an upload under: only the last path component of
    `filename` is used, and of its stem only letters, digits, CJK characters, '_' and '-'
    (anything else becomes '_'), so no name can leave the uploads folder."""
    base = re.split(r"[\\/]", filename or "")[-1]
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    clean = _UNSAFE_NAME.sub("_", stem).strip("_-")[:64] or "upload"
    return clean, ("." + suffix.lower()) if dot else ""


