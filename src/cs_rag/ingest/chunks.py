"""Documents to index chunks: an FAQ entry stays whole, documents are cut to a token budget."""

from __future__ import annotations

from ..config import ChunkingSettings
from ..types import Chunk, Document, DocumentKind
from .chunking import chunk_sections


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
    return [Chunk(id=f"{document.id}#{n}", doc_id=document.id, kind=document.kind,
                  source=document.source, text=piece.text,
                  match_texts=["\n".join([*piece.heading_path, piece.text])],
                  heading_path=piece.heading_path, position=n, category=document.category,
                  products=document.products, valid_from=document.valid_from, valid_to=document.valid_to)
            for n, piece in enumerate(pieces)]
