"""The FAQ entries learning touched, merged with the team's own, as a file for the master copy."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import openpyxl

from cs_rag.errors import InputError
from cs_rag.ingest.sources import collect_documents
from cs_rag.learning.knowledge import LearnedKnowledge
from cs_rag.types import FaqEntry

COLUMNS = ("id", "question", "similar_questions", "answer", "category", "tags", "products", "valid_from",
           "valid_to")


def export_learned(paths: Sequence[Path], learned_file: Path, out: Path) -> tuple[int, int]:
    """Write every FAQ entry the learned file extends or creates, as the next ingest of `paths`
    (the team's knowledge and the learned file's folder) would see it, to `out` (.jsonl or
    .xlsx, whose columns cs_rag reads back); returns (entries written, touched entries that
    `paths` do not define, e.g. the team's files were not given)."""
    if out.suffix.lower() not in (".jsonl", ".xlsx"):
        raise InputError(str(out), "export to a .jsonl or .xlsx file")
    touched = {record.get("extends") or record["creates"]["id"]
               for record in LearnedKnowledge(learned_file).records()}
    collected = collect_documents(paths, skip_bad=True)
    entries = [d.faq for d in collected.documents if d.faq is not None and d.id in touched]
    missing = len(touched - {e.id for e in entries})
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".jsonl":
        out.write_text("".join(e.model_dump_json(exclude_none=True) + "\n" for e in entries), encoding="utf-8")
    else:
        _write_xlsx(entries, out)
    return len(entries), missing


def _write_xlsx(entries: list[FaqEntry], out: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "FAQ"
    sheet.append(list(COLUMNS))
    for entry in entries:
        row = json.loads(entry.model_dump_json())
        sheet.append([_joined(c, row[c]) if isinstance(row[c], list) else row[c] for c in COLUMNS])
    workbook.save(out)


def _joined(column: str, values: list[str]) -> str:
    """A list cell as the FAQ table reader splits it: similar questions one per line, names
    (tags, products) separated by |."""
    return ("\n" if column == "similar_questions" else "|").join(values)
