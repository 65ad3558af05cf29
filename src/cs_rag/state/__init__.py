"""Where the service's stores keep their tables: one SQLite file (the embedded default) or a
PostgreSQL schema every replica shares. Stores write SQL both accept (see base.Dialect)."""

from cs_rag.state.base import Dialect, StateConnection, StateDatabase
from cs_rag.state.postgres import PostgresState
from cs_rag.state.sqlite import SqliteState

__all__ = ["Dialect", "PostgresState", "SqliteState", "StateConnection", "StateDatabase"]
