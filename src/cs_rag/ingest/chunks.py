"""Documents to index chunks: an FAQ entry stays whole, documents are cut to a token budget."""

from __future__ import annotations

from ..config import ChunkingSettings
from ..types import Chunk, Document, DocumentKind
from .chunking import chunk_sections


def document_chunks(document: Document, settings: ChunkingSettings) -> list[Chunk]:
    """The chunks of one document, ids `<doc id>` for FAQ and `<doc id>#<n>` otherwise."""
    if document.kind is DocumentKind.FAQ:
        entry = document.faq
        assert entry is not None, "FAQ documents carry their entry"
        return [Chunk(id=entry.id, doc_id=entry.id, kind=DocumentKind.FAQ, source=document.source,
                      text=entry.answer or "", match_texts=[entry.question, *entry.similar_questions],
                      question=entry.question, category=entry.category, tags=entry.tags,
                      valid_from=entry.valid_from, valid_to=entry.valid_to)]
    pieces = chunk_sections(document.sections, settings.max_tokens, settings.overlap_tokens)
    return [Chunk(id=f"{document.id}#{n}", doc_id=document.id, kind=document.kind,
                  source=document.source, text=piece.text,
                  match_texts=["\n".join([*piece.heading_path, piece.text])],
                  heading_path=piece.heading_path, position=n, category=document.category)
            for n, piece in enumerate(pieces)]
