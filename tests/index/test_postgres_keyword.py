"""Keyword search on PostgreSQL over impact-ordered postings: the exact top k whether the bounded
first read proves it or MaxScore finishes it, exact scores on hybrid candidates the bounded read
alone proposes, and the same after an incremental ingest (changed documents, a drifting mean row
length) as after a fresh build."""

from __future__ import annotations

import concurrent.futures

import numpy as np
import psycopg
import pytest

from cs_rag.index.base import SearchFilter
from cs_rag.index.embedded import DocumentRecord, EmbeddedIndex, Row
from cs_rag.index.postgres import PostgresStore, search
from cs_rag.types import Chunk, DocumentKind

pytestmark = pytest.mark.postgres

VOCABULARY = [f"t{i}" for i in range(300)]
ODDS = 1 / np.arange(1, len(VOCABULARY) + 1)  # Zipf: a few terms in most rows
QUERIES = (["t0", "t1", "t2", "t150"], ["t0", "t0", "t3", "t40", "t41"], ["t1", "t2", "t5", "t7"],
           ["t0", "t299", "t298"])
FILTERS = (None, SearchFilter(categories={"a"}))
N_CHUNKS = 400


def zipf_index(changed: frozenset[int] = frozenset(), longer: int = 0) -> EmbeddedIndex:
    """400 chunks of 1-3 rows of Zipf-distributed terms; the chunks in `changed` get other
    rows, `longer` terms longer at most, and a new content hash."""
    rng, other = np.random.default_rng(3), np.random.default_rng(4)
    chunks, rows, records = [], [], {}
    for c in range(N_CHUNKS):
        chunks.append(Chunk(id=f"c{c}", doc_id=f"c{c}", kind=DocumentKind.FAQ, source="s", text=f"c{c}",
                            match_texts=[f"c{c}"], category=("a", "b", None)[c % 3]))
        records[f"c{c}"] = DocumentRecord(content_hash=f"h{c}" + ("x" * (c in changed)),
                                          kind=DocumentKind.FAQ, source="s", file="f", chunks=1)
        for r in range(1 + c % 3):
            tokens = list(rng.choice(VOCABULARY, size=int(rng.integers(2, 30)), p=ODDS / ODDS.sum()))
            if c in changed:
                tokens = list(other.choice(VOCABULARY, size=int(other.integers(2, 30 + longer)),
                                           p=ODDS / ODDS.sum()))
            rows.append(Row(c, f"k{c}-{r}", [*tokens, f"u{c}-{r}"]))
    vectors = np.random.default_rng(5).normal(size=(len(rows), 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return EmbeddedIndex.build(chunks, rows, vectors, embedding_model="m", tokenizer_fingerprint="t",
                               documents=records)


def publish(store: PostgresStore, index: EmbeddedIndex):
    with store.writer() as writer:
        writer.publish(index, {})
    return store.index()


def assert_same_top_k(got, got_index, want, want_index) -> None:
    """Same scores; the same (chunk, row) per run of equal scores above the k-th (backends
    break ties differently, and a tie at the k-th may be cut either way)."""
    assert [s.score for s in got] == pytest.approx([s.score for s in want], abs=1e-5)
    clear = [s for s in want if s.score > want[-1].score + 1e-5]
    start = 0
    for end in range(1, len(clear) + 1):
        if end == len(clear) or clear[end].score < clear[end - 1].score - 1e-5:
            assert {(got_index.chunk(s.ordinal).id, s.matched) for s in got[start:end]} == \
                {(want_index.chunk(s.ordinal).id, s.matched) for s in clear[start:end]}
            start = end


def assert_searches_alike(index, reference) -> None:
    for query in QUERIES:
        for k in (1, 10, 100, 500):
            for where in FILTERS:
                assert_same_top_k(index.keyword_search(query, k, where), index,
                                  reference.keyword_search(query, k, where), reference)


@pytest.fixture
def shallow(monkeypatch):
    """A first read of 20 k postings in all: common terms are cut short, bounds decide."""
    monkeypatch.setattr(search, "_BUDGET", 0)


def test_top_k_is_exact_when_every_term_is_read_whole(store):
    assert_searches_alike(publish(store, zipf_index()), zipf_index())


def test_top_k_is_exact_when_the_first_read_is_cut_short(store, shallow):
    assert_searches_alike(publish(store, zipf_index()), zipf_index())


def test_hybrid_candidates_from_a_short_read_score_exactly(store, shallow):
    """Candidates come from the bounded read alone, best first, with full-scoring scores."""
    reference = zipf_index()
    index = publish(store, reference)
    vector = reference.vectors[0]
    for query in QUERIES:
        full = {reference.chunk(s.ordinal).id: s.score for s in reference.keyword_search(query, N_CHUNKS)}
        pairs = index.candidates(vector, query, 10)
        keyword = [s for _, s in pairs if s.score > 0]
        assert keyword
        assert [s.score for s in keyword] == pytest.approx([full[index.chunk(s.ordinal).id] for s in keyword],
                                                           abs=1e-5)
        assert all(index.chunk(d.ordinal).id not in full for d, s in pairs if s.score == 0)


def test_the_read_budget_goes_to_the_rarest_terms_first():
    # terms in rising weight: the rarest (last) read whole, the rest share what is left
    assert search._depths([9000, 5000, 40], budget=1000, least=100) == [480, 480, 40]
    assert search._depths([9000, 5000, 40], budget=300, least=100) == [130, 130, 40]
    assert search._depths([10, 20, 30], budget=1000, least=100) == [10, 20, 30]


def test_an_ingest_changing_one_percent_searches_like_a_fresh_build(pg_server, store, schema, shallow):
    publish(store, zipf_index())
    changed = zipf_index(changed=frozenset(range(0, N_CHUNKS, 100)))
    incremental = publish(store, changed)
    fresh_store = PostgresStore(pg_server.dsn, schema + "_fresh")
    assert_searches_alike(incremental, publish(fresh_store, changed))
    assert_searches_alike(incremental, changed)
    fresh_store.close()


@pytest.mark.parametrize("share, recomputed", [(10, False), (2, True)])
def test_impacts_follow_a_drifting_row_length(pg_server, store, schema, shallow, share, recomputed):
    """Longer rows in every `share`-th chunk: a small drift is bounded at search time, a large
    one recomputes every impact at the new mean row length."""
    publish(store, zipf_index())
    changed = zipf_index(changed=frozenset(range(0, N_CHUNKS, share)), longer=60)
    lengths = [len(r.tokens) for r in changed.rows]
    index = publish(store, changed)
    with psycopg.connect(pg_server.dsn) as conn:
        impact_avgdl, = conn.execute(f"SELECT impact_avgdl FROM {schema}.stats").fetchone()
    assert bool(impact_avgdl == pytest.approx(np.mean(lengths))) is recomputed
    assert impact_avgdl <= np.mean(lengths)  # longer rows: today's scores above the stored impacts
    assert_searches_alike(index, changed)


def test_a_second_connection_reads_the_snapshot_of_the_first(pg_server, store, schema):
    """The hybrid's dense read runs on a sibling connection: it must see the generation its
    search started on, even when another one is published meanwhile."""
    publish(store, zipf_index())
    with store.snapshot() as conn:
        before = conn.execute("SELECT generation FROM stats").fetchone()[0]
        other_store = PostgresStore(pg_server.dsn, schema)
        try:
            publish(other_store, zipf_index(changed=frozenset(range(10))))
        finally:
            other_store.close()
        with store.sibling(conn) as other:
            assert other is not None
            assert other.execute("SELECT generation FROM stats").fetchone()[0] == before
    with store.snapshot() as conn:
        assert conn.execute("SELECT generation FROM stats").fetchone()[0] == before + 1


def test_hybrid_candidates_are_the_same_with_one_connection_or_two(pg_server, store, schema, shallow,
                                                                   monkeypatch):
    """With no connection free for the dense read beside the keyword read (a pool of one), a
    search reads both on its own connection, and finds the same."""
    monkeypatch.setattr(search, "_SIBLING_MIN_ROWS", 0)   # read beside each other at any size
    submitted = []
    counting = _Counting(submitted)
    monkeypatch.setattr(store, "workers", lambda: counting)
    reference = zipf_index()
    index = publish(store, reference)
    alone = PostgresStore(pg_server.dsn, schema, pool_size=1)
    try:
        with alone.snapshot() as conn, alone.sibling(conn) as other:
            assert other is None
        for query in QUERIES:
            for row in (0, 7):
                both = index.candidates(reference.vectors[row], query, 10)
                assert both == alone.index().candidates(reference.vectors[row], query, 10)
    finally:
        alone.close()
    counting.shutdown()
    assert len(submitted) == 2 * len(QUERIES)   # the pool of four read beside, every time


class _Counting(concurrent.futures.ThreadPoolExecutor):
    """A one-thread executor that records what it was given."""

    def __init__(self, submitted: list) -> None:
        super().__init__(1)
        self.submitted = submitted

    def submit(self, fn, *args, **kwargs):
        self.submitted.append(fn)
        return super().submit(fn, *args, **kwargs)
