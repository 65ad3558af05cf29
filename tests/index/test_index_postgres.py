"""The postgres backend: the Index contract, schema and migrations, errors, many processes.

The session fixture `pg_server` (conftest.py) starts a PostgreSQL 17 + pgvector on a free
127.0.0.1 port and stops it at the end.
"""

from __future__ import annotations

import threading

import numpy as np
import psycopg
import pytest

from cs_rag.index import postgres
from cs_rag.errors import DatabaseUnavailableError, ExtensionMissingError, SchemaVersionError
from cs_rag.index.postgres import PostgresStore

from helpers import write_jsonl
from cs_rag.testing.index_contract import TOKENIZER, IndexContract, build, ids, vector_for
from cs_rag.testing.store_contract import StoreContract

pytestmark = pytest.mark.postgres


class TestPostgresStore(StoreContract):
    pass   # the module's `store` fixture: a new schema each test


class TestPostgresIndex(IndexContract):
    @pytest.fixture
    def load(self, store):
        def load(index):
            with store.writer() as writer:
                writer.publish(index, {})
            return store.index()
        return load


def test_scores_match_the_embedded_backend_through_fusion(store):
    from cs_rag.retrieval.hybrid import HybridRetriever

    reference = build()
    with store.writer() as writer:
        writer.publish(reference, {})
    for query in ("退款多久到账", "发票在哪里申请", "耳机拆封能退吗", "什么时候发货"):
        vector = vector_for(query)
        want = HybridRetriever(reference, TOKENIZER, None).rank(query, 5, vector=vector)
        got = HybridRetriever(store.index(), TOKENIZER, None).rank(query, 5, vector=vector)
        assert [h.id for h in got[0]] == [h.id for h in want[0]]
        assert [h.score for h in got[0]] == pytest.approx([h.score for h in want[0]], abs=1e-5)
        assert got[1] == pytest.approx(want[1], abs=1e-4)  # the confidence features


def test_incremental_publish_touches_only_changed_documents(store):
    with store.writer() as writer:
        writer.publish(build(), {})
    with store.connection() as conn:
        before = dict(conn.execute("SELECT doc_id, id FROM chunks").fetchall())
    changed = [d if d[0] != "invoice" else ("invoice", "faq", "支付", None, ["电子发票"], "新") for d in build_docs()]
    with store.writer() as writer:
        generation = writer.publish(build(changed), {})
        assert writer.export().manifest.documents.keys() == {d[0] for d in changed}
    with store.connection() as conn:
        after = dict(conn.execute("SELECT doc_id, id FROM chunks").fetchall())
    assert generation == 2
    assert {d for d in after if after[d] != before[d]} == {"invoice"}


def build_docs():
    from cs_rag.testing.index_contract import DOCS
    return list(DOCS)


def test_schema_per_knowledge_base(pg_server):
    a, b = PostgresStore(pg_server.dsn, "shop_a"), PostgresStore(pg_server.dsn, "shop_b")
    with a.writer() as writer:
        writer.publish(build(), {})
    with b.writer() as writer:
        writer.publish(build(build_docs()[:2]), {})
    assert len(a.index()) == len(build_docs()) and len(b.index()) == 2
    a.close(), b.close()


def test_two_processes_see_each_others_updates(pg_server, schema):
    writer_side, reader_side = PostgresStore(pg_server.dsn, schema), PostgresStore(pg_server.dsn, schema)
    with writer_side.writer() as writer:
        writer.publish(build(build_docs()[:2]), {})
    reader = reader_side.index()
    assert len(reader) == 2 and reader.keyword_search(TOKENIZER.tokenize("发货"), 5) == []
    with writer_side.writer() as writer:
        writer.publish(build(), {})
    assert len(reader) == len(build_docs())
    assert ids(reader, reader.keyword_search(TOKENIZER.tokenize("发货"), 1)) == ["ship"]
    writer_side.close(), reader_side.close()


def test_search_during_an_ingest_sees_one_generation_whole(store, monkeypatch):
    with store.writer() as writer:
        writer.publish(build(build_docs()[:2]), {})
    index = store.index()
    inside, release = threading.Event(), threading.Event()
    real = postgres.PostgresWriter._refresh_stats

    def slow_refresh(self):  # pause the ingest mid-transaction, after its rows are written
        real(self)
        inside.set()
        release.wait(10)

    monkeypatch.setattr(postgres.PostgresWriter, "_refresh_stats", slow_refresh)

    def ingest():
        with store.writer() as writer:
            writer.publish(build(), {})

    thread = threading.Thread(target=ingest)
    thread.start()
    assert inside.wait(10)
    pairs = index.candidates(vector_for("下单后多久发货"), TOKENIZER.tokenize("发货"), 5)
    assert {index.chunk(d.ordinal).doc_id for d, _ in pairs} <= {"refund", "invoice"}
    assert len(index) == 2
    release.set()
    thread.join(10)
    assert len(index) == len(build_docs())


def test_unreachable_server_is_a_clear_error():
    store = PostgresStore("host=127.0.0.1 port=1 user=nobody password=s3cret dbname=x", "kb")
    with pytest.raises(DatabaseUnavailableError, match="cannot connect to PostgreSQL at 127.0.0.1:1/x") as err:
        store.index().dense_search(vector_for("x"), 1)
    assert "s3cret" not in str(err.value)


def test_missing_extension_is_a_clear_error(pg_server, monkeypatch):
    with psycopg.connect(pg_server.dsn, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS novector")
        conn.execute("CREATE DATABASE novector")
    dsn = pg_server.dsn.replace("dbname=postgres", "dbname=novector")
    with pytest.raises(ExtensionMissingError, match="cs-rag db init"):
        PostgresStore(dsn, "kb").check()
    monkeypatch.setattr(postgres.database, "EXTENSION", "vector_not_installed")
    with pytest.raises(ExtensionMissingError, match="no pgvector extension"):
        PostgresStore(dsn, "kb").init()


def test_old_schema_version_asks_for_migrate(store):
    store.init()
    with store.connection() as conn:  # pretend the schema was made by an older cs_rag
        conn.execute("DELETE FROM schema_version")
    fresh = PostgresStore(store.dsn, store.schema)
    with pytest.raises(SchemaVersionError, match="run `cs-rag db migrate`"):
        len(fresh.index())
    missing = PostgresStore(store.dsn, "never_made")
    with pytest.raises(SchemaVersionError, match="cs-rag db init"):
        missing.check()


def test_migrations_apply_in_order_once(pg_server, schema):
    store = PostgresStore(pg_server.dsn, schema)
    assert store.version() is None
    with psycopg.connect(pg_server.dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    assert store.migrate(target=0) == [] and store.version() == 0
    assert store.migrate() == list(range(1, postgres.SCHEMA_VERSION + 1))
    assert store.migrate() == [] and store.init() == []
    store.check()


def test_pg_search_is_detected_or_falls_back(store):
    store.init()
    with store.connection() as conn:
        available = conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_search'").fetchone()
    assert store.keyword_engine() == "sql"  # not created in the database: stored BM25 statistics
    if available:
        with psycopg.connect(store.dsn, autocommit=True) as conn:
            try:
                conn.execute("CREATE EXTENSION IF NOT EXISTS pg_search")
            except psycopg.Error as exc:  # needs shared_preload_libraries on some builds
                pytest.skip(f"pg_search present but not loadable: {exc}")
        try:
            assert store.keyword_engine() == "pg_search"
        finally:
            with psycopg.connect(store.dsn, autocommit=True) as conn:
                conn.execute("DROP EXTENSION pg_search")


@pytest.fixture
def pg_settings(pg_server, schema, settings, monkeypatch):
    monkeypatch.setenv("CS_RAG_PG_DSN", pg_server.dsn)
    return settings.model_copy(update={"index": settings.index.model_copy(
        update={"backend": "postgres", "pg_schema": schema})})


@pytest.mark.slow
def test_knowledge_bases_in_two_processes_share_one_database(tmp_path, knowledge_dir, pg_settings):
    from cs_rag import KnowledgeBase
    from helpers import FAQ, write_jsonl

    writer, reader = KnowledgeBase("shop", pg_settings), KnowledgeBase("shop", pg_settings)
    assert not reader.exists
    report = writer.ingest([knowledge_dir])
    assert len(report.added) == len(FAQ) + 1 and reader.exists
    assert reader.search("我的退款几天到账啊", k=3)[0].id == "f-refund"
    assert reader.search("耳机拆封了还能退吗", k=3)[0].doc_id == "退换货政策"
    assert "f-old-promo" not in [h.id for h in reader.search("双11满减规则", k=10)]
    assert reader.retrieve("我的退款几天到账啊").decision.value in {"answer", "clarify"}

    again = writer.ingest([knowledge_dir])
    assert again.texts_embedded == 0 and len(again.unchanged) == len(FAQ) + 1
    changed = [dict(f) for f in FAQ if f["id"] != "f-ship"]
    changed[1]["answer"] = "在“我的订单”里申请电子发票。"
    write_jsonl(knowledge_dir / "faq.jsonl", changed)
    report = writer.ingest([knowledge_dir])
    assert report.updated == ["f-invoice"] and report.removed == ["f-ship"] and report.texts_embedded == 0
    assert reader.search("发票怎么申请", k=1)[0].text == "在“我的订单”里申请电子发票。"
    assert "f-ship" not in {h.id for h in reader.search("什么时候发货", k=10)}


@pytest.mark.slow
@pytest.mark.parametrize("faq_answers", [False, True])
def test_postgres_ranks_like_the_embedded_backend(tmp_path, knowledge_dir, pg_settings, settings, faq_answers):
    from cs_rag import KnowledgeBase

    def with_answers(base):
        return base.model_copy(update={"index": base.index.model_copy(update={"faq_answers": faq_answers})})
    embedded = KnowledgeBase(tmp_path / "index", with_answers(settings))
    embedded.ingest([knowledge_dir])
    shared = KnowledgeBase("shop", with_answers(pg_settings), embedder=embedded.retriever().embedder)
    shared.ingest([knowledge_dir])
    assert sum(c.answer_field for c in shared.document_chunks("f-refund")) == int(faq_answers)
    for question in ("退款多久到账", "能开专票吗", "耳机拆封了还能退吗", "gold member", "原路退回"):
        want, got = embedded.retrieve(question, k=5), shared.retrieve(question, k=5)
        assert [h.id for h in got.hits] == [h.id for h in want.hits]
        assert got.confidence == pytest.approx(want.confidence, abs=1e-4)


@pytest.mark.slow
def test_postgres_searches_through_the_adapter_an_faq_only_ingest_fits(tmp_path, pg_settings, settings):
    from cs_rag import KnowledgeBase
    from helpers import faq_entries

    folder = tmp_path / "k"
    folder.mkdir()
    write_jsonl(folder / "faq.jsonl", faq_entries(40))
    embedded = KnowledgeBase(tmp_path / "index", settings)
    embedded.ingest([folder])
    shared = KnowledgeBase("faq_only", pg_settings, embedder=embedded.retriever().embedder)
    shared.ingest([folder])
    assert embedded.index().adapter is not None
    with shared.store.snapshot() as conn:
        assert np.allclose(shared.store.adapter(conn).matrix, embedded.index().adapter.matrix, atol=1e-6)
    for question in ("退款第3条怎么处理", "请问发票的事情", "会员问题第17条", "密码忘了"):
        want, got = embedded.retrieve(question, k=5), shared.retrieve(question, k=5)
        assert [h.id for h in got.hits] == [h.id for h in want.hits]
        assert [h.scores["dense"] for h in got.hits] == pytest.approx([h.scores["dense"] for h in want.hits], abs=1e-5)
        assert got.confidence == pytest.approx(want.confidence, abs=1e-4)


def test_postgres_backend_needs_a_dsn_from_the_environment(settings, monkeypatch):
    from cs_rag import KnowledgeBase
    from cs_rag.errors import ConfigError

    monkeypatch.delenv("CS_RAG_PG_DSN", raising=False)
    pg = settings.model_copy(update={"index": settings.index.model_copy(update={"backend": "postgres"})})
    with pytest.raises(ConfigError, match="CS_RAG_PG_DSN"):
        KnowledgeBase("shop", pg)


def test_cli_db_init_migrate_status(pg_server, schema, monkeypatch, capsys):
    from cs_rag.cli import main

    monkeypatch.setenv("CS_RAG_PG_DSN", pg_server.dsn)
    assert main(["db", "status", "--index", schema]) == 0
    assert "schema missing" in capsys.readouterr().out
    assert main(["db", "init", "--index", schema + "_x"]) == 0
    assert f"ready at schema version {postgres.SCHEMA_VERSION}" in capsys.readouterr().out
    with psycopg.connect(pg_server.dsn, autocommit=True) as conn:  # as an older cs_rag left it
        conn.execute(f"CREATE SCHEMA {schema}")
    PostgresStore(pg_server.dsn, schema).migrate(target=0)
    monkeypatch.setenv("CS_RAG_INDEX_BACKEND", "postgres")
    assert main(["search", "退款", "--index", schema]) == 1
    assert "run `cs-rag db migrate`" in capsys.readouterr().err
    assert main(["db", "migrate", "--index", schema]) == 0
    assert "migrated to version" in capsys.readouterr().out
    assert main(["db", "status", "--index", schema]) == 0
    assert f"version {postgres.SCHEMA_VERSION}" in capsys.readouterr().out


def test_version_1_schema_with_data_migrates_and_searches_the_same(pg_server, schema):
    """A knowledge base left at version 1 (postings without the row columns, terms without
    max_tf, rows without products) by an older cs_rag."""
    current = PostgresStore(pg_server.dsn, schema + "_now")
    with current.writer() as writer:
        writer.publish(build(), {})
    old = PostgresStore(pg_server.dsn, schema)
    with psycopg.connect(pg_server.dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    old.migrate(target=1)
    with psycopg.connect(pg_server.dsn, autocommit=True) as conn:  # copy the content as version 1 held it
        for table in ("meta", "documents", "chunks"):
            conn.execute(f"INSERT INTO {schema}.{table} SELECT * FROM {schema}_now.{table}")
        columns = "id, chunk_id, position, key, tokens, length, category, kind, valid_from, valid_to, embedding"
        conn.execute(f"INSERT INTO {schema}.match_rows ({columns}) SELECT {columns} FROM {schema}_now.match_rows")
        conn.execute(f"INSERT INTO {schema}.terms SELECT term, df FROM {schema}_now.terms")
        conn.execute(f"INSERT INTO {schema}.postings SELECT term, row_id, tf FROM {schema}_now.postings")
        conn.execute(f"UPDATE {schema}.stats s SET generation = n.generation, n_chunks = n.n_chunks, "
                     f"n_rows = n.n_rows, total_len = n.total_len, idf_floor = n.idf_floor "
                     f"FROM {schema}_now.stats n")
    assert old.migrate() == [2, 3, 4]
    postings = ("term, row_id, tf, length, chunk_id, position, category, kind, valid_from, valid_to, products, "
                "round(impact::numeric, 9)")  # impacts: SQL's arithmetic or Python's, equal to rounding
    with psycopg.connect(pg_server.dsn, autocommit=True) as conn:  # migrations 2 to 4 filled what publish writes
        for table, columns, key in (("postings", postings, "term, row_id"), ("terms", "*", "term"),
                                    ("match_rows", "*", "id")):
            assert conn.execute(f"SELECT {columns} FROM {schema}.{table} ORDER BY {key}").fetchall() == \
                conn.execute(f"SELECT {columns} FROM {schema}_now.{table} ORDER BY {key}").fetchall()
    for query in ("退款多久到账", "发票在哪里申请", "耳机拆封能退吗", "什么时候发货"):
        tokens = TOKENIZER.tokenize(query)
        want = current.index().keyword_search(tokens, 5)
        got = old.index().keyword_search(tokens, 5)
        assert [(s.ordinal, s.matched) for s in got] == [(s.ordinal, s.matched) for s in want]
        assert [s.score for s in got] == pytest.approx([s.score for s in want], abs=1e-9)
    current.close(), old.close()


def test_postgres_keeps_the_fine_tune_with_the_knowledge_base(tmp_path, pg_settings, monkeypatch):
    from cs_rag import KnowledgeBase
    from cs_rag.models import tuning
    from helpers import faq_entries

    monkeypatch.setattr(tuning, "EPOCHS", 1)    # the plumbing, not the quality
    monkeypatch.setattr(tuning, "MAX_PAIRS", 64)
    folder = tmp_path / "k"
    folder.mkdir()
    write_jsonl(folder / "faq.jsonl", faq_entries(tuning.MIN_GROUPS))
    (folder / "policy.md").write_text("# 发票政策\n电子发票在订单完成后开具。\n", encoding="utf-8")
    writer = KnowledgeBase("tuned", pg_settings)
    assert writer.ingest([folder]).tuning.startswith("fine-tuned")
    digest = writer.retriever().embedder.tuned_layers.digest
    other_process = KnowledgeBase("tuned", pg_settings)   # reads the layers from the database
    assert other_process.retriever().embedder.tuned_layers.digest == digest
    want, got = writer.retrieve("请问发票第11条", k=3), other_process.retrieve("请问发票第11条", k=3)
    assert [h.id for h in got.hits] == [h.id for h in want.hits] and got.hits[0].doc_id == "f11"
    assert writer.ingest([folder]).tuning.startswith("kept the fine-tune (0%")
