"""Retrieval benchmark: every shared set with queries plus eval/, one table per run.

    python benchmarks/retrieval.py [--sets atec_nodistractors,stackfaq,...] [--limit N]

Rows: TF-IDF char 1-2-gram (the data README's reference), BM25 alone (our BM25, whose scores
equal rank-bm25's BM25Okapi: see tests/index/test_bm25.py), dense alone (the model cs_rag's default
`embedding.model = "auto"` picks for the set: all-MiniLM-L6-v2 for English-only knowledge,
e5-small otherwise), naive RRF
of the two (what Langchain-Chatchat and FastGPT ship), cs_rag's default. Latency is per query
with the query vector already computed (the query-embedding cost is printed once per set).
A last table compares cs_rag's confidence with how often its first hit is right, per set.
Indexes and query vectors are cached under benchmarks/results/ so a rerun embeds nothing new.
"""

from __future__ import annotations

import argparse
import hashlib
import time
from pathlib import Path

import numpy as np

from _common import REPO, RESULTS, SHARED_DATA, percentiles_ms, print_table, read_jsonl

from cs_rag import KnowledgeBase
from cs_rag.config import Settings
from cs_rag.models.embedding import Embedder
from cs_rag.ops.evaluate import EvalQuestion, calibration_metrics, load_questions
from cs_rag.retrieval.hybrid import HybridRetriever

SETS = ["atec_nodistractors", "stackfaq", "stackfaq_sim3", "banking77_k10", "cmrc2018_dev", "eval"]


def knowledge_of(name: str) -> tuple[list[Path], Path]:
    if name == "eval":
        return [REPO / "knowledge"], REPO / "eval" / "questions.jsonl"
    folder = SHARED_DATA / name
    knowledge = [p for p in (folder / "knowledge.jsonl", folder / "passages.jsonl") if p.is_file()]
    return knowledge, folder / "questions.jsonl"


def query_vectors(embedder: Embedder, name: str, texts: list[str]) -> np.ndarray:
    digest = hashlib.sha256(("\n".join(texts) + embedder.fingerprint).encode()).hexdigest()[:16]
    path = RESULTS / "cache" / f"{name}-queries-{digest}.npy"
    if path.is_file():
        return np.load(path, allow_pickle=False)
    vectors = embedder.encode(texts, "query")
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors, allow_pickle=False)
    return vectors


def tfidf_ranker(kb: KnowledgeBase):
    """Char 1-2-gram TF-IDF, each unit scored by its best match text (as the data README)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    index = kb.index()
    texts, owners = [], []
    for chunk in index.chunks:
        for text in chunk.match_texts:
            texts.append(text)
            owners.append(chunk.doc_id)
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 2), sublinear_tf=True)
    matrix = vectorizer.fit_transform(texts)
    owners_a = np.asarray(owners)

    def rank(query: str) -> list[str]:
        scores = (matrix @ vectorizer.transform([query]).T).toarray().ravel()
        top = np.argsort(-scores, kind="stable")[:200]
        return list(dict.fromkeys(owners_a[top]))[:10]
    return rank


def confidence_row(name: str, kb: KnowledgeBase, limit: int | None) -> list:
    """How well cs_rag's default confidence states P(first hit right) on every question of the
    set, out-of-scope ones included (their first hit is never right)."""
    questions = load_questions(knowledge_of(name)[1])
    if limit:
        questions = questions[:limit]
    retriever = kb.retriever()
    vectors = query_vectors(retriever.embedder, f"{name}-all", [q.question for q in questions])
    confidence, right = [], []
    for q, v in zip(questions, vectors):
        result = retriever.retrieve(q.question, k=10, vector=v)
        confidence.append(result.confidence)
        gold = set(q.gold_ids)
        right.append(bool(result.hits) and (result.hits[0].id in gold or result.hits[0].doc_id in gold))
    m = calibration_metrics(confidence, right)
    return [name, len(questions), sum(1 for q in questions if not q.gold_ids),
            round(retriever.calibration.out_of_scope_share or 0, 2), round(m["confidence_mean"], 3),
            round(m["first_hit_right"], 3), round(m["confidence_ece"], 3), round(m["confidence_brier"], 3)]


def evaluate_rows(name: str, limit: int | None) -> tuple[list[list], float, list]:
    knowledge, questions_path = knowledge_of(name)
    questions = [q for q in load_questions(questions_path) if q.gold_ids]  # retrieval metrics: in-scope
    if limit:
        questions = questions[:limit]
    kb = KnowledgeBase(RESULTS / "indexes" / name, Settings())  # "auto" picks the model per set
    kb.ingest(knowledge)  # incremental: embeds only on the first run
    embedder = kb.retriever().embedder
    vectors = query_vectors(embedder, name, [q.question for q in questions])
    embedder.encode_query("预热")
    started = time.perf_counter()
    for q in questions[:20]:
        embedder.clear_query_cache()  # measure the embedding, not the cache
        embedder.encode_query(q.question)
    embed_ms = (time.perf_counter() - started) * 1000 / min(20, len(questions))
    base = kb.retriever()
    tokenizer = base.tokenizer
    index = base.index.with_adapter(None)  # the baselines search the model's own vectors
    rrf = HybridRetriever(index, tokenizer, embedder, Settings.model_validate(
        {"retrieval": {"fusion": "rrf", "support_weight": 0}}).retrieval, base.calibration)
    # the default's fusion without the adapter its ingest fitted (only FAQ-only knowledge gets one)
    unadapted = HybridRetriever(index, tokenizer, embedder, base.settings, base.calibration)
    tfidf = tfidf_ranker(kb)

    def docs_of(scored) -> list[str]:
        return list(dict.fromkeys(index.chunk(s.ordinal).doc_id for s in scored))[:10]

    methods = {
        "TF-IDF char 1-2": lambda q, v: tfidf(q.question),
        "BM25 alone (jieba)": lambda q, v: docs_of(index.keyword_search(tokenizer.tokenize(q.question), 30)),
        f"dense alone ({embedder.name})": lambda q, v: docs_of(index.dense_search(v, 30)),
        "naive RRF 0.5/0.5": lambda q, v: list(dict.fromkeys(h.doc_id for h in rrf.rank(q.question, 30, vector=v)[0]))[:10],
        "cs_rag default without adapter": lambda q, v: list(dict.fromkeys(h.doc_id for h in unadapted.rank(q.question, 30, vector=v)[0]))[:10],
        "cs_rag default": lambda q, v: list(dict.fromkeys(h.doc_id for h in base.rank(q.question, 30, vector=v)[0]))[:10],
    }
    rows = []
    for method, run in methods.items():
        ranks, times = [], []
        for q, v in zip(questions, vectors):
            started = time.perf_counter()
            ranked = run(q, v)
            times.append(time.perf_counter() - started)
            gold = set(q.gold_ids)
            ranks.append(next((i for i, d in enumerate(ranked, 1) if d in gold), None))
        rows.append([name, method, *_metrics(ranks), *[round(t, 2) for t in percentiles_ms(times)]])
    return rows, embed_ms, confidence_row(name, kb, limit)


def rerank_latency(embedder: Embedder, queries: int = 30) -> list[list]:
    """Latency of cs_rag's default plus a cross-encoder rerank of the top 20 on eval/. No
    cross-encoder with trained weights exists offline, so the model is e5 with an untrained
    scoring head: its ranking is meaningless, its cost is that of a real e5-sized reranker."""
    import tempfile

    import torch
    from sentence_transformers import CrossEncoder

    from cs_rag.models.e5_convert import e5_model_dir
    from cs_rag.models.rerank import CrossEncoderReranker

    kb = KnowledgeBase(RESULTS / "indexes" / "eval", Settings(), embedder=embedder)
    base = kb.retriever()
    questions = [q.question for q in load_questions(REPO / "eval" / "questions.jsonl")][:queries]
    with tempfile.TemporaryDirectory() as tmp:
        torch.manual_seed(0)
        CrossEncoder(str(e5_model_dir()), num_labels=1).save(tmp)
        reranked = HybridRetriever(base.index, base.tokenizer, embedder, base.settings, base.calibration,
                                   reranker=CrossEncoderReranker(tmp))
        reranked.retrieve("预热")
        totals, reranks = [], []
        for q in questions:
            result = reranked.retrieve(q, k=10)
            totals.append(result.timings_ms["total"] / 1000)
            reranks.append(result.timings_ms["rerank"] / 1000)
    return [["eval", "cs_rag default + rerank top 20 (untrained head: latency only)", len(questions),
             *[round(t, 1) for t in percentiles_ms(reranks)], *[round(t, 1) for t in percentiles_ms(totals)]]]


def _metrics(ranks: list[int | None]) -> list[float]:
    n = len(ranks)
    out = [round(sum(1 for r in ranks if r and r <= k) / n, 3) for k in (1, 5, 10)]
    out.append(round(sum(1 / r for r in ranks if r) / n, 3))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--limit", type=int, help="first N in-scope questions per set (smoke runs)")
    args = parser.parse_args()
    table, embeds, confidence = [], [], []
    for name in args.sets.split(","):
        rows, embed_ms, confidence_of_set = evaluate_rows(name, args.limit)
        table += rows
        embeds.append([name, round(embed_ms, 1)])
        confidence.append(confidence_of_set)
        print_table(f"{name}", ["set", "method", "R@1", "R@5", "R@10", "MRR@10", "p50 ms", "p95 ms"], rows)
    out = print_table("Retrieval (in-scope questions; latency with the query vector precomputed)",
                      ["set", "method", "R@1", "R@5", "R@10", "MRR@10", "p50 ms", "p95 ms"], table)
    out += print_table("Query embedding, ms per query (single-query encode)", ["set", "ms"], embeds)
    out += print_table("Confidence of cs_rag's default against its first hit being right (all questions)",
                       ["set", "questions", "out of scope", "assumed out-of-scope share", "mean confidence",
                        "share right", "ECE", "Brier"], confidence)
    if "eval" in args.sets.split(","):
        out += print_table("Rerank cost", ["set", "configuration", "queries", "rerank p50 ms", "rerank p95 ms",
                                           "total p50 ms", "total p95 ms"], rerank_latency(Embedder()))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "retrieval.md").write_text(out, encoding="utf-8")


if __name__ == "__main__":
    main()
