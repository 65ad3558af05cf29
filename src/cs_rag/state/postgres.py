"""The service's state in a PostgreSQL schema, shared by every replica of the service."""

from __future__ import annotations

import re
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from cs_rag.errors import ConfigError, DatabaseUnavailableError
from cs_rag.extras import require
from cs_rag.state.base import (
    Dialect,
    Rows,
    StateConnection,
    StateDatabase,
    json_path_parts,
    postgres_ddl,
)

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_LOCK_KEY = "cs_rag_state:"   # one advisory lock per state schema serialises its transactions
CONNECT_TIMEOUT_SECONDS = 5
POOL_TIMEOUT_SECONDS = 5         # a request waits at most this long for the database, then 503


class PostgresDialect(Dialect):
    def json_text(self, column: str, path: str) -> str:
        return f"({column}::jsonb #>> '{{{','.join(json_path_parts(path))}}}')"

    def json_flag(self, column: str, path: str) -> str:
        return (f"(CASE WHEN {column}::jsonb #> '{{{','.join(json_path_parts(path))}}}' = 'true'::jsonb "
                "THEN 1 ELSE 0 END)")

    def json_array_has(self, column: str, array: str, key: str) -> str:
        return (f"EXISTS (SELECT 1 FROM jsonb_array_elements(COALESCE({column}::jsonb #> "
                f"'{{{','.join(json_path_parts(array))}}}', '[]'::jsonb)) item "
                f"WHERE item #>> '{{{','.join(json_path_parts(key))}}}' = ?)")

    def joined(self, expression: str) -> str:
        return f"string_agg({expression}, ' ')"

    def contains(self, column: str) -> str:
        return f"strpos({column}, ?) > 0"

    def table_ddl(self, sql: str) -> str:
        return postgres_ddl(sql)


def where(dsn: str, schema: str) -> str:
    """The server, database and schema, for messages (never the password)."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        info = conninfo_to_dict(dsn)
    except Exception:  # noqa: BLE001 - a malformed DSN is reported when connecting
        return f"schema {schema}"
    return (f"{info.get('host', 'localhost')}:{info.get('port', 5432)}"
            f"/{info.get('dbname', info.get('user', ''))} schema {schema}")


@contextmanager
def connect(dsn: str, where: str, **kwargs: Any) -> Iterator[Any]:
    """A plain connection (outside any pool), closed after; a server that is unreachable, or
    goes away meanwhile, raises DatabaseUnavailableError naming `where`."""
    import psycopg

    try:
        conn = psycopg.connect(dsn, connect_timeout=CONNECT_TIMEOUT_SECONDS, **kwargs)
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailableError(f"cannot connect to PostgreSQL at {where}: {str(exc).strip()}") from exc
    except psycopg.ProgrammingError as exc:
        raise DatabaseUnavailableError(f"invalid PostgreSQL DSN in CS_RAG_PG_DSN: {exc}") from exc
    try:
        with conn:
            yield conn
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailableError(f"PostgreSQL at {where}: {str(exc).strip()}") from exc


def open_pool(dsn: str, search_path: str, size: int, timeout: float = POOL_TIMEOUT_SECONDS,
              configure: Callable[[Any], None] | None = None, least: int = 1) -> Any:
    """An open psycopg pool of `least` to `size` autocommit connections with `search_path`; a
    connection idle for a while is checked before use (_IdleCheck), so the pool recovers by
    itself after a database restart."""
    from psycopg_pool import ConnectionPool

    idle = _IdleCheck()
    pool = ConnectionPool(dsn, min_size=min(least, size), max_size=size, open=False, timeout=timeout,
                          kwargs={"options": f"-c search_path={search_path}",
                                  "connect_timeout": CONNECT_TIMEOUT_SECONDS, "autocommit": True},
                          configure=configure, check=idle.check, reset=idle.reset)
    pool.open()
    return pool


@contextmanager
def pooled(pool: Any, where: str, timeout: float) -> Iterator[Any]:
    """A connection of `pool` (open_pool's); DatabaseUnavailableError naming `where` when none
    comes within `timeout` seconds or the server goes away meanwhile."""
    import psycopg
    from psycopg_pool import PoolTimeout

    try:
        with pool.connection() as conn:
            yield conn
    except PoolTimeout as exc:
        raise DatabaseUnavailableError(f"no PostgreSQL connection to {where} within {timeout:g} s: {exc}") from exc
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailableError(f"PostgreSQL at {where}: {str(exc).strip()}") from exc


class _IdleCheck:
    """A pool's `check` and `reset` callbacks: a connection idle for over `seconds` is checked
    (one round trip) before it is used; one used more recently is trusted. After a database
    restart idle connections are dead, and checking every checkout would cost a round trip on
    every transaction."""

    def __init__(self, seconds: float = 2.0) -> None:
        self.seconds = seconds
        self._returned: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()

    def reset(self, conn: Any) -> None:
        self._returned[conn] = time.monotonic()

    def check(self, conn: Any) -> None:
        from psycopg_pool import ConnectionPool

        if time.monotonic() - self._returned.get(conn, 0.0) > self.seconds:
            ConnectionPool.check_connection(conn)


def _placeholders(sql: str) -> str:
    """`?` placeholders as psycopg's `%s` (a literal `%` doubled)."""
    return sql.replace("%", "%%").replace("?", "%s")


class _PostgresConnection(StateConnection):
    dialect = PostgresDialect()

    def __init__(self, connection: Any) -> None:
        self._connection = connection

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Rows:
        return self._connection.execute(_placeholders(sql), tuple(params))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = [tuple(row) for row in rows]
        if rows:
            with self._connection.cursor() as cursor:
                cursor.executemany(_placeholders(sql), rows)


class PostgresState(StateDatabase):
    """The state in schema `schema` (created on first use) of the database `dsn` names, over a
    connection pool. Every transaction first takes the schema's advisory lock, so transactions
    are serialised across all replicas, as SQLite's BEGIN IMMEDIATE serialises them in one
    process: the stores' read-then-write bodies stay correct without row locks. A lost or
    unreachable server raises DatabaseUnavailableError (the service answers 503); connections
    are checked when taken from the pool, so the service recovers once the server is back."""

    dialect = PostgresDialect()

    def __init__(self, dsn: str, schema: str, pool_size: int = 4) -> None:
        if not _SCHEMA_NAME.match(schema):
            raise ConfigError("index.pg_schema", f"state schema {schema!r}: lower-case letters, digits "
                              "and _, starting with a letter or _ (at most 63)")
        require("psycopg", "postgres", "the service's state on PostgreSQL")
        self.dsn = dsn
        self.schema = schema
        self.pool_size = pool_size
        self._pool: Any = None

    @property
    def where(self) -> str:
        return where(self.dsn, self.schema)

    def _open_pool(self) -> Any:
        with connect(self.dsn, self.where, autocommit=True) as conn, conn.transaction():
            # under the lock: replicas starting together create it once
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (_LOCK_KEY + self.schema,))
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
        return open_pool(self.dsn, self.schema, self.pool_size)

    @contextmanager
    def transaction(self) -> Iterator[StateConnection]:
        """One transaction under the schema's advisory lock (ROLLBACK on an exception)."""
        if self._pool is None:
            self._pool = self._open_pool()
        with pooled(self._pool, self.where, POOL_TIMEOUT_SECONDS) as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (_LOCK_KEY + self.schema,))
            yield _PostgresConnection(conn)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None
