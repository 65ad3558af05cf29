"""The PostgreSQL + pgvector backend: the Index contract on a server many processes share.

One schema per knowledge base (several share a server), created and migrated by the library
(`cs-rag db init | migrate | status`); `schema_version` records the migrations applied. Tables:

    meta         key -> text: embedding model, dimension, tokenizer fingerprint, the user
                 dictionary, synonyms and calibration the index was built with
    stats        one row: generation (bumped by every ingest), chunk and row counts, total row
                 length and the BM25 IDF floor
    documents    per document: content hash, kind, source, file, chunk count (incremental ingest)
    chunks       id (the chunk's ordinal, never reused), doc_id, the Chunk as JSON
    match_rows   one row per match text: chunk, position, embedding key, tokens, length, the
                 chunk's filter columns (category, kind, validity dates, product keys) and its vector (HNSW,
                 inner product; vectors are normalised)
    terms        term -> document frequency (documents = match rows, as in index/bm25.py) and
                 the highest tf of its postings ever written (deletes leave it: still a bound)
    postings     (term, row, tf) and copies of the row's length, chunk, position and filter
                 columns (rows never change, only come and go): the inverted index BM25 is
                 computed from, every column in its primary key's leaf pages, so scoring reads
                 the index alone

BM25 is index/bm25.py's formula (k1 1.5, b 0.75, rank-bm25's IDF with the same floor) computed
in SQL at query time from postings, terms and stats, so keyword scores equal the embedded
backend's up to float32 rounding, and fusion and calibrated confidence behave the same.
Top-k search skips most postings of common terms exactly (MaxScore, see `PostgresIndex._keyword`).

Concurrency: an ingest writes all its changes (row-level deletes and inserts per changed
document, term statistics, stats, meta) in one transaction, under an advisory lock that
serialises writers. Every search reads in one REPEATABLE READ transaction, so it sees one
generation whole, before or after a concurrent ingest, never half of one.

If the database has ParadeDB's pg_search, `keyword_engine()` says so; keyword search still
uses the stored statistics, the only ranker that reproduces the embedded backend's scores.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from cs_rag.models.adapter import Adapter
from cs_rag.errors import IndexStoreError
from cs_rag.types import Chunk, DocumentKind
from cs_rag.index.base import ScoredChunk, SearchFilter, product_key
from cs_rag.index.bm25 import B, EPSILON, K1, MIN_IDF
from cs_rag.index.embedded import DocumentRecord, EmbeddedIndex, Manifest, Row

SCHEMA_VERSION = 3
EXTENSION = "vector"
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_LOCK_KEY = "cs_rag:"  # advisory lock per schema: hashtext(_LOCK_KEY || schema)
_CHUNK_CACHE = 50_000  # chunks kept per process (ordinals are never reused, so never stale)

# Migration n brings a schema from version n-1 to n; each runs in its own transaction.
MIGRATIONS: dict[int, list[str]] = {
    1: [
        "CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL)",
        """CREATE TABLE stats (id int PRIMARY KEY CHECK (id = 1),
               generation bigint NOT NULL DEFAULT 0, n_chunks bigint NOT NULL DEFAULT 0,
               n_rows bigint NOT NULL DEFAULT 0, total_len bigint NOT NULL DEFAULT 0,
               idf_floor float8 NOT NULL DEFAULT 0.001)""",
        "INSERT INTO stats (id) VALUES (1)",
        """CREATE TABLE documents (doc_id text PRIMARY KEY, content_hash text NOT NULL,
               kind text NOT NULL, source text NOT NULL, file text NOT NULL, chunks int NOT NULL)""",
        "CREATE SEQUENCE chunk_ids",
        "CREATE SEQUENCE row_ids",
        """CREATE TABLE chunks (id bigint PRIMARY KEY,
               doc_id text NOT NULL REFERENCES documents ON DELETE CASCADE, data text NOT NULL)""",
        "CREATE INDEX chunks_doc ON chunks (doc_id)",
        """CREATE TABLE match_rows (id bigint PRIMARY KEY,
               chunk_id bigint NOT NULL REFERENCES chunks ON DELETE CASCADE,
               position int NOT NULL, key text NOT NULL, tokens text[] NOT NULL,
               length int NOT NULL, category text, kind text NOT NULL, valid_from date,
               valid_to date, embedding vector)""",
        "CREATE INDEX match_rows_chunk ON match_rows (chunk_id, position)",
        "CREATE TABLE terms (term text PRIMARY KEY, df int NOT NULL)",
        """CREATE TABLE postings (term text NOT NULL,
               row_id bigint NOT NULL REFERENCES match_rows ON DELETE CASCADE,
               tf int NOT NULL, PRIMARY KEY (term, row_id))""",
        "CREATE INDEX postings_row ON postings (row_id)",
    ],
    2: [  # postings carry what scoring and filters read, in the primary key's leaf pages
        """ALTER TABLE postings ADD COLUMN length int, ADD COLUMN chunk_id bigint,
               ADD COLUMN position int, ADD COLUMN category text, ADD COLUMN kind text,
               ADD COLUMN valid_from date, ADD COLUMN valid_to date""",
        """UPDATE postings p SET length = r.length, chunk_id = r.chunk_id, position = r.position,
               category = r.category, kind = r.kind, valid_from = r.valid_from, valid_to = r.valid_to
           FROM match_rows r WHERE r.id = p.row_id""",
        """ALTER TABLE postings ALTER COLUMN length SET NOT NULL, ALTER COLUMN chunk_id SET NOT NULL,
               ALTER COLUMN position SET NOT NULL, ALTER COLUMN kind SET NOT NULL""",
        """ALTER TABLE postings DROP CONSTRAINT postings_pkey, ADD PRIMARY KEY (term, row_id)
               INCLUDE (tf, length, chunk_id, position, category, kind, valid_from, valid_to)""",
        "ALTER TABLE terms ADD COLUMN max_tf int",
        """UPDATE terms t SET max_tf = m.tf
           FROM (SELECT term, max(tf) AS tf FROM postings GROUP BY term) m WHERE m.term = t.term""",
        "UPDATE terms SET max_tf = 1 WHERE max_tf IS NULL",
        "ALTER TABLE terms ALTER COLUMN max_tf SET NOT NULL",
    ],
    3: [  # the products filter column (SearchFilter.products); rows written before have none
        "ALTER TABLE match_rows ADD COLUMN products text[] NOT NULL DEFAULT '{}'",
        "ALTER TABLE postings ADD COLUMN products text[] NOT NULL DEFAULT '{}'",
        """ALTER TABLE postings DROP CONSTRAINT postings_pkey, ADD PRIMARY KEY (term, row_id)
               INCLUDE (tf, length, chunk_id, position, category, kind, valid_from, valid_to, products)""",
    ],
}

# One posting's BM25 term score; w.weight is idf * the term's occurrences in the query.
_TERM_SCORE = f"w.weight * p.tf * {K1 + 1} / (p.tf + {K1} * (1 - {B} + {B} * p.length / %(avgdl)s))"
# The most a non-essential term can add to the row `partial` (its tf is at most max_tf and
# at most the row's length, and the score grows with tf); a hair more against float rounding.
_ROW_BOUND = f"""(SELECT coalesce(sum(w.weight * least(w.max_tf, partial.length) * {K1 + 1}
                    / (least(w.max_tf, partial.length) + {K1} * (1 - {B} + {B} * partial.length / %(avgdl)s))), 0)
                  FROM w WHERE NOT w.essential) * (1 + 1e-9)"""

# The other (non-essential) terms' score of the row `partial.row_id`: one primary-key probe each.
_REST_SCORE = f"""coalesce((SELECT sum({_TERM_SCORE}) FROM w JOIN postings p
                         ON p.term = w.term AND p.row_id = partial.row_id WHERE NOT w.essential), 0)"""

# The top k chunks by BM25 (best row per chunk), MaxScore style. {filter} is replaced by the
# filter SQL over postings columns; terms/weights/max_tf are the query's known terms, their
# idf * occurrences and highest tf; `essential` marks those whose postings are read in full.
# Rows holding an essential term are scored on those terms; the best row of each of the k
# best chunks so far is scored in full, and the lowest of those k scores is the floor (no
# higher than the true k-th score); only rows whose bound (_ROW_BOUND) reaches it get the
# other terms' scores added. Rows holding no essential term are never seen: the caller
# checks that they cannot reach the k-th score returned.
_KEYWORD_SQL = f"""
WITH w(term, weight, essential, max_tf) AS (
    SELECT * FROM unnest(%(terms)s::text[], %(weights)s::float8[], %(essential)s::bool[],
                         %(max_tf)s::int[])),
partial AS (
    SELECT p.row_id, p.chunk_id, p.position, p.length, sum({_TERM_SCORE}) AS score
    FROM w JOIN postings p ON p.term = w.term
    WHERE w.essential AND {{filter}}
    GROUP BY p.row_id, p.chunk_id, p.position, p.length),
head AS (
    SELECT partial.row_id, partial.score FROM (
        SELECT DISTINCT ON (chunk_id) row_id, score FROM partial ORDER BY chunk_id, score DESC) partial
    ORDER BY partial.score DESC LIMIT %(k)s),
floor AS (
    SELECT CASE WHEN count(*) < %(k)s THEN 0 ELSE min(partial.score + {_REST_SCORE}) END AS score
    FROM head partial),
complete AS (
    SELECT partial.chunk_id, partial.position, partial.score + {_REST_SCORE} AS score
    FROM partial, floor WHERE partial.score + {_ROW_BOUND} >= floor.score),
best AS (SELECT DISTINCT ON (chunk_id) chunk_id, position, score FROM complete
         ORDER BY chunk_id, score DESC, position)
SELECT chunk_id, position, score FROM best ORDER BY score DESC, chunk_id LIMIT %(k)s
"""
# The same ranking over the rows of the given chunks only (`restrict`): rows by chunk, each
# query term's posting by primary key.
_RESTRICTED_SQL = f"""
WITH w(term, weight) AS (SELECT * FROM unnest(%(terms)s::text[], %(weights)s::float8[])),
scored AS (
    SELECT p.chunk_id, p.position, sum({_TERM_SCORE}) AS score
    FROM match_rows r CROSS JOIN w JOIN postings p ON p.term = w.term AND p.row_id = r.id
    WHERE r.chunk_id = ANY(%(restrict)s) AND {{filter}}
    GROUP BY p.row_id, p.chunk_id, p.position),
best AS (SELECT DISTINCT ON (chunk_id) chunk_id, position, score FROM scored
         ORDER BY chunk_id, score DESC, position)
SELECT chunk_id, position, score FROM best ORDER BY score DESC, chunk_id LIMIT %(k)s
"""
# Terms in more than this share of rows start out non-essential (a first guess: the result
# proves itself exact or the search is repeated with a bound it can meet).
_COMMON = 0.1


class DatabaseUnavailableError(IndexStoreError):
    """The PostgreSQL server cannot be reached, or refuses the connection."""


class ExtensionMissingError(IndexStoreError):
    """The pgvector extension is not installed on the server or not created in the database."""


class SchemaVersionError(IndexStoreError):
    """The knowledge base's schema is missing, older than this cs_rag (run `cs-rag db migrate`)
    or newer (upgrade cs_rag)."""


def _configure(conn: Any) -> None:
    """Pooled connections: autocommit (transactions are explicit), pgvector types."""
    from pgvector.psycopg import register_vector

    conn.autocommit = True
    register_vector(conn)


class PostgresStore:
    """One knowledge base's schema on a PostgreSQL server, with a connection pool.

    Nothing connects until first use. `init()` creates the extension (if the user may), the
    schema and its tables; `migrate()` applies pending migrations; `check()` verifies the
    server, the extension and the schema version, and every reader and writer calls it once.
    """

    def __init__(self, dsn: str, schema: str, pool_size: int = 4) -> None:
        if not _SCHEMA_NAME.match(schema):
            raise IndexStoreError(f"schema name {schema!r}: use lower-case letters, digits and _, "
                                  "starting with a letter or _ (at most 63)")
        self.dsn = dsn
        self.schema = schema
        self.pool_size = pool_size
        self._pool: Any = None
        self._checked = False
        self._chunks: dict[int, Chunk] = {}
        self._adapter: tuple[int, Adapter | None] | None = None  # (generation, its adapter)

    # ---- connections ---------------------------------------------------------------------

    @property
    def where(self) -> str:
        """The server and database, for messages (never the password)."""
        from psycopg.conninfo import conninfo_to_dict

        try:
            info = conninfo_to_dict(self.dsn)
        except Exception:  # noqa: BLE001 - a malformed DSN is reported by connect()
            return f"schema {self.schema}"
        return (f"{info.get('host', 'localhost')}:{info.get('port', 5432)}"
                f"/{info.get('dbname', info.get('user', ''))} schema {self.schema}")

    def _connect(self, **kwargs: Any) -> Any:
        """A plain connection outside the pool (setup, migrations, checks)."""
        import psycopg

        try:
            return psycopg.connect(self.dsn, connect_timeout=10, **kwargs)
        except psycopg.OperationalError as exc:
            raise DatabaseUnavailableError(f"cannot connect to PostgreSQL at {self.where}: "
                                           f"{str(exc).strip()}") from exc
        except psycopg.ProgrammingError as exc:
            raise DatabaseUnavailableError(f"invalid PostgreSQL DSN in CS_RAG_PG_DSN: {exc}") from exc

    @contextlib.contextmanager
    def connection(self) -> Iterator[Any]:
        """A pooled connection with search_path set to this schema and pgvector types."""
        import psycopg
        from psycopg_pool import ConnectionPool, PoolTimeout

        if not self._checked:
            self.check()
        if self._pool is None:
            self._pool = ConnectionPool(
                self.dsn, min_size=1, max_size=self.pool_size, open=False, timeout=30,
                kwargs={"options": f"-c search_path={self.schema},public", "connect_timeout": 10},
                configure=_configure)
            self._pool.open()
        try:
            with self._pool.connection() as conn:
                yield conn
        except PoolTimeout as exc:
            raise DatabaseUnavailableError(f"no PostgreSQL connection to {self.where} "
                                           f"within 30 s: {exc}") from exc
        except psycopg.OperationalError as exc:
            raise DatabaseUnavailableError(f"PostgreSQL at {self.where}: {exc}") from exc

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    # ---- schema ------------------------------------------------------------------------

    def init(self) -> list[int]:
        """Create the pgvector extension if needed, the schema and its tables; return the
        migrations applied (empty if the schema was already current)."""
        import psycopg

        with self._connect(autocommit=True) as conn:
            self._require_extension(conn, create=True)
            try:
                conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
            except psycopg.Error as exc:
                raise IndexStoreError(f"cannot create schema at {self.where}: {exc}") from exc
        return self.migrate()

    def migrate(self, target: int = SCHEMA_VERSION) -> list[int]:
        """Apply the migrations up to `target`, each in a transaction, under the writer lock."""
        with self._connect() as conn:
            self._require_extension(conn, create=False)
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (_LOCK_KEY + self.schema,))
                if not self._schema_exists(conn):
                    raise SchemaVersionError(f"{self.where} does not exist; run `cs-rag db init`")
                conn.execute(f'SET LOCAL search_path = "{self.schema}", public')
                conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version int PRIMARY KEY, "
                             "applied timestamptz NOT NULL DEFAULT now())")
                current = self._version(conn) or 0
                applied = []
                for version in range(current + 1, target + 1):
                    for statement in MIGRATIONS[version]:
                        conn.execute(statement)
                    conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (version,))
                    applied.append(version)
        self._checked = False
        return applied

    def version(self) -> int | None:
        """The schema's version: None if the schema does not exist, 0 before any migration."""
        with self._connect() as conn:
            return self._version(conn) if self._schema_exists(conn) else None

    def check(self) -> None:
        """Raise DatabaseUnavailableError, ExtensionMissingError or SchemaVersionError unless
        the server is reachable, pgvector is created and the schema is at SCHEMA_VERSION."""
        with self._connect() as conn:
            self._require_extension(conn, create=False)
            if not self._schema_exists(conn):
                raise SchemaVersionError(f"{self.where} does not exist; run `cs-rag db init` "
                                         "or ingest into it")
            version = self._version(conn) or 0
        if version < SCHEMA_VERSION:
            raise SchemaVersionError(f"{self.where} is at schema version {version}, this cs_rag "
                                     f"needs {SCHEMA_VERSION}; run `cs-rag db migrate`")
        if version > SCHEMA_VERSION:
            raise SchemaVersionError(f"{self.where} is at schema version {version}, newer than "
                                     f"this cs_rag ({SCHEMA_VERSION}); upgrade cs_rag")
        self._checked = True

    def exists(self) -> bool:
        with self._connect() as conn:
            return self._schema_exists(conn)

    def keyword_engine(self) -> str:
        """`pg_search` when ParadeDB's extension is created in the database, else `sql`
        (what keyword search runs on is always the stored BM25 statistics; see module doc)."""
        with self._connect() as conn:
            found = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_search'").fetchone()
        return "pg_search" if found else "sql"

    def _schema_exists(self, conn: Any) -> bool:
        return conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s",
                            (self.schema,)).fetchone() is not None

    def _version(self, conn: Any) -> int | None:
        table = conn.execute("SELECT to_regclass(%s)", (f'"{self.schema}".schema_version',)).fetchone()[0]
        if table is None:
            return 0
        return conn.execute(f'SELECT coalesce(max(version), 0) FROM "{self.schema}".schema_version').fetchone()[0]

    def _require_extension(self, conn: Any, create: bool) -> None:
        import psycopg

        if conn.execute("SELECT 1 FROM pg_extension WHERE extname = %s", (EXTENSION,)).fetchone():
            return
        available = conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = %s",
                                 (EXTENSION,)).fetchone()
        if not available:
            raise ExtensionMissingError(f"the PostgreSQL server at {self.where} has no pgvector "
                                        f"extension ({EXTENSION!r}); install pgvector >= 0.8 there")
        if not create:
            raise ExtensionMissingError(f"pgvector is not created in the database at {self.where}; "
                                        f"run `cs-rag db init` (or CREATE EXTENSION {EXTENSION})")
        try:
            conn.execute(f"CREATE EXTENSION IF NOT EXISTS {EXTENSION}")
        except psycopg.Error as exc:
            raise ExtensionMissingError(f"cannot create pgvector at {self.where} ({exc}); ask a "
                                        f"superuser to run CREATE EXTENSION {EXTENSION}") from exc

    # ---- reading -------------------------------------------------------------------------

    def state(self) -> tuple[int, dict[str, str]]:
        """(generation, meta) of the live knowledge base; generation 0 means never ingested."""
        with self.connection() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            generation = conn.execute("SELECT generation FROM stats").fetchone()[0]
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        return generation, meta

    def index(self) -> "PostgresIndex":
        return PostgresIndex(self)

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[Any]:
        """A connection inside a read-only REPEATABLE READ transaction: one consistent generation."""
        with self.connection() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield conn

    def chunks(self, conn: Any, ordinals: Sequence[int]) -> dict[int, Chunk]:
        """Chunks by ordinal, from the process cache or the database."""
        missing = [o for o in ordinals if o not in self._chunks]
        if missing:
            if len(self._chunks) + len(missing) > _CHUNK_CACHE:
                self._chunks.clear()
            for ordinal, data in conn.execute("SELECT id, data FROM chunks WHERE id = ANY(%s)",
                                              (missing,)):
                self._chunks[ordinal] = Chunk.model_validate_json(data)
        return {o: self._chunks[o] for o in ordinals if o in self._chunks}

    def adapter(self, conn: Any) -> Adapter | None:
        """The adapter of the generation `conn` sees (meta key `adapter`), cached per generation."""
        generation = conn.execute("SELECT generation FROM stats").fetchone()[0]
        cached = self._adapter
        if cached is None or cached[0] != generation:
            row = conn.execute("SELECT value FROM meta WHERE key = 'adapter'").fetchone()
            try:
                cached = (generation, Adapter.from_text(row[0]) if row else None)
            except ValueError as exc:
                raise IndexStoreError(f"the adapter stored in {self.where} is unreadable: {exc}") from None
            self._adapter = cached
        return cached[1]

    def document_chunks(self, doc_id: str) -> list[Chunk]:
        """The live chunks of one document, in ingest order."""
        with self.snapshot() as conn:
            rows = conn.execute("SELECT data FROM chunks WHERE doc_id = %s ORDER BY id", (doc_id,)).fetchall()
        return [Chunk.model_validate_json(data) for (data,) in rows]

    # ---- writing -----------------------------------------------------------------------

    @contextlib.contextmanager
    def writer(self) -> Iterator["PostgresWriter"]:
        """Exclusive writer for this knowledge base (blocks while another process ingests).
        Creates the schema on first use; never migrates an old one."""
        if not self.exists():
            self.init()
        with self.connection() as conn:
            conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (_LOCK_KEY + self.schema,))
            try:
                yield PostgresWriter(self, conn)
            finally:
                conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (_LOCK_KEY + self.schema,))


class PostgresWriter:
    """Reads the live content for an ingest and publishes the next one (see PostgresStore.writer)."""

    def __init__(self, store: PostgresStore, conn: Any) -> None:
        self.store = store
        self.conn = conn

    def meta(self) -> dict[str, str]:
        return dict(self.conn.execute("SELECT key, value FROM meta").fetchall())

    def generation(self) -> int:
        return int(self.conn.execute("SELECT generation FROM stats").fetchone()[0])

    def export(self) -> EmbeddedIndex | None:
        """The live content as an in-memory index (chunks, rows with tokens and vectors,
        document records), or None if nothing was ever ingested."""
        from pgvector import Vector

        conn = self.conn
        meta = self.meta()
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
            if was_empty and index.manifest.dimension:
                # the first content fixes the dimension; HNSW is built after the bulk load
                conn.execute("DROP INDEX IF EXISTS match_rows_hnsw")
                conn.execute(f"ALTER TABLE match_rows ALTER COLUMN embedding "
                             f"TYPE vector({index.manifest.dimension})")
            self._insert(index, set(fresh))
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

    def _insert(self, index: EmbeddedIndex, doc_ids: set[str]) -> None:
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
        chunk_ids = _next_ids(conn, "chunk_ids", len(ordinals))
        id_of = dict(zip(ordinals, chunk_ids))
        with conn.cursor().copy("COPY chunks (id, doc_id, data) FROM STDIN") as copy:
            for ordinal in ordinals:
                chunk = index.chunks[ordinal]
                copy.write_row((id_of[ordinal], chunk.doc_id, chunk.model_dump_json(exclude_defaults=True)))
        positions = [r for r, row in enumerate(index.rows) if row.chunk in id_of]
        products = {o: sorted({product_key(p) for p in index.chunks[o].products}) for o in ordinals}
        row_ids = _next_ids(conn, "row_ids", len(positions))
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
                                "kind, valid_from, valid_to, products) FROM STDIN") as copy:
            for row_id, r, position_in_chunk in zip(row_ids, positions, in_chunk):
                row = index.rows[r]
                chunk = index.chunks[row.chunk]
                for term, tf in Counter(row.tokens).items():
                    copy.write_row((term, row_id, tf, len(row.tokens), id_of[row.chunk], position_in_chunk,
                                    chunk.category, chunk.kind.value, chunk.valid_from, chunk.valid_to,
                                    products[row.chunk]))
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


class PostgresIndex:
    """The Index protocol over a PostgresStore (see cs_rag.index.base.Index for the contract).

    Always the live generation: ordinals are chunk ids, never reused, so they stay valid
    across ingests (a deleted chunk's ordinal is simply no longer returned by searches).
    """

    def __init__(self, store: PostgresStore) -> None:
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
            return self._dense(conn, vector, k, where)

    def keyword_search(self, tokens: Sequence[str], k: int,
                       where: SearchFilter | None = None) -> list[ScoredChunk]:
        with self.store.snapshot() as conn:
            return self._keyword(conn, tokens, k, where)

    def candidates(self, vector: np.ndarray, tokens: Sequence[str], n: int,
                   where: SearchFilter | None = None) -> list[tuple[ScoredChunk, ScoredChunk]]:
        with self.store.snapshot() as conn:
            proposed = [s.ordinal for s in self._dense(conn, vector, n, where)]
            keyword = {s.ordinal: s for s in self._keyword(conn, tokens, n, where)}
            dense_proposed = set(proposed)
            proposed += [o for o in keyword if o not in dense_proposed]
            rows: dict[int, list[tuple[int, float]]] = {}
            adapter = self.store.adapter(conn)
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
            dense = {o: _best_and_runner_up(o, rows[o]) for o in proposed}
            only_dense = [o for o in dense if o not in keyword]
            if only_dense:
                keyword.update((s.ordinal, s) for s in self._keyword(conn, tokens, len(only_dense), where,
                                                                     restrict=only_dense))
            self.store.chunks(conn, list(dense))
        return [(scored, keyword.get(o) or ScoredChunk(ordinal=o, score=0.0, matched=0))
                for o, scored in dense.items()]

    def keyword_ceiling(self, tokens: Sequence[str]) -> float:
        idf = self._cached_idf(tokens)
        return float(sum(idf[t] * n for t, n in Counter(tokens).items() if t in idf))

    def known_share(self, tokens: Sequence[str]) -> float:
        if not tokens:
            return 0.0
        idf = self._cached_idf(tokens)
        return sum(t in idf for t in tokens) / len(tokens)

    # ---- helpers -----------------------------------------------------------------------

    def _dense(self, conn: Any, vector: np.ndarray, k: int,
               where: SearchFilter | None) -> list[ScoredChunk]:
        if k <= 0:
            return []
        condition, params = _filter_sql(where)
        adapter = self.store.adapter(conn)
        # With an adapter rows are proposed by x . (M t), t the adapted query: (x M) . t, the
        # adapted inner product before x M is normalised, then scored exactly (_adapted_scores).
        query = _vector(vector if adapter is None else adapter.matrix @ adapter.apply(vector))
        column = "-(embedding <#> %(q)s)" if adapter is None else "embedding"
        fetch = 4 * k + 32
        while True:  # fetch rows until k distinct chunks are found or rows run out
            # ef_search at least the rows wanted (pgvector's maximum is 1000); relaxed
            # iterative scan keeps looking when the filter rejects rows, so filtered
            # queries still get their k; order is restored below.
            conn.execute(f"SET LOCAL hnsw.ef_search = {min(max(fetch, 100), 1000)}")
            conn.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
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
                 restrict: list[int] | None = None) -> list[ScoredChunk]:
        """The top k chunks by BM25, exactly as a full scoring would rank them.

        Common terms (in more than _COMMON of the rows) are first non-essential: left to the
        rows the other terms find (see _KEYWORD_SQL). A row holding only non-essential terms
        scores at most `rest`, the sum of their bounds, so the result is exact when k chunks
        come back and the k-th scores above `rest`; otherwise the search runs again with only
        as many of the lowest-weight terms non-essential as that k-th score (a lower bound of
        the true one) allows, which the second result then meets, or with every term essential.
        `restrict` scores only the rows of those chunks, every term.
        """
        counts = Counter(tokens)
        if k <= 0 or not counts:
            return []
        condition, params = _filter_sql(where)
        condition = condition.replace("match_rows.", "p.")
        idf, avgdl, df, max_tf, n_rows = self._term_stats(conn, tokens)
        known = sorted((t for t in counts if t in idf), key=lambda t: idf[t] * counts[t])
        if not known:
            return []
        weights = [idf[t] * counts[t] for t in known]
        if restrict is not None:
            found = conn.execute(_RESTRICTED_SQL.replace("{filter}", condition),
                                 {**params, "terms": known, "weights": weights, "avgdl": avgdl, "k": k,
                                  "restrict": restrict}).fetchall()
            return [ScoredChunk(ordinal=o, score=float(s), matched=p) for o, p, s in found if s > 0]
        # a term's score grows with tf and falls with row length, which is at least tf
        bounds = [w * m * (K1 + 1) / (m + K1 * (1 - B + B * m / avgdl))
                  for w, m in zip(weights, (max_tf[t] for t in known))]
        common = 0  # the lowest-weight terms while they are common; the highest is always essential
        while common < len(known) - 1 and df[known[common]] > _COMMON * n_rows:
            common += 1
        sql = _KEYWORD_SQL.replace("{filter}", condition)
        while True:
            rest = sum(bounds[:common])
            found = conn.execute(sql, {**params, "terms": known, "weights": weights, "avgdl": avgdl, "k": k,
                                       "essential": [i >= common for i in range(len(known))],
                                       "max_tf": [max_tf[t] for t in known]}).fetchall()
            if common == 0 or (len(found) == k and found[-1][2] > rest * (1 + 1e-9)):
                break
            floor = found[-1][2] if len(found) == k else 0.0
            common = min(common - 1, next(i for i in range(len(known) + 1)
                                          if i == len(known) or sum(bounds[:i + 1]) * (1 + 1e-9) >= floor))
        return [ScoredChunk(ordinal=o, score=float(s), matched=p) for o, p, s in found if s > 0]

    def _term_stats(self, conn: Any, tokens: Sequence[str]) -> tuple[dict[str, float], float, dict[str, int],
                                                                      dict[str, int], int]:
        """IDF, document frequency and highest tf of the query's terms that occur in the index
        (IDF: the embedded formula and floor), the mean row length and the number of rows."""
        key = tuple(tokens)
        n_rows, total_len, floor = conn.execute("SELECT n_rows, total_len, idf_floor FROM stats").fetchone()
        idf, frequency, max_tf = {}, {}, {}
        for term, df, tf in conn.execute("SELECT term, df, max_tf FROM terms WHERE term = ANY(%s)",
                                         (list(set(key)),)):
            value = math.log(n_rows - df + 0.5) - math.log(df + 0.5)
            idf[term] = value if value > 0 else floor
            frequency[term] = df
            max_tf[term] = tf
        self._terms = (key, idf)
        return idf, total_len / max(n_rows, 1), frequency, max_tf, n_rows

    def _cached_idf(self, tokens: Sequence[str]) -> dict[str, float]:
        if self._terms is not None and self._terms[0] == tuple(tokens):
            return self._terms[1]
        with self.store.snapshot() as conn:
            return self._term_stats(conn, tokens)[0]

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


def _filter_sql(where: SearchFilter | None) -> tuple[str, dict[str, Any]]:
    """A WHERE condition over match_rows columns (SearchFilter.accepts in SQL)."""
    where = where or SearchFilter()
    parts, params = ["TRUE"], {}
    if where.categories is not None:
        parts.append("match_rows.category = ANY(%(categories)s)")
        params["categories"] = sorted(where.categories)
    if where.kinds is not None:
        parts.append("match_rows.kind = ANY(%(kinds)s)")
        params["kinds"] = sorted(k.value for k in where.kinds)
    if where.products is not None:
        parts.append("(cardinality(match_rows.products) = 0 OR match_rows.products && %(products)s::text[])")
        params["products"] = sorted(where.product_keys())
    if not where.include_expired:
        parts.append("(match_rows.valid_from IS NULL OR match_rows.valid_from <= %(day)s) AND "
                     "(match_rows.valid_to IS NULL OR match_rows.valid_to >= %(day)s)")
        params["day"] = where.valid_on or dt.date.today()
    return " AND ".join(parts), params


def _vector(vector: np.ndarray) -> Any:
    from pgvector import Vector

    return Vector(np.asarray(vector, dtype=np.float32).ravel())


def _next_ids(conn: Any, sequence: str, n: int) -> list[int]:
    return [i for (i,) in conn.execute("SELECT nextval(%s) FROM generate_series(1, %s)", (sequence, n))]
