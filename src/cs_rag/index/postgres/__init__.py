"""The PostgreSQL + pgvector backend: the Index contract on a server many processes share.

One schema per knowledge base (several share a server), created and migrated by the library
(`cs-rag db init | migrate | status`); `schema_version` records the migrations applied. Tables:

    meta         key -> text: embedding model, dimension, tokenizer fingerprint, the user
                 dictionary, synonyms and calibration the index was built with
    stats        one row: generation (bumped by every ingest), chunk and row counts, total row
                 length, the BM25 IDF floor and the mean row length impacts were computed at
    documents    per document: content hash, kind, source, file, chunk count (incremental ingest)
    chunks       id (the chunk's ordinal, never reused), doc_id, the Chunk as JSON
    match_rows   one row per match text: chunk, position, embedding key, tokens, length, the
                 chunk's filter columns (category, kind, validity dates, product keys) and its vector (HNSW,
                 inner product; vectors are normalised)
    terms        term -> document frequency (documents = match rows, as in index/bm25.py) and
                 the highest tf of its postings ever written (deletes leave it: still a bound)
    postings     (term, row, tf), the posting's impact (its BM25 term score without IDF) and
                 copies of the row's length, chunk, position and filter columns (rows never
                 change, only come and go): the inverted index BM25 is computed from; index
                 postings_impact holds every column in (term, impact) order, so a term's best
                 postings are read first from the index alone; the primary key (term, row) has
                 tf and length for one probe per posting

BM25 is index/bm25.py's formula (k1 1.5, b 0.75, rank-bm25's IDF with the same floor) computed
in SQL at query time from postings, terms and stats, so keyword scores equal the embedded
backend's up to float32 rounding, and fusion and calibrated confidence behave the same.
Top-k search reads a bounded number of each term's highest-impact postings and proves the
result exact from a bound on what it did not read, or reads deeper (`PostgresIndex._keyword`).

Concurrency: an ingest writes all its changes (row-level deletes and inserts per changed
document, term statistics, stats, meta) in one transaction, under an advisory lock that
serialises writers. Every search reads in one REPEATABLE READ transaction, so it sees one
generation whole, before or after a concurrent ingest, never half of one.

If the database has ParadeDB's pg_search, `keyword_engine()` says so; keyword search still
uses the stored statistics, the only ranker that reproduces the embedded backend's scores.
"""

from cs_rag.index.postgres.schema import SCHEMA_VERSION
from cs_rag.index.postgres.search import PostgresIndex
from cs_rag.index.postgres.store import PostgresStore
from cs_rag.index.postgres.writer import PostgresWriter

__all__ = ["SCHEMA_VERSION", "PostgresIndex", "PostgresStore", "PostgresWriter"]
