"""Okapi BM25 as a sparse matrix: rank-bm25's BM25Okapi scores, vectorised, with its traps guarded.

Scores equal `rank_bm25.BM25Okapi(corpus).get_scores(query)` (k1=1.5, b=0.75, epsilon=0.25)
whenever the corpus's average IDF is positive and no term occurs in exactly half the
documents. Two deliberate differences, both on corpora where rank-bm25 misbehaves:
an empty corpus scores nothing instead of dividing by zero, and a term whose IDF would be
zero or negative gets a small positive floor, so a matching document never scores below a
non-matching one (rank-bm25 gives such terms 0 or a negative weight on tiny corpora).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

K1 = 1.5
B = 0.75
EPSILON = 0.25
MIN_IDF = 1e-3  # the floor when rank-bm25's epsilon * average IDF is not positive


@dataclass
class BM25Index:
    """Term weights per document: scores(query) is one sparse mat-vec."""

    vocabulary: dict[str, int]
    weights: sparse.csc_matrix  # (documents, terms): idf * saturated term frequency
    idf: np.ndarray             # (terms,) the IDF each column was weighted with

    @classmethod
    def build(cls, corpus: Sequence[Sequence[str]]) -> "BM25Index":
        vocabulary: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        freqs: list[int] = []
        lengths = np.zeros(len(corpus), dtype=np.float64)
        for doc, tokens in enumerate(corpus):
            lengths[doc] = len(tokens)
            for term, count in Counter(tokens).items():
                rows.append(doc)
                cols.append(vocabulary.setdefault(term, len(vocabulary)))
                freqs.append(count)
        n_docs, n_terms = len(corpus), len(vocabulary)
        if n_docs == 0 or n_terms == 0:
            return cls(vocabulary, sparse.csc_matrix((n_docs, n_terms), dtype=np.float32),
                       np.zeros(n_terms, dtype=np.float32))
        rows_a = np.asarray(rows, dtype=np.int64)
        cols_a = np.asarray(cols, dtype=np.int64)
        tf = np.asarray(freqs, dtype=np.float64)
        idf = _idf(np.bincount(cols_a, minlength=n_terms), n_docs)
        avgdl = lengths.mean()
        norm = K1 * (1 - B + B * lengths[rows_a] / avgdl)
        values = idf[cols_a] * tf * (K1 + 1) / (tf + norm)
        weights = sparse.csc_matrix((values.astype(np.float32), (rows_a, cols_a)),
                                    shape=(n_docs, n_terms))
        return cls(vocabulary, weights, idf.astype(np.float32))

    @property
    def size(self) -> int:
        return self.weights.shape[0]

    def scores(self, query: Sequence[str]) -> np.ndarray:
        """Score of every document (float32, shape (documents,)); repeated query terms count
        once per occurrence, as in rank-bm25."""
        counts = Counter(t for t in query if t in self.vocabulary)
        if not counts or self.size == 0:
            return np.zeros(self.size, dtype=np.float32)
        terms = np.fromiter((self.vocabulary[t] for t in counts), dtype=np.int64, count=len(counts))
        multiplicity = np.fromiter(counts.values(), dtype=np.float32, count=len(counts))
        return np.asarray(self.weights[:, terms] @ multiplicity, dtype=np.float32).ravel()

    def known_share(self, query: Sequence[str]) -> float:
        """Share of query tokens that occur anywhere in the corpus (0 for an empty query)."""
        return sum(t in self.vocabulary for t in query) / len(query) if query else 0.0

    def term_weights(self, query: Sequence[str]) -> dict[str, float]:
        """IDF of each query term the corpus has."""
        return {t: float(self.idf[self.vocabulary[t]]) for t in set(query) if t in self.vocabulary}

    def ceiling(self, query: Sequence[str]) -> float:
        """Score an average-length document would get for matching every query term once:
        the scale that makes a BM25 score comparable across corpora (for confidence)."""
        counts = Counter(t for t in query if t in self.vocabulary)
        return float(sum(self.idf[self.vocabulary[t]] * n for t, n in counts.items()))


def _idf(doc_freq: np.ndarray, n_docs: int) -> np.ndarray:
    idf = np.log(n_docs - doc_freq + 0.5) - np.log(doc_freq + 0.5)
    floor = EPSILON * float(idf.mean())
    if floor <= 0 or not math.isfinite(floor):
        floor = MIN_IDF
    # rank-bm25 floors only negative IDFs; a zero IDF is floored here too (see module doc).
    return np.where(idf <= 0, floor, idf)
