"""The read contract every backend implements: `Index`, search over one loaded version, and
the SearchFilter it applies (the write contract is `cs_rag.index.store.Store`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol

import numpy as np
from pydantic import BaseModel, Field

from cs_rag.text import normalize
from cs_rag.types import Chunk, DocumentKind


class SearchFilter(BaseModel):
    """Metadata filters. An entry outside its validity dates on `valid_on` (default: today)
    is never returned, so an expired promotion cannot reach a customer.

    `products` keeps the chunks about any of those products plus the chunks about no product
    in particular (general policies and FAQ entries without `products`), never an entry about
    another product; names compare after `product_key` (NFKC, simplified, lower-case)."""

    categories: set[str] | None = None
    kinds: set[DocumentKind] | None = None
    products: set[str] | None = None
    valid_on: dt.date | None = None
    include_expired: bool = False

    def accepts(self, chunk: Chunk, today: dt.date) -> bool:
        if self.categories is not None and chunk.category not in self.categories:
            return False
        if self.kinds is not None and chunk.kind not in self.kinds:
            return False
        if self.products is not None and chunk.products and not (
                self.product_keys() & {product_key(p) for p in chunk.products}):
            return False
        return self.include_expired or valid_on(chunk.valid_from, chunk.valid_to, self.valid_on or today)

    def product_keys(self) -> set[str]:
        """`products` as they compare (see product_key); empty when there are none."""
        return {product_key(p) for p in self.products or ()}


def valid_on(valid_from: dt.date | None, valid_to: dt.date | None, day: dt.date) -> bool:
    """Validity dates (both days included; None: open) hold `day`."""
    return (valid_from is None or valid_from <= day) and (valid_to is None or valid_to >= day)


def product_key(name: str) -> str:
    """How product names compare: "iPhone 15" and "ｉｐｈｏｎｅ 15" are one product."""
    return " ".join(normalize(name).split())


class ScoredChunk(BaseModel):
    """A chunk's ordinal in the index with one retriever's score (best over its match texts)."""

    ordinal: int
    score: float
    matched: int = Field(default=0, description="index of the best match text in the chunk")
    runner_up: float | None = Field(default=None, description="the second-best match text's "
                                    "score; None when the chunk has one match text")


class Index(Protocol):
    """Stored chunks with dense and keyword search; the contract every backend meets.

    - `dense_search` ranks chunks by the best inner product between the (normalised) query
      vector and any of the chunk's match-text vectors; `keyword_search` by the best BM25
      score of any match text. Both return at most k chunks that pass `where`, best first,
      and keyword search omits chunks with no matching term.
    - Ordinals are stable for one loaded index version.
    """

    def __len__(self) -> int: ...

    def chunk(self, ordinal: int) -> Chunk: ...

    def dense_search(self, vector: np.ndarray, k: int,
                     where: SearchFilter | None = None) -> list[ScoredChunk]: ...

    def keyword_search(self, tokens: Sequence[str], k: int,
                       where: SearchFilter | None = None) -> list[ScoredChunk]: ...

    def candidates(self, vector: np.ndarray, tokens: Sequence[str], n: int,
                   where: SearchFilter | None = None) -> list[tuple[ScoredChunk, ScoredChunk]]:
        """The union of the dense top n and the keyword top n chunks that pass `where`, each as
        (dense score, keyword score), both exact whichever retriever proposed it: dense
        proposals first in their order, then keyword-only ones. Dense scores carry their
        `runner_up` (how well the chunk's other match texts agree). One call, so a backend
        scores the query once per retriever."""
        ...

    def keyword_ceiling(self, tokens: Sequence[str]) -> float:
        """The BM25 scale for this query (sum of its terms' IDF): keyword scores divided by it
        mean the same in a small and a large index."""
        ...

    def known_share(self, tokens: Sequence[str]) -> float:
        """Share of the query's tokens that occur anywhere in the index: questions about
        things the knowledge never mentions use words it never uses."""
        ...

    def vocabulary(self) -> list[str]:
        """Every token the index's match texts use (what query repair may rewrite towards)."""
        ...

    def term_weights(self, tokens: Sequence[str]) -> dict[str, float]:
        """The BM25 IDF of each of the query's tokens the index knows (unknown ones are absent):
        how much a word says about which knowledge a question is about."""
        ...

    def document_chunks(self, doc_id: str) -> list[Chunk]:
        """The chunks of one document in this version, in order (an FAQ entry is one chunk,
        or two with its answer chunk); empty for an unknown document."""
        ...
