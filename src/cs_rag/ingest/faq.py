"""Read FAQ entries from JSONL, CSV and XLSX as customer-service teams export them."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from cs_rag.errors import InputError
from cs_rag.reading import decode_text
from cs_rag.types import DECLINED_TAG, NAME_SEPARATORS, FaqEntry

# Header spellings seen in exports, compared after lower-casing and dropping spaces/_/-.
_HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "编号", "faqid", "问题id"),
    "question": ("标准问题", "标准问", "问题", "question", "standardquestion", "q"),
    "similar_questions": ("相似问题", "相似问", "相似问法", "扩展问", "扩展问题", "similarquestions",
                          "similar", "alternatives", "paraphrases"),
    "answer": ("答案", "标准答案", "回答", "answer", "a"),
    "category": ("分类", "类别", "类目", "category"),
    "tags": ("标签", "tags"),
    "products": ("适用商品", "适用产品", "商品", "产品", "products", "product"),
    "valid_from": ("生效日期", "开始日期", "validfrom"),
    "valid_to": ("失效日期", "截止日期", "结束日期", "validto"),
}
_SIMILAR_SEPARATORS = re.compile(r"[\n|｜；;]")
# how spreadsheets write dates: 2026-02-01, 2026/2/1, 2026.2.1, 2026年2月1日
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


def read_faq_jsonl_record(record: dict[str, Any], source: str, line: int) -> FaqEntry:
    """One FAQ object as in the shared `knowledge.jsonl` format.

    `"answer": null` marks a retrieval-only entry (as in evaluation sets); an empty string
    is an error, since a customer would be sent nothing.
    """
    if "question" not in record:
        raise InputError(source, "missing 'question'", line=line, field="question")
    answer = record.get("answer")
    if isinstance(answer, str) and not answer.strip():
        raise InputError(source, "empty answer", line=line, field="answer")
    return _validated(record, source, line=line)


def iter_faq_table(path: Path, source: str) -> Iterator[FaqEntry | InputError]:
    """FAQ rows from a CSV or XLSX file with a header row (Chinese or English headers).

    A bad row is yielded as an InputError naming it, so the caller decides whether to stop or
    skip it; a file without the required columns raises. Only a row tagged `declined` (wordings
    the team does not answer, as `cs-rag learning export` writes them) may leave its answer empty.
    """
    rows = _xlsx_rows(path, source) if path.suffix.lower() == ".xlsx" else _csv_rows(path, source)
    header = next(rows, None)
    if header is None:
        raise InputError(source, "empty table, expected a header row")
    columns = _map_header(header, source)
    shown = {name: _cell_text(header[1][index]) for name, index in columns.items()}
    for row_number, cells in rows:
        if all(_cell_text(c) == "" for c in cells):
            continue
        try:
            yield _entry_from_row(columns, cells, source, row_number)
        except InputError as exc:  # named by the column as the file heads it (失效日期, not valid_to)
            yield InputError(source, exc.problem, row=exc.row, field=shown.get(exc.field or "", exc.field))


def _map_header(header: tuple[int, list[Any]], source: str) -> dict[str, int]:
    _, cells = header
    columns: dict[str, int] = {}
    for index, cell in enumerate(cells):
        key = re.sub(r"[\s_\-]", "", _cell_text(cell).lower())
        for name, aliases in _HEADER_ALIASES.items():
            if key in aliases and name not in columns:
                columns[name] = index
    for required, shown in (("question", "标准问题/question"), ("answer", "答案/answer")):
        if required not in columns:
            raise InputError(source, f"no {shown} column in the header "
                             f"(found: {', '.join(_cell_text(c) for c in cells)})", row=1)
    return columns


def _entry_from_row(columns: dict[str, int], cells: list[Any], source: str,
                    row: int) -> FaqEntry:
    def cell(name: str) -> Any:
        index = columns.get(name)
        return cells[index] if index is not None and index < len(cells) else None

    question = _cell_text(cell("question"))
    answer = _cell_text(cell("answer"))
    tags = NAME_SEPARATORS.split(_cell_text(cell("tags")))
    if not question:
        raise InputError(source, "empty question", row=row, field="question")
    if not answer and DECLINED_TAG not in tags:
        raise InputError(source, "empty answer", row=row, field="answer")
    record: dict[str, Any] = {
        "id": _cell_text(cell("id")) or _stable_id(question),
        "question": question,
        "similar_questions": _SIMILAR_SEPARATORS.split(_cell_text(cell("similar_questions"))),
        "answer": answer or None,
        "category": _cell_text(cell("category")) or None,
        "tags": tags,
        "products": NAME_SEPARATORS.split(_cell_text(cell("products"))),
        "valid_from": _cell_date(cell("valid_from"), source, row, "valid_from"),
        "valid_to": _cell_date(cell("valid_to"), source, row, "valid_to"),
    }
    return _validated(record, source, row=row)


def _validated(record: dict[str, Any], source: str, *, line: int | None = None,
               row: int | None = None) -> FaqEntry:
    try:
        return FaqEntry.model_validate(record)
    except ValidationError as exc:
        raise InputError.from_validation(exc, source, line=line, row=row) from None


def _stable_id(question: str) -> str:
    """An id that survives row reordering: derived from the standard question."""
    return "faq-" + hashlib.sha1(question.encode("utf-8")).hexdigest()[:12]


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _cell_date(value: Any, source: str, row: int, field: str) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = _cell_text(value)
    if not text:
        return None
    match = _DATE.match(text)
    try:
        return dt.date(*map(int, match.groups())) if match else dt.date.fromisoformat(text)
    except ValueError:
        raise InputError(source, f"not a date (YYYY-MM-DD): {text!r}", row=row, field=field) from None


def _csv_rows(path: Path, source: str) -> Iterator[tuple[int, list[Any]]]:
    text = decode_text(path.read_bytes(), source)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        for number, cells in enumerate(reader, start=1):
            yield number, cells
    except csv.Error as exc:
        raise InputError(source, f"malformed CSV: {exc}", row=reader.line_num) from None


def _xlsx_rows(path: Path, source: str) -> Iterator[tuple[int, list[Any]]]:
    from openpyxl import load_workbook  # only XLSX users pay for importing it

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        raise InputError(source, f"not a readable XLSX workbook: {exc}") from None
    try:
        sheet = workbook.worksheets[0]
        for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, list(cells)
    finally:
        workbook.close()


