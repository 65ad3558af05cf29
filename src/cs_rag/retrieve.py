"""Hybrid retrieval: BM25 and dense candidates, completed to both scores, fused, ranked."""

from __future__ import annotations

from enum import Enum

import numpy as np

from .config import RetrievalSettings
from .embedding import Embedder
from .errors import ConfigError
from .index.base import Index, ScoredChunk, SearchFilter
from .text import Tokenizer
from .types import Hit


class Fusion(str, Enum):
    """How the two retrievers' scores become one."""

    RRF = "rrf"            # reciprocal rank fusion, 1/(rrf_k + rank), equal weights
    WEIGHTED = "weighted"  # dense_weight * minmax(dense) + (1 - dense_weight) * minmax(bm25)

    @classmethod
    def from_str(cls, value: str) -> "Fusion":
        try:
            return cls(value.lower())
        except ValueError:
            allowed = ", ".join(m.value for m in cls)
            raise ConfigError("retrieval.fusion", f"unknown fusion {value!r}; one of: {allowed}") from None


class HybridRetriever:
    """Ranks an index's chunks for a query with both retrievers.

    Candidates are the union of each retriever's top `candidates`; every candidate gets both
    scores (exactly, not a missing-means-zero guess) before fusion.
    """

    def __init__(self, index: Index, tokenizer: Tokenizer, embedder: Embedder,
                 settings: RetrievalSettings | None = None) -> None:
        self.index = index
        self.tokenizer = tokenizer
        self.embedder = embedder
        self.settings = settings or RetrievalSettings()
        self.fusion = Fusion.from_str(self.settings.fusion)

    def search(self, query: str, k: int = 10, where: SearchFilter | None = None) -> list[Hit]:
        if len(self.index) == 0 or not query.strip():
            return []
        tokens = self.tokenizer.tokenize(query)
        vector = self.embedder.encode_query(query)
        n = self.settings.candidates
        dense = {s.ordinal: s for s in self.index.dense_search(vector, n, where)}
        keyword = {s.ordinal: s for s in self.index.keyword_search(tokens, n, where)}
        for s in self.index.dense_scores(vector, [o for o in keyword if o not in dense]):
            dense[s.ordinal] = s
        for s in self.index.keyword_scores(tokens, [o for o in dense if o not in keyword]):
            keyword[s.ordinal] = s
        ordinals = list(dense)
        fused = self._fuse(np.array([dense[o].score for o in ordinals]),
                           np.array([keyword[o].score for o in ordinals]))
        order = np.argsort(-fused, kind="stable")[:k]
        return [self._hit(ordinals[i], float(fused[i]), dense[ordinals[i]], keyword[ordinals[i]])
                for i in order]

    def _fuse(self, dense: np.ndarray, bm25: np.ndarray) -> np.ndarray:
        if self.fusion is Fusion.RRF:
            return _rrf(dense, self.settings.rrf_k) + _rrf(bm25, self.settings.rrf_k)
        w = self.settings.dense_weight
        return w * _minmax(dense) + (1 - w) * _minmax(bm25)

    def _hit(self, ordinal: int, score: float, dense: ScoredChunk, bm25: ScoredChunk) -> Hit:
        chunk = self.index.chunk(ordinal)
        return Hit(id=chunk.id, doc_id=chunk.doc_id, score=score, source=chunk.source,
                   kind=chunk.kind, text=chunk.text, question=chunk.question,
                   heading_path=chunk.heading_path, category=chunk.category,
                   matched_text=chunk.match_texts[dense.matched],
                   scores={"dense": dense.score, "bm25": bm25.score})


def _minmax(scores: np.ndarray) -> np.ndarray:
    if scores.size == 0:
        return scores
    low, high = float(scores.min()), float(scores.max())
    if high - low < 1e-12:
        return np.ones_like(scores) if high > 0 else np.zeros_like(scores)
    return (scores - low) / (high - low)


def _rrf(scores: np.ndarray, k: int) -> np.ndarray:
    ranks = np.empty(scores.size, dtype=np.float64)
    ranks[np.argsort(-scores, kind="stable")] = np.arange(1, scores.size + 1)
    return 1.0 / (k + ranks)
