"""Policy documents (Markdown, plain text, HTML, DOCX, PDF) into sections with heading paths."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import docx
import pypdf
from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.element import PreformattedString
from docx.table import Table

from cs_rag.errors import InputError
from cs_rag.ingest.front_matter import front_matter_end
from cs_rag.reading import decode_text
from cs_rag.types import Section

SUPPORTED_SUFFIXES: frozenset[str] = frozenset(
    {".md", ".markdown", ".txt", ".html", ".htm", ".docx", ".pdf"})


@dataclass(frozen=True, eq=False)  # compared by identity: the root heading is found by `is`
class _Heading:
    level: int  # 0 is a document title; a larger number is a deeper heading
    text: str


_Item = _Heading | str  # a heading or one line of body text, already whitespace-normalised


def read_document(path: Path, source: str | None = None) -> list[Section]:
    """Read one policy document into sections: heading path (outermost first) and text each.

    `source` is the name used in error messages (defaults to str(path)). Raises InputError naming
    the file (and the page for PDF problems) for: unsupported suffix, binary content in a text
    format, undecodable text, an encrypted or unreadable PDF, a corrupt DOCX, a document with no
    text at all. A document's only title (or its only first-level heading) roots every path.
    """
    source = str(path) if source is None else source
    suffix = path.suffix.lower()
    reader = _READERS.get(suffix)
    if reader is None:
        raise InputError(source, f"unsupported document type {suffix or '(no suffix)'!r}; "
                         f"expected one of {', '.join(sorted(SUPPORTED_SUFFIXES))}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(source, f"cannot read file: {exc.strerror or exc}") from None
    sections = _assemble(reader(data, source))
    if not sections:
        raise InputError(source, "no extractable text (scanned PDF?)" if suffix == ".pdf"
                         else "no text in document")
    return sections


# --- assembling sections ------------------------------------------------------------------

def _assemble(items: list[_Item]) -> list[Section]:
    """Group body lines under their heading paths; sections without text are dropped."""
    root = _root_heading(items)
    prefix = [root.text] if root else []
    stack: list[_Heading] = []
    groups: list[tuple[list[str], list[str]]] = [([], [])]
    for item in items:
        if item is root:
            continue
        if isinstance(item, _Heading):
            while stack and stack[-1].level >= item.level:
                stack.pop()
            stack.append(item)
            groups.append(([h.text for h in stack], []))
        else:
            groups[-1][1].append(item)
    return [Section(heading_path=prefix + path, text="\n".join(lines))
            for path, lines in groups if lines]


def _root_heading(items: list[_Item]) -> _Heading | None:
    """The only title (level 0), else the only level-1 heading; None if either is repeated."""
    for level in (0, 1):
        found = [i for i in items if isinstance(i, _Heading) and i.level == level]
        if found:
            return found[0] if len(found) == 1 else None
    return None


_SPACE = re.compile(r"\s+")
_INVISIBLE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f\u200b\u2060\ufeff]")
_CJK = "\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef"  # ideographs, kana, CJK and full-width punctuation
_BREAK_BETWEEN_CJK = re.compile(rf"(?<=[{_CJK}])\s*\n\s*(?=[{_CJK}])")


def _clean(text: str) -> str:
    """One line: invisible characters dropped, whitespace runs collapsed to one space."""
    return _SPACE.sub(" ", _INVISIBLE.sub("", text)).strip()


def _unwrap(text: str) -> str:
    """Wrapped lines as one: a break between two CJK characters vanishes, others become a space."""
    return _clean(_BREAK_BETWEEN_CJK.sub("", text))


def _text_lines(text: str) -> list[str]:
    return [line for line in map(_clean, text.splitlines()) if line]


# --- Markdown -----------------------------------------------------------------------------

_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_RULE = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_TABLE_RULE = re.compile(r"^[ \t]*\|?(?:[ \t]*:?-+:?[ \t]*\|)+(?:[ \t]*:?-+:?[ \t]*)?$")
_LINK_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:[ \t]*\S+")
_QUOTE = re.compile(r"^(?: {0,3}>[ \t]?)+")
_BULLET = re.compile(r"^[ \t]*[-*+][ \t]+")
_ORDERED = re.compile(r"^[ \t]*\d{1,9}[.)][ \t]+")

_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")
_ESCAPE_BASE = 0xE000  # escaped ASCII punctuation hides in the private use area during stripping
_INLINE_RULES = [
    (re.compile(r"`+([^`]+)`+"), r"\1"),
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),
    (re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\[[^\]]*\])"), r"\1"),
    (re.compile(r"<((?:https?|mailto):[^>\s]+)>"), r"\1"),
    (re.compile(r"<!--.*?-->|</?[A-Za-z][^>]*>"), ""),
    (re.compile(r"(\*{1,3}|~~)(?=\S)(.+?)(?<=\S)\1"), r"\2"),
    (re.compile(r"(?<![A-Za-z0-9])(_{1,3})(?=\S)(.+?)(?<=\S)\1(?![A-Za-z0-9])"), r"\2"),
]


def _strip_inline(text: str) -> str:
    """Markdown inline markup removed, the words kept (link text, emphasised text, code)."""
    text = _ESCAPED.sub(lambda m: chr(_ESCAPE_BASE + ord(m.group(1))), text)
    for pattern, replacement in _INLINE_RULES:
        text = pattern.sub(replacement, text)
    return re.sub("[\ue021-\ue07e]", lambda m: chr(ord(m.group()) - _ESCAPE_BASE), text)


def _markdown_items(data: bytes, source: str) -> list[_Item]:
    """ATX and setext headings; paragraph lines joined; inline markup stripped; code kept."""
    lines = decode_text(data, source).splitlines()
    items: list[_Item] = []
    joinable = False  # the last item is paragraph or list text that a plain next line continues
    fence = ""        # the open code fence's marker
    index = front_matter_end(lines)
    while index < len(lines):
        line = lines[index]
        index += 1
        if fence:
            marker = line.strip()
            if marker.startswith(fence) and marker == marker[0] * len(marker):
                fence = ""
            elif _clean(line):
                items.append(_clean(line))
            continue
        opening = _FENCE.match(line)
        atx = _ATX.match(line)
        if opening or atx or not line.strip():
            fence = opening.group(1) if opening else ""
            title = _clean(_strip_inline(atx.group(2) or "")) if atx else ""
            if title:
                items.append(_Heading(len(atx.group(1)), title))
            joinable = False
            continue
        plain = not (_QUOTE.match(line) or _BULLET.match(line) or _ORDERED.match(line)
                     or "|" in line)
        if plain and index < len(lines) and _SETEXT.match(lines[index]):
            title = _clean(_strip_inline(line))
            if title:
                items.append(_Heading(1 if "=" in lines[index] else 2, title))
            index += 1
            joinable = False
            continue
        if _RULE.match(line) or _LINK_DEFINITION.match(line) or _TABLE_RULE.match(line):
            joinable = False
            continue
        body = _QUOTE.sub("", line)
        if "|" in body:  # a table row, with or without outer pipes
            cells = body.strip().strip("|").split("|")
            items.append(" | ".join(_clean(_strip_inline(cell)) for cell in cells))
            joinable = False
            continue
        text = _clean(_strip_inline(_BULLET.sub("", body)))
        if not text:
            continue
        if joinable and plain and isinstance(items[-1], str):
            items[-1] = _unwrap(items[-1] + "\n" + text)
        else:
            items.append(text)
        joinable = True
    return items


# --- plain text (also PDF text) -----------------------------------------------------------

_CN_DIGITS = "一二三四五六七八九十百千零〇两"
_CN_ORDINAL = re.compile(rf"^[{_CN_DIGITS}]+、\s*(?P<title>.+)$")
_CN_PAREN = re.compile(rf"^[（(][{_CN_DIGITS}]+[）)]\s*(?P<title>.+)$")
_CN_PART = re.compile(rf"^(?P<marker>第[{_CN_DIGITS}\d]+(?P<unit>[章节条]))"
                      r"(?P<label>\s*【[^】]*】)?(?P<gap>\s*)(?P<rest>.*)$")
_NUMBERED = re.compile(r"^\d{1,2}[.、．](?!\d)\s*(?P<title>\S.*)$")
_SUBNUMBERED = re.compile(r"^(?P<number>\d{1,2}(?:[.．]\d{1,2})+)(?:[.．]\s*|\s+)"
                          r"(?P<title>\S.*)$")
_CLAUSE = re.compile(r"[。！？；!?;…]|\.(?=\s|$)|[，,、]$")
_MAX_HEADING_CHARS = 30


@dataclass(frozen=True)
class _Candidate:
    kind: str   # the numbering style; styles get levels in order of first appearance
    text: str   # the heading
    body: str   # text after the heading on the same line (regulation articles)


def _is_heading_text(line: str, title: str) -> bool:
    return len(line) <= _MAX_HEADING_CHARS and not _CLAUSE.search(title)


def _heading_candidate(line: str) -> _Candidate | None:
    part = _CN_PART.match(line)
    if part:
        if not part["rest"] or _is_heading_text(line, part["rest"]):
            return _Candidate(part["unit"], line, "")
        # "第三条　消费者……" carries the article's text on its own line
        if part["unit"] == "条" and (part["label"] or part["gap"]):
            return _Candidate("条", part["marker"] + (part["label"] or "").strip(), part["rest"])
        return None
    for kind, pattern in (("一、", _CN_ORDINAL), ("（一）", _CN_PAREN), ("1.", _NUMBERED)):
        match = pattern.match(line)
        if match:
            return _Candidate(kind, line, "") if _is_heading_text(line, match["title"]) else None
    match = _SUBNUMBERED.match(line)
    if match and _is_heading_text(line, match["title"]):
        depth = len(re.findall("[.．]", match["number"])) + 1
        return _Candidate(f"1.{depth}", line, "")
    return None


def _is_title(line: str) -> bool:
    return _is_heading_text(line, line) and not line.endswith((":", "："))


def _plain_items(text: str) -> list[_Item]:
    """Headings found by numbering style; a heading that owns no text is a list item instead.

    A candidate is kept only when the next line is body text or a deeper heading, so runs of
    short numbered lines ("1. 登录" / "2. 申请售后") stay text instead of vanishing as headings.
    """
    lines = _text_lines(text)
    candidates = [_heading_candidate(line) for line in lines]
    if lines and candidates[0] is None and _is_title(lines[0]):
        candidates[0] = _Candidate("title", lines[0], "")
    levels: dict[str, int] = {"title": 0}
    for candidate in candidates:
        if candidate and candidate.kind not in levels:
            levels[candidate.kind] = len(levels)
    items: list[_Item] = []
    for index, (line, candidate) in enumerate(zip(lines, candidates)):
        if candidate is None:
            items.append(line)
            continue
        level = levels[candidate.kind]
        following = candidates[index + 1] if index + 1 < len(lines) else None
        owns_text = bool(candidate.body) or (
            index + 1 < len(lines) and (following is None or levels[following.kind] > level))
        if not owns_text:
            items.append(line)
            continue
        items.append(_Heading(level, candidate.text))
        if candidate.body:
            items.append(candidate.body)
    return items


def _text_file_items(data: bytes, source: str) -> list[_Item]:
    return _plain_items(decode_text(data, source))


# --- HTML ---------------------------------------------------------------------------------

_DROPPED_TAGS = ["script", "style", "nav", "noscript", "template", "head"]
_HEADING_TAGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "body", "caption", "dd", "details", "dialog",
    "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "header", "hr",
    "html", "li", "main", "ol", "p", "section", "summary", "table", "tbody", "tfoot", "thead",
    "ul"})


def _html_items(data: bytes, source: str) -> list[_Item]:
    """A single <h1> is the page title; otherwise <title> is, and every <h1> sits under it."""
    soup = BeautifulSoup(decode_text(data, source), "html.parser")
    title = _unwrap(soup.title.get_text()) if soup.title else ""
    for tag in soup.find_all(_DROPPED_TAGS + ["title"]):
        if not tag.decomposed:  # an earlier, enclosing tag may have taken it along
            tag.decompose()
    items: list[_Item] = []
    if title and len(soup.find_all("h1")) != 1:
        items.append(_Heading(0, title))
    buffer: list[str] = []
    _walk_html(soup, items, buffer)
    _flush_html(buffer, items)
    return items


def _walk_html(node: Tag, items: list[_Item], buffer: list[str]) -> None:
    """Inline text gathers in `buffer`; block elements, headings and rows end a line."""
    for child in node.children:
        if isinstance(child, NavigableString):
            if not isinstance(child, PreformattedString):  # comments, doctype, CDATA
                buffer.append(str(child))
        elif child.name in _HEADING_TAGS:
            _flush_html(buffer, items)
            text = _unwrap(child.get_text())
            if text:
                items.append(_Heading(int(child.name[1]), text))
        elif child.name == "tr":
            _flush_html(buffer, items)
            cells = [_unwrap(cell.get_text())
                     for cell in child.find_all(["td", "th"], recursive=False)]
            if any(cells):
                items.append(" | ".join(cells))
        elif child.name == "pre":
            _flush_html(buffer, items)
            items.extend(_text_lines(child.get_text()))
        elif child.name == "br":
            _flush_html(buffer, items)
        else:
            block = child.name in _BLOCK_TAGS
            if block:
                _flush_html(buffer, items)
            _walk_html(child, items, buffer)
            if block:
                _flush_html(buffer, items)


def _flush_html(buffer: list[str], items: list[_Item]) -> None:
    text = _unwrap("".join(buffer))
    if text:
        items.append(text)
    buffer.clear()


# --- DOCX ---------------------------------------------------------------------------------

_DOCX_HEADING = re.compile(r"^(?:heading|标题)\s*([1-6])$", re.IGNORECASE)
_DOCX_TITLE_STYLES = frozenset({"title", "标题"})


def _docx_items(data: bytes, source: str) -> list[_Item]:
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # corrupt files surface as zip, XML, key or package errors alike
        problem = f"corrupt or unreadable DOCX ({type(exc).__name__}: {exc})"
        raise InputError(source, problem) from None
    items: list[_Item] = []
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            items.extend(_docx_rows(block))
            continue
        level = _docx_heading_level(block.style.name if block.style is not None else None)
        if level is None:
            items.extend(_text_lines(block.text))
        elif _clean(block.text):
            items.append(_Heading(level, _clean(block.text)))
    return items


def _docx_heading_level(style: str | None) -> int | None:
    """0 for a title style, 1-6 for heading styles (English or Chinese names), else None."""
    if not style:
        return None
    if style.lower() in _DOCX_TITLE_STYLES:
        return 0
    heading = _DOCX_HEADING.match(style)
    return int(heading[1]) if heading else None


def _docx_rows(table: Table) -> list[str]:
    rows: list[str] = []
    for row in table.rows:
        cells: list[str] = []
        previous = None
        for cell in row.cells:
            if cell is not previous:  # python-docx repeats a horizontally merged cell per column
                cells.append(_clean(cell.text))
            previous = cell
        if any(cells):
            rows.append(" | ".join(cells))
    return rows


# --- PDF ----------------------------------------------------------------------------------

_PAGE_NUMBER = re.compile(r"^(?:[-–—\s]*\d+[-–—\s]*|第\s*\d+\s*页(?:\s*[,，/]?\s*共\s*\d+\s*页)?"
                          r"|\d+\s*/\s*\d+|page\s+\d+(?:\s+of\s+\d+)?)$", re.IGNORECASE)


def _pdf_items(data: bytes, source: str) -> list[_Item]:
    """Page text through the plain-text rules; lines that are only page numbers are dropped."""
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        encrypted = reader.is_encrypted
    except Exception as exc:  # pypdf reports damage with many exception types
        raise InputError(source, f"unreadable PDF ({type(exc).__name__}: {exc})") from None
    if encrypted:
        try:
            # Many "protected" PDFs only restrict printing or copying and open without a password.
            opened = reader.decrypt("")
        except Exception as exc:  # e.g. AES without the optional cryptography package
            raise InputError(source, f"encrypted PDF that cannot be opened: {exc}") from None
        if opened == pypdf.PasswordType.NOT_DECRYPTED:
            raise InputError(source, "encrypted PDF: a password is required")
    try:
        pages = list(reader.pages)
    except Exception as exc:  # a broken page tree
        raise InputError(source, f"unreadable PDF ({type(exc).__name__}: {exc})") from None
    lines: list[str] = []
    for number, page in enumerate(pages, start=1):
        try:
            text = page.extract_text()
        except Exception as exc:  # a damaged content stream fails only its own page
            raise InputError(source, f"page {number}: cannot extract text "
                             f"({type(exc).__name__}: {exc})") from None
        lines.extend(line for line in text.splitlines() if not _PAGE_NUMBER.match(line.strip()))
    return _plain_items("\n".join(lines))


_READERS: dict[str, Callable[[bytes, str], list[_Item]]] = {
    ".md": _markdown_items, ".markdown": _markdown_items, ".txt": _text_file_items,
    ".html": _html_items, ".htm": _html_items, ".docx": _docx_items, ".pdf": _pdf_items,
}
