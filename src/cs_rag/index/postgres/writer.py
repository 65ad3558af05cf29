"""One ingest into PostgreSQL: row-level deletes and inserts per changed document, term
statistics and stats, in one transaction under the schema's advisory lock."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import numpy as np

from cs_rag.index.base import product_key
from cs_rag.index.bm25 import EPSILON, K1, MIN_IDF, B
from cs_rag.index.embedded import DocumentRecord, EmbeddedIndex, Row
from cs_rag.index.postgres.schema import IMPACT_SQL
from cs_rag.index.postgres.sql import next_ids
from cs_rag.types import Chunk, DocumentKind

_IMPACT_DRIFT = 1.25  # the most the mean row length may move before impacts are recomputed


class PostgresWriter:
    """Reads the live content for an ingest and publishes the next one (see PostgresStore.writer)."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def meta(self) -> dict[str, str]:
        return dict(self.conn.execute("SELECT key, value FROM meta").fetchall())

    def generation(self) -> int:
        return int(self.conn.execute("SELECT generation FROM stats").fetchone()[0])

    def export(self) -> EmbeddedIndex | None:
        """The live content as an in-memory index, or None if nothing was ever ingested."""
        return export_content(self.conn)

    def publish(self, index: EmbeddedIndex, meta: dict[str, str | None]) -> int:
        """Make `index` the live content in one transaction: documents whose record changed
        (or all, if the tokenizer changed) are deleted and re-inserted row by row; term
        statistics, stats and meta follow, then postings are vacuumed. Returns the new
        generation. `meta` values of None delete the key."""
        conn = self.conn
        new_docs = index.manifest.documents
        with conn.transaction():
            old_meta = self.meta()
            old_docs = {d: DocumentRecord(content_hash=h, kind=DocumentKind(k), source=s, file=f, chunks=n)
                        for d, h, k, s, f, n in conn.execute(
                            "SELECT doc_id, content_hash, kind, source, file, chunks FROM documents")}
            rewrite_all = old_meta.get("tokenizer_fingerprint") != index.manifest.tokenizer_fingerprint
            gone = [d for d, r in old_docs.items() if rewrite_all or new_docs.get(d) != r]
            fresh = [d for d, r in new_docs.items() if d not in old_docs or d in gone]
            was_empty = not conn.execute("SELECT 1 FROM match_rows LIMIT 1").fetchone()
            if gone:
                self._delete(gone)
            impact_avgdl = self._impact_avgdl(index)
            if was_empty and index.manifest.dimension:
                # the first content fixes the dimension; HNSW is built after the bulk load
                conn.execute("DROP INDEX IF EXISTS match_rows_hnsw")
                conn.execute(f"ALTER TABLE match_rows ALTER COLUMN embedding "
                             f"TYPE vector({index.manifest.dimension})")
            self._insert(index, set(fresh), impact_avgdl)
            if was_empty and index.manifest.dimension:
                conn.execute("CREATE INDEX match_rows_hnsw ON match_rows "
                             "USING hnsw (embedding vector_ip_ops)")
            self._refresh_stats()
            values = {"embedding_model": index.manifest.embedding_model,
                      "dimension": str(index.manifest.dimension),
                      "tokenizer_fingerprint": index.manifest.tokenizer_fingerprint,
                      "created": index.manifest.created,
                      "adapter": index.adapter.to_text() if index.adapter is not None else None, **meta}
            for key, value in values.items():
                if value is None:
                    conn.execute("DELETE FROM meta WHERE key = %s", (key,))
                else:
                    conn.execute("INSERT INTO meta (key, value) VALUES (%s, %s) ON CONFLICT (key) "
                                 "DO UPDATE SET value = excluded.value", (key, value))
            generation = conn.execute("UPDATE stats SET generation = generation + 1 "
                                      "RETURNING generation").fetchone()[0]
        # keyword search reads postings by index-only scans, which skip the table only for
        # pages the visibility map marks all-visible: mark the new ones now, not at autovacuum
        conn.execute("VACUUM postings")
        return generation

    def _delete(self, doc_ids: list[str]) -> None:
        conn = self.conn
        conn.execute("""UPDATE terms t SET df = t.df - d.n
                        FROM (SELECT p.term, count(*) AS n FROM postings p
                              JOIN match_rows r ON r.id = p.row_id JOIN chunks c ON c.id = r.chunk_id
                              WHERE c.doc_id = ANY(%s) GROUP BY p.term) d
                        WHERE t.term = d.term""", (doc_ids,))
        conn.execute("DELETE FROM documents WHERE doc_id = ANY(%s)", (doc_ids,))
        conn.execute("DELETE FROM terms WHERE df <= 0")

    def _impact_avgdl(self, index: EmbeddedIndex) -> float:
        """The mean row length impacts are computed at: kept while the new content's mean is
        within _IMPACT_DRIFT of it, else set to that mean and every kept posting's impact
        recomputed (search bounds a score by impact * max(1, avgdl / impact_avgdl))."""
        conn = self.conn
        current = conn.execute("SELECT impact_avgdl FROM stats").fetchone()[0]
        total = sum(len(row.tokens) for row in index.rows)
        if not total or 1 / _IMPACT_DRIFT <= total / len(index.rows) / current <= _IMPACT_DRIFT:
            return current
        avgdl = total / len(index.rows)
        conn.execute(f"UPDATE postings SET impact = {IMPACT_SQL.format(avgdl='%s')}", (avgdl,))
        conn.execute("UPDATE stats SET impact_avgdl = %s", (avgdl,))
        return avgdl

    def _insert(self, index: EmbeddedIndex, doc_ids: set[str], impact_avgdl: float) -> None:
        conn = self.conn
        ordinals = [o for o, c in enumerate(index.chunks) if c.doc_id in doc_ids]
        if not doc_ids:
            return
        with conn.cursor().copy("COPY documents (doc_id, content_hash, kind, source, file, chunks) "
                                "FROM STDIN") as copy:
            for doc_id in sorted(doc_ids):
                r = index.manifest.documents[doc_id]
                copy.write_row((doc_id, r.content_hash, r.kind.value, r.source, r.file, r.chunks))
        if not ordinals:
            return
        chunk_ids = next_ids(conn, "chunk_ids", len(ordinals))
        id_of = dict(zip(ordinals, chunk_ids))
        with conn.cursor().copy("COPY chunks (id, doc_id, data) FROM STDIN") as copy:
            for ordinal in ordinals:
                chunk = index.chunks[ordinal]
                copy.write_row((id_of[ordinal], chunk.doc_id, chunk.model_dump_json(exclude_defaults=True)))
        positions = [r for r, row in enumerate(index.rows) if row.chunk in id_of]
        products = {o: sorted({product_key(p) for p in index.chunks[o].products}) for o in ordinals}
        row_ids = next_ids(conn, "row_ids", len(positions))
        vectors = index.vectors
        df: Counter[str] = Counter()
        max_tf: dict[str, int] = {}
        with conn.cursor().copy(
                "COPY match_rows (id, chunk_id, position, key, tokens, length, category, kind, "
                "valid_from, valid_to, products, embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
            copy.set_types(["int8", "int8", "int4", "text", "text[]", "int4", "text", "text",
                            "date", "date", "text[]", "vector"])
            seen: Counter[int] = Counter()  # rows are grouped by chunk: position = rows seen so far
            in_chunk = []
            for row_id, r in zip(row_ids, positions):
                row = index.rows[r]
                chunk = index.chunks[row.chunk]
                in_chunk.append(seen[row.chunk])
                seen[row.chunk] += 1
                for term, tf in Counter(row.tokens).items():
                    df[term] += 1
                    max_tf[term] = max(tf, max_tf.get(term, 0))
                copy.write_row((row_id, id_of[row.chunk], in_chunk[-1], row.key, row.tokens,
                                len(row.tokens), chunk.category, chunk.kind.value, chunk.valid_from,
                                chunk.valid_to, products[row.chunk], vectors[r]))
        with conn.cursor().copy("COPY postings (term, row_id, tf, length, chunk_id, position, category, "
                                "kind, valid_from, valid_to, products, impact) FROM STDIN") as copy:
            for row_id, r, position_in_chunk in zip(row_ids, positions, in_chunk):
                row = index.rows[r]
                chunk = index.chunks[row.chunk]
                norm = K1 * (1 - B + B * len(row.tokens) / impact_avgdl)
                for term, tf in Counter(row.tokens).items():
                    copy.write_row((term, row_id, tf, len(row.tokens), id_of[row.chunk], position_in_chunk,
                                    chunk.category, chunk.kind.value, chunk.valid_from, chunk.valid_to,
                                    products[row.chunk], tf * (K1 + 1) / (tf + norm)))
        conn.execute("CREATE TEMP TABLE df_delta (term text, n int, max_tf int) ON COMMIT DROP")
        with conn.cursor().copy("COPY df_delta (term, n, max_tf) FROM STDIN") as copy:
            for term, n in df.items():
                copy.write_row((term, n, max_tf[term]))
        conn.execute("INSERT INTO terms (term, df, max_tf) SELECT term, n, max_tf FROM df_delta "
                     "ON CONFLICT (term) DO UPDATE SET df = terms.df + excluded.df, "
                     "max_tf = greatest(terms.max_tf, excluded.max_tf)")

    def _refresh_stats(self) -> None:
        conn = self.conn
        n_rows, total_len = conn.execute("SELECT count(*), coalesce(sum(length), 0) FROM match_rows").fetchone()
        mean_idf = conn.execute("SELECT avg(ln((%s - df)::float8 + 0.5) - ln(df::float8 + 0.5)) FROM terms",
                                (n_rows,)).fetchone()[0]
        floor = EPSILON * float(mean_idf) if mean_idf is not None else 0.0
        if floor <= 0 or not math.isfinite(floor):
            floor = MIN_IDF
        conn.execute("UPDATE stats SET n_rows = %s, total_len = %s, idf_floor = %s, "
                     "n_chunks = (SELECT count(*) FROM chunks)", (n_rows, total_len, floor))
        for table in ("terms", "postings", "match_rows", "chunks"):  # plans follow the new sizes
            conn.execute(f"ANALYZE {table}")


def export_content(conn: Any) -> EmbeddedIndex | None:
    """The live content as an in-memory index (chunks, rows with tokens and vectors,
    document records), or None if nothing was ever ingested."""
    from pgvector import Vector

    meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    if "embedding_model" not in meta:
        return None
    documents = {d: DocumentRecord(content_hash=h, kind=DocumentKind(k), source=s, file=f, chunks=n)
                 for d, h, k, s, f, n in conn.execute(
                     "SELECT doc_id, content_hash, kind, source, file, chunks FROM documents")}
    ordinal_of: dict[int, int] = {}
    chunks = []
    for chunk_id, data in conn.execute("SELECT id, data FROM chunks ORDER BY id"):
        ordinal_of[chunk_id] = len(chunks)
        chunks.append(Chunk.model_validate_json(data))
    rows, vectors = [], []
    for chunk_id, key, tokens, embedding in conn.execute(
            "SELECT chunk_id, key, tokens, embedding FROM match_rows ORDER BY chunk_id, position"):
        rows.append(Row(ordinal_of[chunk_id], key, list(tokens)))
        vectors.append(embedding.to_numpy() if isinstance(embedding, Vector) else embedding)
    dim = int(meta.get("dimension", 0))
    matrix = np.vstack(vectors).astype(np.float32) if vectors else np.zeros((0, dim), np.float32)
    return EmbeddedIndex.build(chunks, rows, matrix, embedding_model=meta["embedding_model"],
                               tokenizer_fingerprint=meta["tokenizer_fingerprint"],
                               documents=documents)
