"""Foundation benchmark: ingest throughput vs raw encode, incremental re-ingest, search latency,
index size and RSS at 10k / 100k chunks. One command, prints tables:

    python benchmarks/ingest_search.py [--quick] [--parts ingest,reingest,latency]
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from _common import REPO, RESULTS, SHARED_DATA, percentiles_ms, print_table, read_jsonl

from cs_rag import KnowledgeBase
from cs_rag.config import Settings
from cs_rag.models.embedding import Embedder
from cs_rag.index.base import SearchFilter
from cs_rag.index.embedded import DocumentRecord, EmbeddedIndex, Row
from cs_rag.ingest.chunking import document_chunks
from cs_rag.ingest.sources import collect_documents
from cs_rag.retrieval.hybrid import HybridRetriever
from cs_rag.text import Tokenizer
from cs_rag.types import Chunk, DocumentKind


def ingest_throughput(embedder: Embedder, settings: Settings, work: Path) -> list[list]:
    rows = []
    for name, path in (("cmrc2018_dev passages", SHARED_DATA / "cmrc2018_dev" / "passages.jsonl"),
                       ("atec knowledge", SHARED_DATA / "atec_nodistractors" / "knowledge.jsonl")):
        documents = collect_documents([path]).documents
        chunks = [c for d in documents for c in document_chunks(d, settings.chunking)]
        by_role: dict[str, list[str]] = {"query": [], "passage": []}
        for c in chunks:
            by_role["query" if c.kind is DocumentKind.FAQ else "passage"].extend(c.match_texts)
        texts = sum(len(v) for v in by_role.values())
        model = embedder._load()
        started = time.perf_counter()
        for role, batch in by_role.items():  # the model's own encode on exactly the texts ingest embeds
            if batch:
                model.encode(batch, batch_size=settings.embedding.batch_size, prompt_name=role,
                             normalize_embeddings=True, show_progress_bar=False)
        raw = time.perf_counter() - started
        index_dir = work / f"ingest-{len(rows)}"
        started = time.perf_counter()
        report = KnowledgeBase(index_dir, settings, embedder=embedder).ingest([path])
        pipeline = time.perf_counter() - started
        assert report.texts_embedded == texts, (report.texts_embedded, texts)
        rows.append([name, len(chunks), texts, round(texts / raw, 1), round(len(chunks) / pipeline, 1),
                     round(raw, 1), round(pipeline, 1), f"{(pipeline / raw - 1) * 100:+.1f}%"])
    return rows


def reingest_one_change(embedder: Embedder, settings: Settings, work: Path) -> list[list]:
    knowledge = work / "knowledge"
    shutil.copytree(REPO / "knowledge", knowledge)
    kb = KnowledgeBase(work / "sample-index", settings, embedder=embedder)
    first = kb.ingest([knowledge])
    policy = knowledge / "policies" / "退换货政策.md"
    policy.write_text(policy.read_text(encoding="utf-8") + "\n\n## 补充说明\n节假日期间退货审核顺延一个工作日。\n",
                      encoding="utf-8")
    doc_chunks = sum(1 for c in kb.index().chunks if c.doc_id == "退换货政策")
    second = kb.ingest([knowledge])
    new_chunks = sum(1 for c in kb.index().chunks if c.doc_id == "退换货政策")
    return [["first ingest of knowledge/", first.chunks, first.texts_embedded, round(first.seconds, 2), "-"],
            ["re-ingest after editing 退换货政策.md", second.chunks, second.texts_embedded,
             round(second.seconds, 2), f"updated {second.updated}; doc chunks {doc_chunks} -> {new_chunks}"]]


def corpus_texts(limit: int) -> list[str]:
    """Real customer-service and encyclopedia sentences from the shared sets, de-duplicated."""
    texts: list[str] = []
    for record in read_jsonl(SHARED_DATA / "atec_nodistractors" / "knowledge.jsonl"):
        texts.append(record["question"])
    for name in ("banking77_k10", "stackfaq"):
        for record in read_jsonl(SHARED_DATA / name / "knowledge.jsonl"):
            texts += [record["question"], *record["similar_questions"]]
    for record in read_jsonl(SHARED_DATA / "cmrc2018_dev" / "passages.jsonl"):
        texts += [s for s in record["text"].replace("！", "。").split("。") if len(s) > 8]
    for record in read_jsonl(SHARED_DATA / "waimai_10k" / "messages.jsonl"):
        texts.append(record["text"])
    unique = list(dict.fromkeys(texts))
    rng = random.Random(7)
    out = list(unique)
    while len(out) < limit:  # recombine real sentences to reach the size; tokens stay realistic
        out.append(rng.choice(unique) + "，" + rng.choice(unique))
    return out[:limit]


CATEGORIES = ["售后退款", "物流配送", "支付", "账户与会员", "商品咨询", "促销活动", "投诉建议"]
FILTER = SearchFilter(categories={"售后退款", "支付"}, products={"产品3"})


def synthetic_index(texts: list[str], tokenizer: Tokenizer, embedder: Embedder,
                    real_vectors: int) -> EmbeddedIndex:
    """An index of len(texts) chunks: real tokens for all, real vectors for the first
    `real_vectors`, and for the rest a perturbed copy of a real one (flat search cost does not
    depend on the values)."""
    base = embedder.encode(texts[:real_vectors], "passage")
    rng = np.random.default_rng(0)
    picks = rng.integers(0, real_vectors, size=len(texts) - real_vectors)
    extra = base[picks] + rng.normal(0, 0.05, size=(len(picks), base.shape[1])).astype(np.float32)
    extra /= np.linalg.norm(extra, axis=1, keepdims=True)
    vectors = np.vstack([base, extra]).astype(np.float32)
    # filter columns as a shop's knowledge has them: 7 categories, a third of the chunks about
    # one of 20 products
    chunks = [Chunk(id=f"s{i}", doc_id=f"s{i}", kind=DocumentKind.PASSAGE, source="synthetic",
                    text=t, match_texts=[t], category=CATEGORIES[i % len(CATEGORIES)],
                    products=[f"产品{i % 20}"] if i % 3 == 0 else []) for i, t in enumerate(texts)]
    rows = [Row(i, f"k{i}", tokenizer.tokenize(t)) for i, t in enumerate(texts)]
    records = {c.doc_id: DocumentRecord(content_hash=c.id, kind=c.kind, source="synthetic",
                                        file="synthetic", chunks=1) for c in chunks}
    return EmbeddedIndex.build(chunks, rows, vectors, embedding_model=embedder.name,
                               tokenizer_fingerprint=tokenizer.fingerprint, documents=records)


def search_latency(embedder: Embedder, settings: Settings, work: Path, sizes: list[int],
                   n_queries: int, real_vectors: int) -> tuple[list[list], list[list]]:
    from rank_bm25 import BM25Okapi

    tokenizer = Tokenizer()
    queries = [q["question"] for q in read_jsonl(SHARED_DATA / "atec_nodistractors" / "questions.jsonl")]
    queries = random.Random(1).sample(queries, n_queries)
    all_texts = corpus_texts(max(sizes))
    latency, footprint = [], []
    for size in sizes:
        index = synthetic_index(all_texts[:size], tokenizer, embedder, min(real_vectors, size))
        retriever = HybridRetriever(index, tokenizer, embedder, settings.retrieval)
        embedder.clear_query_cache()
        for q in queries[:5]:
            retriever.search("预热" + q)  # warm caches and threads
        totals, embeds, filtered = [], [], []
        for q in queries:  # each query new: the embedding cache never helps
            started = time.perf_counter()
            embedder.encode_query(q)
            embeds.append(time.perf_counter() - started)
            embedder.clear_query_cache()
            started = time.perf_counter()
            retriever.search(q, k=10)
            totals.append(time.perf_counter() - started)
            started = time.perf_counter()  # the query's vector is cached now: filter + search only
            retriever.search(q, k=10, where=FILTER)
            filtered.append(time.perf_counter() - started)
        reference = BM25Okapi([r.tokens for r in index.rows])
        bm25_times, ours_bm25 = [], []
        for q in queries[: max(10, n_queries // 10)]:
            tokens = tokenizer.tokenize(q)
            started = time.perf_counter()
            reference.get_scores(tokens)
            bm25_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            index.keyword_search(tokens, 100)
            ours_bm25.append(time.perf_counter() - started)
        p50, p95 = percentiles_ms(totals)
        e50, e95 = percentiles_ms(embeds)
        r50, r95 = percentiles_ms(bm25_times)
        o50, o95 = percentiles_ms(ours_bm25)
        f50, f95 = percentiles_ms(filtered)
        latency.append([size, len(queries), round(p50, 1), round(p95, 1), round(e50, 1), round(e95, 1),
                        round(f50, 1), round(f95, 1), round(o50, 2), round(o95, 2), round(r50, 1), round(r95, 1)])
        folder = work / f"synthetic-{size}"
        folder.mkdir()
        index.save(folder)
        disk = sum(p.stat().st_size for p in folder.iterdir()) / 2**20
        probe = subprocess.run([sys.executable, __file__, "--rss-probe", str(folder)], capture_output=True,
                               text=True, check=True)
        footprint.append([size, round(disk, 1), probe.stdout.strip()])
    return latency, footprint


def rss_probe(folder: str) -> None:
    """Load an index version folder and the model, answer one query, print RSS in MiB."""
    import psutil

    embedder = Embedder()
    index = EmbeddedIndex.load(Path(folder))
    before = psutil.Process().memory_info().rss
    HybridRetriever(index, Tokenizer(), embedder).search("退款多久到账")
    after = psutil.Process().memory_info().rss
    print(f"{after / 2**20:.0f} MiB total (index loaded: {before / 2**20:.0f} MiB before the model)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--parts", default="ingest,reingest,latency",
                        help="comma-separated subset of: ingest, reingest, latency")
    parser.add_argument("--rss-probe", metavar="DIR", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_probe:
        rss_probe(args.rss_probe)
        return
    settings = Settings()
    embedder = Embedder(settings.embedding)
    embedder.encode(["预热"], "query")
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        parts = set(args.parts.split(","))
        if "ingest" in parts and not args.quick:
            out.append(print_table("Ingest throughput (pipeline vs the model's raw encode on the same texts)",
                                   ["set", "chunks", "texts embedded", "raw encode texts/s", "pipeline chunks/s",
                                    "raw s", "pipeline s", "overhead"],
                                   ingest_throughput(embedder, settings, work)))
        if "reingest" in parts:
            out.append(print_table("Re-ingest after one change (sample knowledge)",
                                   ["run", "chunks", "texts embedded", "seconds", "what changed"],
                                   reingest_one_change(embedder, settings, work)))
        if "latency" in parts:
            sizes = [2000, 10000] if args.quick else [10000, 100000]
            latency, footprint = search_latency(embedder, settings, work, sizes,
                                                n_queries=50 if args.quick else 200,
                                                real_vectors=2000 if args.quick else 10000)
            out.append(print_table("Search latency, ms (hybrid = tokenize + embed query + BM25 + faiss "
                                   "+ fusion + confidence)",
                                   ["chunks", "queries", "hybrid p50", "hybrid p95", "embed p50", "embed p95",
                                    "filtered p50", "filtered p95", "our BM25 p50", "our BM25 p95", "rank-bm25 p50", "rank-bm25 p95"], latency))
            out.append(print_table("Index size and memory", ["chunks", "index on disk MiB", "process RSS"],
                                   footprint))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "ingest_search.md").write_text("\n".join(out), encoding="utf-8")


if __name__ == "__main__":
    main()
