"""A Markdown document's YAML front matter: where it ends, and what it declares (category,
products, validity dates) as DocumentMeta; a bad key or value names the file and line."""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import yaml
from pydantic import ValidationError

from cs_rag.errors import InputError
from cs_rag.reading import decode_text
from cs_rag.types import DocumentMeta


def front_matter_end(lines: list[str]) -> int:
    """Index of the first line after a leading YAML front matter block (0 if there is none)."""
    if lines and lines[0].strip() == "---":
        for index in range(1, len(lines)):
            if lines[index].strip() in ("---", "..."):
                return index + 1
    return 0


def read_document_meta(path: Path, source: str | None = None) -> DocumentMeta:
    """A Markdown document's YAML front matter as DocumentMeta (category, products, validity
    dates); empty for a document without one and for other formats. Raises InputError naming
    the file, and the line or field, for front matter that is not YAML or has a bad value."""
    source = str(path) if source is None else source
    if path.suffix.lower() not in (".md", ".markdown"):
        return DocumentMeta()
    lines = decode_text(path.read_bytes(), source).splitlines()
    end = front_matter_end(lines)
    if end == 0:
        if lines and lines[0].strip() == "---":
            raise InputError(source, "front matter opened on line 1 is never closed by a '---' line",
                             line=1)
        return DocumentMeta()
    block = lines[1:end - 1]
    try:
        data = yaml.load("\n".join(block), Loader=_DatesAsText) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(source, f"front matter (lines 2-{end - 1}) is not valid YAML: "
                                 f"{getattr(exc, 'problem', exc)}",
                         line=mark.line + 2 if mark is not None else None) from None
    if not isinstance(data, dict):
        raise InputError(source, "front matter is not a mapping of keys to values", line=2)

    def line_of(key: str) -> int | None:
        return next((i for i, text in enumerate(block, start=2)
                     if re.match(rf"\s*{re.escape(key)}\s*:", text)), None)

    known = list(DocumentMeta.model_fields)
    for key in map(str, data):
        meant = difflib.get_close_matches(key, known, n=1, cutoff=0.6) if key not in known else []
        if meant:  # a misspelt valid_to would leave a promotion live for ever
            raise InputError(source, f"front matter key {key!r} is not one cs_rag reads; did you mean "
                                     f"{meant[0]!r}?", line=line_of(key), field=key)
    try:
        return DocumentMeta.model_validate(data)
    except ValidationError as exc:
        loc = exc.errors()[0]["loc"]
        raise InputError.from_validation(exc, source, line=line_of(str(loc[0])) if loc else None,
                                         prefix="front matter: ") from None


class _DatesAsText(yaml.SafeLoader):
    """YAML's safe loader, but 2026-02-31 stays text for the date check to report by field
    (YAML itself would fail on it without naming the key)."""


_DatesAsText.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
