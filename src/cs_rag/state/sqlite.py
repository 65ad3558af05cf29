"""The service's state in one SQLite file: the embedded default, one process."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cs_rag.state.base import (
    Dialect,
    Rows,
    StateConnection,
    StateDatabase,
    json_path_parts,
)


class SqliteDialect(Dialect):
    def json_text(self, column: str, path: str) -> str:
        return f"json_extract({column}, '{_json_path(path)}')"

    def json_flag(self, column: str, path: str) -> str:
        return f"(CASE WHEN {self.json_text(column, path)} = 1 THEN 1 ELSE 0 END)"

    def json_array_has(self, column: str, array: str, key: str) -> str:
        return (f"EXISTS (SELECT 1 FROM json_each({column}, '{_json_path(array)}') "
                f"WHERE json_extract(value, '{_json_path(key)}') = ?)")

    def joined(self, expression: str) -> str:
        return f"group_concat({expression}, ' ')"

    def contains(self, column: str) -> str:
        return f"instr({column}, ?) > 0"

    def table_ddl(self, sql: str) -> str:
        return sql


def _json_path(path: str) -> str:
    return "$" + "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in json_path_parts(path))


class _SqliteConnection(StateConnection):
    dialect = SqliteDialect()

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Rows:
        return self._connection.execute(sql, tuple(params))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self._connection.executemany(sql, rows)


class SqliteState(StateDatabase):
    """One SQLite file (WAL) shared by the service's stores; `transaction()` is BEGIN
    IMMEDIATE ... COMMIT under a process lock, so one instance may be used from every thread."""

    dialect = SqliteDialect()

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None,
                                           timeout=30.0)
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute("PRAGMA synchronous=NORMAL")
        self._wrapped = _SqliteConnection(self._connection)

    @property
    def where(self) -> str:
        return str(self.path)

    @contextmanager
    def transaction(self) -> Iterator[StateConnection]:
        """The connection inside BEGIN IMMEDIATE ... COMMIT (ROLLBACK on an exception)."""
        with self._lock:
            self._connection.execute("BEGIN IMMEDIATE")
            try:
                yield self._wrapped
            except BaseException:
                self._connection.execute("ROLLBACK")
                raise
            self._connection.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._connection.close()
