"""The live knowledge as entries: each FAQ entry or document by the id answers cite, with what
the team's figures and the knowledge health need of it. Declined entries (DECLINED_TAG: wordings
the team does not answer) are not knowledge to keep healthy and are left out."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from cs_rag.index.embedded import EmbeddedIndex
from cs_rag.knowledge_base import KnowledgeBase
from cs_rag.types import DECLINED_TAG, Chunk, DocumentKind


@dataclass(frozen=True)
class Entry:
    """One FAQ entry or document of the live index."""

    id: str                        # what an answer's `first_id` names
    kind: DocumentKind
    title: str                     # an FAQ entry's standard question, else the document's heading or source
    category: str | None = None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None

    def valid_on(self, day: dt.date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and \
            (self.valid_to is None or day <= self.valid_to)


@dataclass(frozen=True)
class Questions:
    """Every FAQ question of the index (standard and similar), with the entry it belongs to
    and its stored vector (row i of `vectors`, L2-normalised, the embedding model's own)."""

    owners: list[str]
    texts: list[str]
    vectors: np.ndarray


def entries(content: EmbeddedIndex) -> list[Entry]:
    """The entries of an index's content, in index order."""
    found: dict[str, Entry] = {}
    for chunk in content.chunks:
        if chunk.doc_id not in found and DECLINED_TAG not in chunk.tags:
            found[chunk.doc_id] = Entry(id=chunk.doc_id, kind=chunk.kind, title=_title(chunk),
                                        category=chunk.category, valid_from=chunk.valid_from,
                                        valid_to=chunk.valid_to)
    return list(found.values())


def questions(content: EmbeddedIndex) -> Questions:
    """The FAQ questions of an index's content with the vectors stored for them (nothing is
    embedded again)."""
    vectors, ordinals = content.question_groups()
    kept = np.asarray([DECLINED_TAG not in content.chunk(o).tags for o in ordinals.tolist()], dtype=bool)
    if len(kept):
        vectors, ordinals = vectors[kept], ordinals[kept]
    owners, texts = [], []
    for ordinal in dict.fromkeys(ordinals.tolist()):   # a chunk's rows are its match texts, in order
        chunk = content.chunk(ordinal)
        owners += [chunk.doc_id] * len(chunk.match_texts)
        texts += chunk.match_texts
    if len(texts) != len(vectors):
        raise ValueError(f"{len(vectors)} stored question vectors for {len(texts)} questions")
    return Questions(owners, texts, vectors)


def entry_categories(knowledge_base: KnowledgeBase) -> dict[str, str | None]:
    """Each live entry's category, by entry id (what `team_figures` takes as `category_of`)."""
    return {entry.id: entry.category for entry in entries(knowledge_base.content())}


def _title(chunk: Chunk) -> str:
    if chunk.question:
        return chunk.question
    return chunk.heading_path[0] if chunk.heading_path else chunk.source
