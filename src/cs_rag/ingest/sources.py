"""Turn knowledge paths (files or directories) into Documents, stopping or skipping on bad input."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from cs_rag.errors import InputError
from cs_rag.ingest.documents import SUPPORTED_SUFFIXES, read_document
from cs_rag.ingest.faq import iter_faq_table, read_faq_jsonl_record
from cs_rag.ingest.front_matter import read_document_meta
from cs_rag.reading import iter_jsonl
from cs_rag.types import (
    Document,
    DocumentKind,
    DocumentMeta,
    FaqEntry,
    Section,
    SkippedInput,
)

# Files in a knowledge folder that configure the tokenizer and query preparation; not knowledge.
DICTIONARY_FILES = frozenset({"userdict.txt", "synonyms.txt", "stopwords.txt"})
SETTINGS_FILE = "cs_rag.toml"   # a folder's settings (cs-rag init writes one), not knowledge
TABLE_SUFFIXES = frozenset({".csv", ".xlsx"})
JSONL_SUFFIXES = frozenset({".jsonl"})


@dataclass(frozen=True)
class FaqExtension:
    """A JSONL record `{"extends": ID, "similar_questions": [...], "answer": ...}`: more phrasings
    for, or a new answer to, an FAQ entry defined in another file (the learning loop writes
    these into the service's own knowledge, so they survive a re-ingest of the team's files)."""

    target: str
    similar_questions: list[str]
    answer: str | None
    source: str
    line: int


@dataclass(frozen=True)
class FaqProposal:
    """A JSONL record `{"creates": {FAQ entry}, ...}`: an entry the learning loop wrote, used
    only while no other knowledge file defines its id (a team that merged it into its own
    files owns it from then on)."""

    document: Document
    line: int


@dataclass
class CollectedSources:
    """What `collect_documents` found: documents in input order, what was skipped, and the
    folders given (where dictionary files such as userdict.txt live)."""

    documents: list[Document] = field(default_factory=list)
    skipped: list[SkippedInput] = field(default_factory=list)
    folders: list[Path] = field(default_factory=list)


def collect_documents(paths: Iterable[str | Path], *, skip_bad: bool = False) -> CollectedSources:
    """Read every knowledge file under `paths`.

    Raises InputError on the first bad file, line or row unless `skip_bad`, in which case the
    bad part is left out and listed in `skipped`. Duplicate ids are an error naming both places.
    FaqProposals whose id no other file defines are added once everything is read, then
    FaqExtensions are applied to their entries; a proposal whose id the team now defines, and an
    extension whose entry is gone, are skipped and listed (never an error: the team may have
    merged or deleted the entry).
    """
    result = CollectedSources()
    seen: dict[str, str] = {}
    extensions: list[FaqExtension] = []
    proposals: list[FaqProposal] = []
    for root in (Path(p) for p in paths):
        if not root.exists():
            raise InputError(str(root), "no such file or directory")
        files = _knowledge_files(root)
        if root.is_dir():
            result.folders.append(root)
        if not files:
            raise InputError(str(root), "no knowledge files found (expected .jsonl, .csv, .xlsx, "
                             f"or documents: {', '.join(sorted(SUPPORTED_SUFFIXES))})")
        for path in files:
            source = _display_name(path)
            for item in _read_file(path, source):
                if isinstance(item, Document):
                    item.file = str(path.resolve())
                if isinstance(item, InputError):
                    _skip_or_raise(item, skip_bad, result)
                    continue
                if isinstance(item, FaqExtension):
                    extensions.append(item)
                    continue
                if isinstance(item, FaqProposal):
                    item.document.file = str(path.resolve())   # as every document's: undo and
                    proposals.append(item)                     # re-ingest find it by its file
                    continue
                if item.id in seen:
                    _skip_or_raise(InputError(source, f"duplicate id {item.id!r} (first defined in "
                                              f"{seen[item.id]})", field="id"), skip_bad, result)
                    continue
                seen[item.id] = source
                result.documents.append(item)
    for proposal in proposals:
        doc = proposal.document
        if doc.id in seen:
            result.skipped.append(SkippedInput(source=f"{doc.source} line {proposal.line}", reason=(
                f"learned entry {doc.id!r} is now defined in {seen[doc.id]}; that definition is used")))
            continue
        seen[doc.id] = doc.source
        result.documents.append(doc)
    _extend(result, extensions)
    return result


def _extend(result: CollectedSources, extensions: list[FaqExtension]) -> None:
    """Apply each extension, in order, to the FAQ entry it names."""
    position = {doc.id: i for i, doc in enumerate(result.documents) if doc.faq is not None}
    for extension in extensions:
        if extension.target not in position:
            result.skipped.append(SkippedInput(
                source=f"{extension.source} line {extension.line}",
                reason=f"extends FAQ entry {extension.target!r}, which no knowledge file defines"))
            continue
        doc = result.documents[position[extension.target]]
        entry = doc.faq
        known = {entry.question, *entry.similar_questions}
        added = [q for q in dict.fromkeys(extension.similar_questions) if q not in known]
        entry = entry.model_copy(update={"similar_questions": [*entry.similar_questions, *added],
                                         "answer": extension.answer or entry.answer})
        result.documents[position[extension.target]] = doc.model_copy(update={"faq": entry})


def _skip_or_raise(error: InputError, skip_bad: bool, result: CollectedSources) -> None:
    if not skip_bad:
        raise error
    result.skipped.append(SkippedInput(source=error.source, reason=str(error)))


def _knowledge_files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*")
                  if p.is_file() and p.name not in DICTIONARY_FILES and p.name != SETTINGS_FILE
                  and not any(part.startswith(".") for part in p.relative_to(root).parts))


def _display_name(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _read_file(path: Path, source: str) -> Iterable[Document | FaqExtension | FaqProposal | InputError]:
    """Documents from one file; bad records come back as InputError items, a bad file as one."""
    suffix = path.suffix.lower()
    try:
        if suffix in JSONL_SUFFIXES:
            yield from _read_jsonl(path, source)
        elif suffix in TABLE_SUFFIXES:
            for item in iter_faq_table(path, source):
                yield item if isinstance(item, InputError) else _faq_document(item, source)
        elif suffix in SUPPORTED_SUFFIXES:
            sections = read_document(path, source)
            meta = read_document_meta(path, source)
            yield Document(id=path.stem, kind=DocumentKind.POLICY, source=source,
                           title=path.stem, sections=sections, **meta.model_dump())
        else:
            yield InputError(source, f"unsupported file type {suffix or '(none)'!r}")
    except InputError as exc:
        yield exc


def _read_jsonl(path: Path, source: str) -> Iterable[Document | FaqExtension | FaqProposal | InputError]:
    """A JSONL file holds FAQ entries (`question` key) or passages (`text` key), not both;
    FAQ extensions (`extends` key) and proposals (`creates` key) may stand beside either."""
    kind: DocumentKind | None = None
    for item in iter_jsonl(path, source):
        if isinstance(item, InputError):
            yield item
            continue
        line, record = item
        if "extends" in record:
            yield _extension(record, source, line)
            continue
        if "creates" in record:
            yield _proposal(record["creates"], source, line)
            continue
        record_kind = (DocumentKind.FAQ if "question" in record
                       else DocumentKind.PASSAGE if "text" in record else None)
        if record_kind is None:
            yield InputError(source, "neither an FAQ entry ('question') nor a passage ('text')",
                             line=line)
            continue
        if kind is None:
            kind = record_kind
        elif record_kind is not kind:
            yield InputError(source, f"a {record_kind.value} record in a file of {kind.value} "
                             "records", line=line)
            continue
        try:
            if record_kind is DocumentKind.FAQ:
                yield _faq_document(read_faq_jsonl_record(record, source, line), source)
            else:
                yield _passage_document(record, source, line)
        except InputError as exc:
            yield exc


def _extension(record: dict, source: str, line: int) -> FaqExtension | InputError:
    target, similar, answer = record["extends"], record.get("similar_questions", []), record.get("answer")
    if not isinstance(target, str) or not target.strip():
        return InputError(source, "'extends' must name an FAQ entry id", line=line, field="extends")
    if not isinstance(similar, list) or not all(isinstance(q, str) and q.strip() for q in similar):
        return InputError(source, "similar_questions must be a list of non-empty texts", line=line,
                          field="similar_questions")
    if answer is not None and (not isinstance(answer, str) or not answer.strip()):
        return InputError(source, "answer must be a non-empty text", line=line, field="answer")
    if not similar and answer is None:
        return InputError(source, "an extension adds similar_questions or an answer", line=line)
    return FaqExtension(target, [q.strip() for q in similar], answer, source, line)


def _proposal(entry: object, source: str, line: int) -> FaqProposal | InputError:
    if not isinstance(entry, dict):
        return InputError(source, "'creates' must be an FAQ entry object", line=line, field="creates")
    try:
        return FaqProposal(_faq_document(read_faq_jsonl_record(entry, source, line), source), line)
    except InputError as exc:
        return exc


def _faq_document(entry: FaqEntry, source: str) -> Document:
    return Document(id=entry.id, kind=DocumentKind.FAQ, source=source, faq=entry,
                    category=entry.category)


def _passage_document(record: dict, source: str, line: int) -> Document:
    for key in ("id", "text"):
        value = record.get(key)
        if not isinstance(value, str) or not value.strip():
            raise InputError(source, f"missing or empty {key!r}", line=line, field=key)
    title = str(record.get("title") or "").strip()
    try:
        meta = DocumentMeta.model_validate(record)
    except ValidationError as exc:
        raise InputError.from_validation(exc, source, line=line) from None
    return Document(id=record["id"], kind=DocumentKind.PASSAGE, source=source, title=title,
                    sections=[Section(heading_path=[title] if title else [], text=record["text"])],
                    **meta.model_dump())
