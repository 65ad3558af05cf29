"""Hits as other RAG frameworks take them (Dify's external knowledge records, LangChain
Documents): the text to show, a title, a 0-1 score and flat JSON metadata."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from cs_rag.types import Hit, Retrieval


class Record(BaseModel):
    """One retrieved entry or chunk.

    - `content`: an FAQ entry's answer, or a document chunk's text.
    - `title`: the FAQ entry's standard question, or the chunk's heading path (or its source).
    - `score`: how likely this record answers the question (0-1; see `records`).
    - `metadata`: `id`, `doc_id`, `source`, `kind`, `category`, `products`, `valid_from`,
      `valid_to` (ISO dates or null), `title`, `heading_path`, `score`, `confidence`; always
      an object, never null.
    """

    content: str
    score: float = Field(ge=0.0, le=1.0)
    title: str
    metadata: dict[str, Any] = Field(default_factory=dict)


def records(retrieval: Retrieval) -> list[Record]:
    """The hits of `retrieval` in rank order.

    A record's score is its hit's calibrated confidence (P(this hit answers the question),
    `Hit.confidence`), capped by the score of the record above it, so scores never rise down
    the ranking. The first record's score is therefore `Retrieval.confidence`, and a threshold
    on the score keeps the records at least that likely to be right."""
    out: list[Record] = []
    ceiling = 1.0
    for hit in retrieval.hits:
        if hit.confidence is None:
            raise ValueError(f"hit {hit.id!r} has no confidence: records need a calibrated Retrieval")
        ceiling = min(ceiling, max(0.0, hit.confidence))
        out.append(record(hit, round(ceiling, 4)))
    return out


def record(hit: Hit, score: float) -> Record:
    """`hit` as a Record with `score`."""
    title = hit.title
    metadata = {
        "id": hit.id, "doc_id": hit.doc_id, "source": hit.source, "kind": hit.kind.value,
        "category": hit.category, "products": list(hit.products),
        "valid_from": hit.valid_from.isoformat() if hit.valid_from else None,
        "valid_to": hit.valid_to.isoformat() if hit.valid_to else None,
        "title": title, "heading_path": list(hit.heading_path), "score": score,
        "confidence": None if hit.confidence is None else round(hit.confidence, 4),
    }
    return Record(content=hit.text or title, score=score, title=title, metadata=metadata)
