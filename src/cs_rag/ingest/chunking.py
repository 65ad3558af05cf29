"""Documents to index chunks: an FAQ entry stays whole; a document's sections are cut to a token
budget at sentence ends, overlapping by sentences."""

from __future__ import annotations

import re
from collections.abc import Iterator

from cs_rag.config import ChunkingSettings
from cs_rag.text import budget_length
from cs_rag.types import Chunk, Document, DocumentKind, Section

MIN_SENTENCE_CHARS = 6   # shorter pieces ("一、", "注：") say nothing on their own
_CLOSERS = "\"'”’」』）)\\]】》〉〕"
# CJK sentence marks end a sentence anywhere; ASCII ones only before space or end ("3.5", "a.b").
_SENTENCE_END = re.compile(
    rf"(?:[。！？；…][。！？；…!?]*|[.!?;]+(?=[{_CLOSERS}]*(?:\s|$)))[{_CLOSERS}]*")
# "2. " and "a. " open a list item; their dot ends no sentence.
_LIST_MARKER = re.compile(r"\s*(?:\d{1,3}(?:\.\d{1,3})*|[A-Za-z])\.")
_LINE = re.compile(r"[^\n\r\v\f\x1c-\x1e\x85\u2028\u2029]+")  # the breaks str.splitlines knows
_WORD = r"[0-9A-Za-z\u00c0-\u024f]+"
_ATOM = re.compile(rf"{_WORD}(?:[.,'’\-]{_WORD})*|.", re.DOTALL)  # "3.5", "don't", "e-mail"
_FINE_ATOM = re.compile(r"[0-9A-Za-z]+|.", re.DOTALL)


def split_sentences(text: str) -> list[str]:
    """Split after Chinese/English sentence ends (。！？；… and . ! ? ; followed by space/end), and
    at line breaks; keep the punctuation with its sentence; closing quotes/brackets stay attached;
    never lose characters other than surrounding whitespace."""
    return [text[start:end] for start, end in _sentence_spans(text)]


def chunk_sections(sections: list[Section], max_tokens: int, overlap_tokens: int) -> list[Section]:
    """Cut each section into chunks of at most max_tokens (budget_length units) along sentence ends.

    Each chunk repeats up to overlap_tokens of whole trailing sentences of the previous chunk in
    the same section, never that chunk's first sentence (so no chunk contains its predecessor).
    A chunk never spans two sections and keeps its section's heading path; small sections are
    not merged. A single sentence longer than max_tokens is cut hard at max_tokens, between
    words and numbers. Chunk text is a slice of the section text. Returned in document order;
    deterministic. Raises ValueError unless 0 <= overlap_tokens < max_tokens.
    """
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be at least 1, got {max_tokens}")
    if not 0 <= overlap_tokens < max_tokens:
        raise ValueError(f"overlap_tokens must be at least 0 and below max_tokens ({max_tokens}), "
                         f"got {overlap_tokens}")
    return [chunk for section in sections
            for chunk in _section_chunks(section, max_tokens, overlap_tokens)]


def _section_chunks(section: Section, max_tokens: int, overlap_tokens: int) -> list[Section]:
    text = section.text
    units: list[tuple[int, int, int]] = []  # (start, end, budget) of sentences or sentence pieces
    for start, end in _sentence_spans(text):
        cost = budget_length(text[start:end])
        if cost <= max_tokens:
            units.append((start, end, cost))
        else:
            units.extend(_hard_cut(text, start, end, max_tokens))
    chunks: list[Section] = []
    previous_first = -1
    fresh = 0  # the first unit no chunk holds yet
    while fresh < len(units):
        first, carried = fresh, 0
        while first - 1 > previous_first and carried + units[first - 1][2] <= overlap_tokens:
            first -= 1
            carried += units[first][2]
        while carried + units[fresh][2] > max_tokens:  # the overlap must leave room for new text
            carried -= units[first][2]
            first += 1
        used, last = carried, fresh
        while last < len(units) and used + units[last][2] <= max_tokens:
            used += units[last][2]
            last += 1
        chunks.append(Section(heading_path=list(section.heading_path),
                              text=text[units[first][0]:units[last - 1][1]]))
        previous_first, fresh = first, last
    return chunks


def _sentence_spans(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for line in _LINE.finditer(text):
        start = line.start()
        ends = [m.end() for m in _SENTENCE_END.finditer(text, line.start(), line.end())]
        for end in [*ends, line.end()]:
            if end < line.end() and _LIST_MARKER.fullmatch(text, start, end):
                continue
            span = _trim(text, start, end)
            if span:
                spans.append(span)
            start = end
    return spans


def _trim(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def _hard_cut(text: str, start: int, end: int, max_tokens: int) -> list[tuple[int, int, int]]:
    """Pieces of one over-long sentence, each filled up to max_tokens; cuts fall between atoms."""
    pieces: list[tuple[int, int, int]] = []
    piece_start, used = start, 0
    for atom in _atoms(text, start, end, max_tokens):
        cost = budget_length(atom.group())
        if used + cost > max_tokens:
            span = _trim(text, piece_start, atom.start())
            if span:
                pieces.append((*span, used))
            piece_start, used = atom.start(), 0
        used += cost
    span = _trim(text, piece_start, end)
    if span:
        pieces.append((*span, used))
    return pieces


def _atoms(text: str, start: int, end: int, max_tokens: int) -> Iterator[re.Match[str]]:
    """Words, numbers and single characters; a word over budget on its own (only possible with a
    tiny max_tokens, e.g. "3.5" is two units) is split into its letter and digit runs."""
    for atom in _ATOM.finditer(text, start, end):
        if budget_length(atom.group()) > max_tokens:
            yield from _FINE_ATOM.finditer(text, atom.start(), atom.end())
        else:
            yield atom

ANSWER_CHUNK_SUFFIX = "#answer"


def has_answer_chunk(document: Document, faq_answers: bool) -> bool:
    """Whether `document_chunks` gives this document an answer chunk under `faq_answers`."""
    return faq_answers and document.faq is not None and bool(document.faq.answer)


def document_chunks(document: Document, settings: ChunkingSettings,
                    faq_answers: bool = False) -> list[Chunk]:
    """The chunks of one document: `<doc id>` for an FAQ entry (matched on its questions), plus
    `<doc id>#answer` (matched on its answer) when `faq_answers` and it has one; `<doc id>#<n>`
    for the pieces of other documents."""
    if document.kind is DocumentKind.FAQ:
        entry = document.faq
        assert entry is not None, "FAQ documents carry their entry"
        entry_chunk = Chunk(id=entry.id, doc_id=entry.id, kind=DocumentKind.FAQ, source=document.source,
                            text=entry.answer or "", match_texts=[entry.question, *entry.similar_questions],
                            question=entry.question, category=entry.category, tags=entry.tags, products=entry.products,
                            valid_from=entry.valid_from, valid_to=entry.valid_to)
        if not has_answer_chunk(document, faq_answers):
            return [entry_chunk]
        return [entry_chunk, entry_chunk.model_copy(update={
            "id": entry.id + ANSWER_CHUNK_SUFFIX, "match_texts": [entry.answer], "position": 1,
            "answer_field": True})]
    pieces = chunk_sections(document.sections, settings.max_tokens, settings.overlap_tokens)
    by_sentence = settings.sentence_match_texts and document.kind is DocumentKind.POLICY
    return [Chunk(id=f"{document.id}#{n}", doc_id=document.id, kind=document.kind,
                  source=document.source, text=piece.text,
                  match_texts=["\n".join([*piece.heading_path, piece.text]),
                               *(_detail_sentences(piece.text) if by_sentence else [])],
                  heading_path=piece.heading_path, position=n, category=document.category,
                  products=document.products, valid_from=document.valid_from, valid_to=document.valid_to)
            for n, piece in enumerate(pieces)]


def _detail_sentences(text: str) -> list[str]:
    """The sentences of a chunk worth matching on their own (none when the chunk is one)."""
    sentences = [s.strip() for s in split_sentences(text) if len(s.strip()) >= MIN_SENTENCE_CHARS]
    return sentences if len(sentences) > 1 else []
