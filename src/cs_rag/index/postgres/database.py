"""One knowledge base's schema on a PostgreSQL server: connections, creation and migrations,
consistent read snapshots, and the chunk and adapter caches searches share."""


from __future__ import annotations

import concurrent.futures
import contextlib
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from cs_rag.errors import (
    ExtensionMissingError,
    IndexStoreError,
    SchemaVersionError,
)
from cs_rag.extras import require
from cs_rag.index.postgres.schema import (
    _CHUNK_CACHE,
    _LOCK_KEY,
    _SCHEMA_NAME,
    EXTENSION,
    MIGRATIONS,
    SCHEMA_VERSION,
)
from cs_rag.models.adapter import Adapter
from cs_rag.state.postgres import (
    POOL_TIMEOUT_SECONDS,
    connect,
    open_pool,
    pooled,
    where,
)
from cs_rag.types import Chunk

_SIBLING_WAIT_SECONDS = 0.002   # how long sibling() waits for a free connection
# A search's hash aggregates hold thousands of postings: in memory, not spilled. Its statements
# are planned for their own arrays every time: psycopg prepares a statement run five times on a
# connection, and the generic plan PostgreSQL then picks for array parameters it has not seen
# made keyword candidates ten times slower (p95 2.6 -> 22 ms on a 500-row knowledge base).
_READ_SETTINGS = "SET LOCAL work_mem = '64MB'; SET LOCAL plan_cache_mode = force_custom_plan"


def _configure(conn: Any) -> None:
    """Pooled connections: pgvector types."""
    from pgvector.psycopg import register_vector

    register_vector(conn)


class PostgresSchema:
    """One knowledge base's schema on a PostgreSQL server, with a connection pool.

    Nothing connects until first use. `init()` creates the extension (if the user may), the
    schema and its tables; `migrate()` applies pending migrations; `check()` verifies the
    server, the extension and the schema version, and every reader and writer calls it once.
    """

    def __init__(self, dsn: str, schema: str, pool_size: int = 4) -> None:
        if not _SCHEMA_NAME.match(schema):
            raise IndexStoreError(f"schema name {schema!r}: use lower-case letters, digits and _, "
                                  "starting with a letter or _ (at most 63)")
        require("psycopg", "postgres", "the PostgreSQL backend")
        self.dsn = dsn
        self.schema = schema
        self.pool_size = pool_size
        self._pool: Any = None
        self._checked = False
        self._workers: concurrent.futures.ThreadPoolExecutor | None = None
        self._workers_lock = threading.Lock()
        self._chunks: dict[int, Chunk] = {}
        self._adapter: tuple[int, Adapter | None] | None = None  # (generation, its adapter)

    # ---- connections ---------------------------------------------------------------------

    @property
    def where(self) -> str:
        """The server and database, for messages (never the password)."""
        return where(self.dsn, self.schema)

    def _connect(self, **kwargs: Any) -> contextlib.AbstractContextManager[Any]:
        """A plain connection outside the pool (setup, migrations, checks), closed after; a
        server that is unreachable or goes away meanwhile raises DatabaseUnavailableError."""
        return connect(self.dsn, self.where, **kwargs)

    @contextlib.contextmanager
    def connection(self) -> Iterator[Any]:
        """A pooled connection with search_path set to this schema and pgvector types."""
        if not self._checked:
            self.check()
        if self._pool is None:
            self._pool = open_pool(self.dsn, f"{self.schema},public", self.pool_size, POOL_TIMEOUT_SECONDS,
                                   configure=_configure, least=2)   # a search reads on two (sibling())
        with pooled(self._pool, self.where, POOL_TIMEOUT_SECONDS) as conn:
            yield conn

    def workers(self) -> concurrent.futures.ThreadPoolExecutor:
        """Threads for a search's second read (see sibling()), one per pooled connection."""
        with self._workers_lock:
            if self._workers is None:
                self._workers = concurrent.futures.ThreadPoolExecutor(self.pool_size, "cs-rag-pg-read")
            return self._workers

    def close(self) -> None:
        with self._workers_lock:
            if self._workers is not None:
                self._workers.shutdown()
                self._workers = None
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    # ---- schema ------------------------------------------------------------------------

    def init(self) -> list[int]:
        """Create the pgvector extension if needed, the schema and its tables; return the
        migrations applied (empty if the schema was already current)."""
        with self._connect(autocommit=True) as conn:
            self._require_extension(conn, create=True)
        return self.migrate(create=True)

    def migrate(self, target: int = SCHEMA_VERSION, create: bool = False) -> list[int]:
        """Apply the migrations up to `target` in one transaction under the writer lock; with
        `create`, the schema is created in that transaction too, so no other process ever sees
        it half made (several replicas may start on a new database at once)."""
        import psycopg

        with self._connect() as conn:
            self._require_extension(conn, create=False)
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (_LOCK_KEY + self.schema,))
                if create:
                    try:
                        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
                    except psycopg.Error as exc:
                        raise IndexStoreError(f"cannot create schema at {self.where}: {exc}") from exc
                elif not self._schema_exists(conn):
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
        if applied:  # rewritten postings: keyword search's index-only scans need them all-visible
            with self._connect(autocommit=True) as conn:
                conn.execute(f'VACUUM ANALYZE "{self.schema}".postings')
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

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[Any]:
        """A connection inside a read-only REPEATABLE READ transaction: one consistent generation."""
        with self.connection() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY; " + _READ_SETTINGS)
            yield conn

    @contextlib.contextmanager
    def sibling(self, conn: Any) -> Iterator[Any | None]:
        """A second connection in the snapshot of `conn` (one of snapshot()'s), so that a search can
        run two reads at once; None when the pool has no connection free at once (the caller
        then reads on `conn` alone: waiting could deadlock searches that each hold one)."""
        from psycopg import sql
        from psycopg_pool import PoolTimeout

        token = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
        try:
            other = self._pool.getconn(timeout=_SIBLING_WAIT_SECONDS)
        except PoolTimeout:
            yield None
            return
        try:
            with other.transaction():
                other.execute(sql.SQL("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY; "
                                      "SET TRANSACTION SNAPSHOT {}; " + _READ_SETTINGS).format(sql.Literal(token)))
                yield other
        finally:
            self._pool.putconn(other)

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
