"""Fixtures of the postgres backend's tests: a new schema per test on the session's server."""

from __future__ import annotations

import itertools

import pytest

from cs_rag.index.postgres import PostgresStore

_names = itertools.count()


@pytest.fixture
def schema() -> str:
    return f"kb_{next(_names)}"


@pytest.fixture
def store(pg_server, schema):
    store = PostgresStore(pg_server.dsn, schema)
    yield store
    store.close()
