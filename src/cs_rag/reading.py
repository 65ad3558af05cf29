"""Reading the text files users write: decoding (UTF-8, GB18030, a BOM'd UTF-16), line files
with `#` comments, and JSONL; every problem is an InputError naming the file and line."""

from __future__ import annotations

import codecs
import importlib.resources
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from charset_normalizer import from_bytes

from cs_rag.errors import InputError


def read_text(path: Path, what: str) -> str:
    """The file decoded as UTF-8 (a BOM is dropped); InputError "cannot read `what`" otherwise."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(str(path), f"cannot read {what}: {exc}") from None


def content_lines(path: Path, what: str) -> Iterator[tuple[int, str]]:
    """(line number, stripped line) for each line that is neither blank nor a `#` comment."""
    for number, raw in enumerate(read_text(path, what).splitlines(), start=1):
        line = raw.strip()
        if line and not line.startswith("#"):
            yield number, line


T = TypeVar("T")


def load_data_file(name: str, load: Callable[[Path], T], path: Path | None = None) -> T | None:
    """`load(path)`, or of the file `name` cs_rag ships in its `data/` folder without a path;
    None when the file does not exist."""
    if path is not None:
        return load(path) if path.is_file() else None
    ref = importlib.resources.files("cs_rag") / "data" / name
    if not ref.is_file():
        return None
    with importlib.resources.as_file(ref) as shipped:
        return load(shipped)


def shipped_lines(name: str) -> list[str]:
    """The content lines (see content_lines) of a file cs_rag ships in its `data/` folder."""
    with importlib.resources.as_file(importlib.resources.files("cs_rag") / "data" / name) as path:
        return [line for _, line in content_lines(path, name)]


def shipped_text(name: str) -> str:
    """The whole text, comments included, of a file cs_rag ships in its `data/` folder."""
    return (importlib.resources.files("cs_rag") / "data" / name).read_text(encoding="utf-8")


def iter_jsonl(path: Path, source: str) -> Iterator[tuple[int, dict[str, Any]] | InputError]:
    """(line number, object) for each non-blank line, or an InputError naming a bad line; the
    lines after a bad one are still read (so `--skip-bad` loses only that line)."""
    return jsonl_records(path.read_bytes(), source)


def jsonl_records(data: bytes, source: str) -> Iterator[tuple[int, dict[str, Any]] | InputError]:
    """`iter_jsonl` over a file's bytes (an upload)."""
    text = decode_text(data, source)
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as exc:
            yield InputError(source, f"malformed JSON: {exc.msg} at column {exc.colno}", line=number)
            continue
        if not isinstance(record, dict):
            yield InputError(source, "expected a JSON object", line=number)
            continue
        yield number, record


def parse_jsonl(path: Path, source: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line; a bad line raises InputError naming it."""
    for item in iter_jsonl(path, source):
        if isinstance(item, InputError):
            raise item
        yield item


_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x19\x1c-\x1f\x7f]")  # \x1a/\x1b: old EOF marks, ANSI


def decode_text(data: bytes, source: str) -> str:
    """Decode bytes: UTF-8 (with or without BOM), GB18030/GBK, else charset-normalizer's best guess.

    A UTF-16 BOM is honoured too (Windows Notepad's "Unicode"). Raises InputError if the data
    looks binary (NUL bytes / mostly control characters) or cannot be decoded.
    """
    text: str | None = None
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError:
                raise InputError(source, f"cannot decode text: invalid {encoding} after its "
                                 "byte-order mark") from None
            break
    if text is None:
        if b"\x00" in data:
            raise InputError(source, "binary content (NUL bytes), not a text file")
        text = _decode_unmarked(data, source)
    if text and len(_CONTROL.findall(text)) > 0.05 * len(text):
        raise InputError(source, "binary content (control characters), not a text file")
    return text


def _decode_unmarked(data: bytes, source: str) -> str:
    # GB18030 is a superset of GBK and GB2312, so one attempt covers Chinese legacy files.
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    best = from_bytes(data).best()
    if best is None:
        raise InputError(source, "cannot decode text: not UTF-8 or GB18030, and no other "
                         "encoding fits")
    return str(best)
