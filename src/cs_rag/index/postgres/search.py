"""The Index contract over PostgreSQL: dense (HNSW), keyword (BM25 over impact-ordered
postings) and hybrid candidates, every search in one REPEATABLE READ snapshot."""

from __future__ import annotations

import concurrent.futures
import contextlib
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cs_rag.errors import IndexStoreError
from cs_rag.index.base import ScoredChunk, SearchFilter
from cs_rag.index.bm25 import K1, B
from cs_rag.index.embedded import DocumentRecord, Manifest
from cs_rag.index.postgres.database import PostgresSchema
from cs_rag.index.postgres.sql import (
    _CANDIDATES_SQL,
    _MAXSCORE_SQL,
    _PREFIX_SQL,
    _RESTRICTED_SQL,
    _filter_sql,
    _vector,
)
from cs_rag.models.adapter import Adapter
from cs_rag.types import Chunk, DocumentKind

_BUDGET = 4000   # postings the first keyword read takes (at least 20 k)
_COMPLETE = 200  # rows the first read scores in full, + 2 k (every term, one statement)
_SIBLING_MIN_ROWS = 50_000  # from this many match rows, candidates() reads dense and keyword at once


@dataclass
class _TermStats:
    """What keyword search needs of the index statistics: per known query term its IDF, document
    frequency and highest tf; the mean row length; drift = max(1, avgdl / impact_avgdl); the
    number of match rows and their mean number per chunk."""

    avgdl: float
    drift: float
    rows: int = 0
    rows_per_chunk: float = 1.0
    idf: dict[str, float] = field(default_factory=dict)
    df: dict[str, int] = field(default_factory=dict)
    max_tf: dict[str, int] = field(default_factory=dict)


class PostgresIndex:
    """The Index protocol over a PostgresSchema (see cs_rag.index.base.Index for the contract).

    Always the live generation: ordinals are chunk ids, never reused, so they stay valid
    across ingests (a deleted chunk's ordinal is simply no longer returned by searches).
    """

    def __init__(self, store: PostgresSchema) -> None:
        self.store = store
        self._terms: tuple[tuple[str, ...], dict[str, float]] | None = None  # last query's IDFs

    def __len__(self) -> int:
        with self.store.connection() as conn:
            return int(conn.execute("SELECT n_chunks FROM stats").fetchone()[0])

    def chunk(self, ordinal: int) -> Chunk:
        cached = self.store._chunks.get(ordinal)
        if cached is not None:
            return cached
        with self.store.connection() as conn:
            found = self.store.chunks(conn, [ordinal])
        if ordinal not in found:
            raise IndexStoreError(f"no chunk {ordinal} in {self.store.where}")
        return found[ordinal]

    def dense_search(self, vector: np.ndarray, k: int,
                     where: SearchFilter | None = None) -> list[ScoredChunk]:
        with self.store.snapshot() as conn:
            return self._dense(conn, vector, k, where, self.store.adapter(conn))

    def keyword_search(self, tokens: Sequence[str], k: int,
                       where: SearchFilter | None = None) -> list[ScoredChunk]:
        with self.store.snapshot() as conn:
            return self._keyword(conn, tokens, k, where)

    def candidates(self, vector: np.ndarray, tokens: Sequence[str], n: int,
                   where: SearchFilter | None = None) -> list[tuple[ScoredChunk, ScoredChunk]]:
        with self.store.snapshot() as conn:
            adapter = self.store.adapter(conn)
            stats = self._term_stats(conn, tokens)  # one read for both keyword searches

            def read_dense(c: Any) -> list[ScoredChunk]:
                return self._dense(c, vector, n, where, adapter, stats.rows_per_chunk)

            # the dense read beside the keyword read, where both cost more than a second connection
            beside = self.store.sibling(conn) if stats.rows >= _SIBLING_MIN_ROWS else contextlib.nullcontext()
            with beside as other:
                future = self.store.workers().submit(read_dense, other) if other is not None else None
                try:
                    # candidates, not a ranking: the bounded read alone (their keyword scores are exact)
                    keyword = {s.ordinal: s for s in self._keyword(conn, tokens, n, where, stats, exact=False)}
                finally:
                    if future is not None:   # `other` goes back to the pool only once its read is done
                        concurrent.futures.wait([future])
            proposed = [s.ordinal for s in (future.result() if future is not None else read_dense(conn))]
            dense_proposed = set(proposed)
            proposed += [o for o in keyword if o not in dense_proposed]
            rows: dict[int, list[tuple[int, float]]] = {}
            if adapter is None:
                found = conn.execute(  # every candidate's rows, exactly
                    "SELECT chunk_id, position, -(embedding <#> %s) FROM match_rows "
                    "WHERE chunk_id = ANY(%s) ORDER BY chunk_id, position", (_vector(vector), proposed)).fetchall()
            else:
                found = _adapted_scores(adapter, vector, conn.execute(  # binary: vectors as bytes
                    "SELECT chunk_id, position, embedding FROM match_rows "
                    "WHERE chunk_id = ANY(%s) ORDER BY chunk_id, position", (proposed,), binary=True).fetchall())
            for ordinal, position, score in found:
                rows.setdefault(ordinal, []).append((position, float(score)))
            best = {o: _best_and_runner_up(o, rows[o]) for o in proposed}
            only_dense = [o for o in best if o not in keyword]
            if only_dense:
                keyword.update((s.ordinal, s) for s in self._keyword(conn, tokens, len(only_dense), where, stats,
                                                                     restrict=only_dense))
            self.store.chunks(conn, list(best))
        return [(scored, keyword.get(o) or ScoredChunk(ordinal=o, score=0.0, matched=0))
                for o, scored in best.items()]

    def keyword_ceiling(self, tokens: Sequence[str]) -> float:
        idf = self._cached_idf(tokens)
        return float(sum(idf[t] * n for t, n in Counter(tokens).items() if t in idf))

    def known_share(self, tokens: Sequence[str]) -> float:
        if not tokens:
            return 0.0
        idf = self._cached_idf(tokens)
        return sum(t in idf for t in tokens) / len(tokens)

    def vocabulary(self) -> list[str]:
        with self.store.snapshot() as conn:
            return [term for (term,) in conn.execute("SELECT term FROM terms WHERE df > 0")]

    def term_weights(self, tokens: Sequence[str]) -> dict[str, float]:
        return dict(self._cached_idf(tokens))

    def document_chunks(self, doc_id: str) -> list[Chunk]:
        return self.store.document_chunks(doc_id)

    # ---- helpers -----------------------------------------------------------------------

    def _dense(self, conn: Any, vector: np.ndarray, k: int, where: SearchFilter | None,
               adapter: Adapter | None, rows_per_chunk: float | None = None) -> list[ScoredChunk]:
        """The top k chunks by inner product (HNSW), through `adapter` (store.adapter(conn)).
        `rows_per_chunk`: the index's mean match rows per chunk (read from stats if not given);
        the first read asks for that many rows per chunk wanted, more only if they were too few."""
        if k <= 0:
            return []
        if rows_per_chunk is None:
            n_chunks, n_rows = conn.execute("SELECT n_chunks, n_rows FROM stats").fetchone()
            rows_per_chunk = n_rows / max(n_chunks, 1)
        condition, params = _filter_sql(where)
        # With an adapter rows are proposed by x . (M t), t the adapted query: (x M) . t, the
        # adapted inner product before x M is normalised, then scored exactly (_adapted_scores).
        query = _vector(vector if adapter is None else adapter.matrix @ adapter.apply(vector))
        column = "-(embedding <#> %(q)s)" if adapter is None else "embedding"
        fetch = math.ceil(k * max(1.0, rows_per_chunk)) + 32
        while True:  # fetch rows until k distinct chunks are found or rows run out
            # ef_search at least the rows wanted (pgvector's maximum is 1000); relaxed
            # iterative scan keeps looking when the filter rejects rows, so filtered
            # queries still get their k; order is restored below.
            conn.execute(f"SET LOCAL hnsw.ef_search = {min(max(fetch, 100), 1000)}; "
                         "SET LOCAL hnsw.iterative_scan = relaxed_order")
            found = conn.execute(
                f"SELECT chunk_id, position, {column} FROM match_rows "
                f"WHERE {condition} ORDER BY embedding <#> %(q)s LIMIT %(fetch)s",
                {**params, "q": query, "fetch": fetch}, binary=adapter is not None).fetchall()
            if adapter is not None:
                found = _adapted_scores(adapter, vector, found)
            best: dict[int, ScoredChunk] = {}
            for ordinal, position, score in found:
                if ordinal not in best or score > best[ordinal].score:
                    best[ordinal] = ScoredChunk(ordinal=ordinal, score=float(score), matched=position)
            if len(best) >= k or len(found) < fetch:
                return sorted(best.values(), key=lambda s: (-s.score, s.ordinal))[:k]
            fetch *= 4

    def _keyword(self, conn: Any, tokens: Sequence[str], k: int, where: SearchFilter | None,
                 stats: _TermStats | None = None, restrict: list[int] | None = None,
                 exact: bool = True) -> list[ScoredChunk]:
        """The top k chunks by BM25, exactly as a full scoring would rank them (`exact`), or
        the best k of the bounded read, their scores exact (not `exact`: candidates).

        First a bounded read (_PREFIX_SQL; _CANDIDATES_SQL, without the proof, when not
        `exact`): each term's highest-impact postings, the rarest terms (highest weight) whole
        while _BUDGET lasts (_depths). That is the answer when it
        proves itself (every term read whole, or the k-th score above what any row not scored
        can reach). Otherwise its k-th score, a lower bound of the true one, decides which
        lowest-weight terms cannot lift a row to the top k on their own: those are left
        non-essential in MaxScore (_MAXSCORE_SQL), which reads only the others' postings; if
        its own result does not prove that, it runs again with fewer non-essential terms.
        `restrict` scores only the rows of those chunks, every term. `stats`: the tokens'
        _term_stats in this snapshot, if already read.
        """
        counts = Counter(tokens)
        if k <= 0 or not counts:
            return []
        condition, params = _filter_sql(where)
        stats = stats or self._term_stats(conn, tokens)
        known = sorted((t for t in counts if t in stats.idf), key=lambda t: stats.idf[t] * counts[t])
        if not known:
            return []
        weights = [stats.idf[t] * counts[t] for t in known]
        values = {**params, "terms": known, "weights": weights, "avgdl": stats.avgdl, "k": k}
        if restrict is not None:
            found = conn.execute(_RESTRICTED_SQL.replace("{filter}", condition.replace("match_rows.", "r.")),
                                 {**values, "restrict": restrict}).fetchall()
            return _scored(found)
        condition = condition.replace("match_rows.", "p.")
        found = conn.execute((_PREFIX_SQL if exact else _CANDIDATES_SQL).replace("{filter}", condition), {
            **values, "drift": stats.drift, "complete": _COMPLETE + 2 * k,
            "depth": _depths([stats.df[t] for t in known], max(_BUDGET, 20 * k), 4 * k)}).fetchall()
        if not exact:
            return _scored(found)
        unseen = found[0][3] if found else 0.0
        if not found or unseen == 0 or (len(found) == k and found[-1][2] > unseen * (1 + 1e-9)):
            return _scored(found)
        theta = found[-1][2] if len(found) == k else 0.0
        # a term's score grows with tf and falls with row length, which is at least tf
        bounds = [w * m * (K1 + 1) / (m + K1 * (1 - B + B * m / stats.avgdl))
                  for w, m in zip(weights, (stats.max_tf[t] for t in known))]
        common = _below(bounds, theta)  # the lowest-weight terms that cannot reach theta together
        sql = _MAXSCORE_SQL.replace("{filter}", condition)
        values.update(theta=theta, max_tf=[stats.max_tf[t] for t in known])
        while True:
            found = conn.execute(sql, {**values, "essential": [i >= common for i in range(len(known))]}).fetchall()
            rest = sum(bounds[:common]) * (1 + 1e-9)
            if common == 0 or (len(found) == k and found[-1][2] > rest):
                return _scored(found)
            common = min(common - 1, _below(bounds, found[-1][2] if len(found) == k else 0.0))

    def _term_stats(self, conn: Any, tokens: Sequence[str]) -> _TermStats:
        """The statistics of the query's terms that occur in the index (IDF: the embedded
        formula and floor)."""
        key = tuple(tokens)
        found = conn.execute("SELECT s.n_rows, s.total_len, s.idf_floor, s.impact_avgdl, s.n_chunks, "
                             "t.term, t.df, t.max_tf FROM stats s LEFT JOIN terms t ON t.term = ANY(%s)",
                             (list(set(key)),)).fetchall()
        n_rows, total_len, floor, impact_avgdl, n_chunks = found[0][:5]
        stats = _TermStats(avgdl=total_len / max(n_rows, 1), drift=1.0, rows=n_rows,
                           rows_per_chunk=n_rows / max(n_chunks, 1))
        stats.drift = max(1.0, stats.avgdl / impact_avgdl)
        for term, df, tf in (row[5:] for row in found if row[5] is not None):
            value = math.log(n_rows - df + 0.5) - math.log(df + 0.5)
            stats.idf[term] = value if value > 0 else floor
            stats.df[term] = df
            stats.max_tf[term] = tf
        self._terms = (key, stats.idf)
        return stats

    def _cached_idf(self, tokens: Sequence[str]) -> dict[str, float]:
        if self._terms is not None and self._terms[0] == tuple(tokens):
            return self._terms[1]
        with self.store.snapshot() as conn:
            return self._term_stats(conn, tokens).idf

    @property
    def manifest(self) -> Manifest:
        """The live generation's manifest (model, tokenizer, documents), as the embedded index has."""
        with self.store.snapshot() as conn:
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            documents = {d: DocumentRecord(content_hash=h, kind=DocumentKind(k), source=s, file=f, chunks=n)
                         for d, h, k, s, f, n in conn.execute(
                             "SELECT doc_id, content_hash, kind, source, file, chunks FROM documents")}
        return Manifest(embedding_model=meta.get("embedding_model", ""),
                        dimension=int(meta.get("dimension", 0)),
                        tokenizer_fingerprint=meta.get("tokenizer_fingerprint", ""),
                        created=meta.get("created", ""), documents=documents)


def _adapted_scores(adapter: Adapter, vector: np.ndarray,
                    rows: list[tuple[int, int, Any]]) -> list[tuple[int, int, float]]:
    """(chunk, position, embedding) rows as (chunk, position, cosine in the adapted space),
    as the embedded index scores them."""
    if not rows:
        return []
    from pgvector import Vector

    embeddings = np.vstack([e.to_numpy() if isinstance(e, Vector) else np.asarray(e) for _, _, e in rows])
    scores = adapter.apply(embeddings.astype(np.float32)) @ adapter.apply(vector)
    return [(chunk, position, float(score)) for (chunk, position, _), score in zip(rows, scores)]


def _best_and_runner_up(ordinal: int, rows: list[tuple[int, float]]) -> ScoredChunk:
    """A chunk's dense score from all its (position, score) rows, ties to the first position."""
    ranked = sorted(rows, key=lambda r: (-r[1], r[0]))
    return ScoredChunk(ordinal=ordinal, score=ranked[0][1], matched=ranked[0][0],
                       runner_up=ranked[1][1] if len(ranked) > 1 else None)


def _depths(df: list[int], budget: int, least: int) -> list[int]:
    """Postings to read per term (terms in order of rising weight, `df` their document
    frequencies): from the highest weight down, each term gets its share of what is left of
    `budget`, but at least `least`; a term with fewer postings than its share is read whole
    and leaves the rest to the others."""
    depths = [0] * len(df)
    left = budget
    for i in reversed(range(len(df))):
        depths[i] = min(df[i], max(least, left // (i + 1)))
        left -= depths[i]
    return depths


def _below(bounds: list[float], theta: float) -> int:
    """How many of the first (lowest) bounds sum to less than theta, leaving at least one term."""
    n, total = 0, 0.0
    while n < len(bounds) - 1 and (total + bounds[n]) * (1 + 1e-9) < theta:
        total += bounds[n]
        n += 1
    return n


def _scored(found: list[tuple]) -> list[ScoredChunk]:
    return [ScoredChunk(ordinal=row[0], score=float(row[2]), matched=row[1]) for row in found if row[2] > 0]
