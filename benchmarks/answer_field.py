"""FAQ answers as a weaker extra match field, measured against questions only.

    python benchmarks/answer_field.py [SET,SET...]   (after benchmarks/retrieval.py built the indexes)

For the sets whose FAQ entries have answers (eval/, stackfaq, stackfaq_sim3), each query's
candidates from cs_rag's default retriever (the union of the dense and BM25 top 100, every FAQ
entry of these sets' sizes or nearly) are re-scored with the answer as one more field:
dense = max(best question cosine, answer cosine + offset) with the answer embedded as a
passage, and BM25 = max(best question BM25, factor x answer BM25) over the same tokenizer;
then fused exactly as the default (min-max 0.8/0.2, document chunks' passage offset kept).
Rows: questions only (cs_rag's default) and each (offset, factor) of a small grid.
"""

from __future__ import annotations

import sys

import numpy as np

from _common import REPO, RESULTS, SHARED_DATA, print_table

from cs_rag import KnowledgeBase
from cs_rag.ops.evaluate import load_questions
from cs_rag.index.bm25 import BM25Index
from cs_rag.types import DocumentKind

SETS = ["eval", "stackfaq", "stackfaq_sim3"]
GRID = [(-0.10, 0.5), (-0.05, 0.5), (-0.02, 0.5), (0.0, 1.0), (-0.05, 0.0)]


def questions_of(name: str):
    path = REPO / "eval" / "questions.jsonl" if name == "eval" else SHARED_DATA / name / "questions.jsonl"
    return [q for q in load_questions(path) if q.gold_ids]


def main(sets: list[str]) -> None:
    rows = []
    for name in sets:
        kb = KnowledgeBase(RESULTS / "indexes" / name)
        retriever = kb.retriever()
        index, embedder, tokenizer = retriever.index, retriever.embedder, retriever.tokenizer
        faq = [o for o in range(len(index)) if index.chunk(o).kind is DocumentKind.FAQ and index.chunk(o).text]
        answer_at = {o: i for i, o in enumerate(faq)}
        answer_vectors = embedder.encode([index.chunk(o).text for o in faq], "passage")
        answer_bm25 = BM25Index.build([tokenizer.tokenize(index.chunk(o).text) for o in faq])
        questions = questions_of(name)
        vectors = embedder.encode([q.question for q in questions], "query")
        offset = retriever.settings.passage_offset
        ranked: dict[str, list[list[str]]] = {"questions only (default)": []}
        ranked.update({f"+ answers, cosine {o:+.2f}, BM25 x{f}": [] for o, f in GRID})
        for q, v in zip(questions, vectors):
            tokens = tokenizer.tokenize(q.question)
            pairs = index.candidates(v, tokens, retriever.settings.candidates)
            ordinals = [d.ordinal for d, _ in pairs]
            dense = np.array([d.score for d, _ in pairs])
            bm25 = np.array([b.score for _, b in pairs])
            passage = np.array([index.chunk(o).kind is not DocumentKind.FAQ for o in ordinals])
            docs = [index.chunk(o).doc_id for o in ordinals]
            has = np.array([o in answer_at for o in ordinals])
            rows_at = [answer_at.get(o, 0) for o in ordinals]
            a_cos = np.where(has, answer_vectors[rows_at] @ v, -1.0)
            a_bm25 = np.where(has, answer_bm25.scores(tokens)[rows_at], 0.0)

            def top_docs(d: np.ndarray, b: np.ndarray) -> list[str]:
                fused = retriever._fuse(d + offset * passage, b)
                return list(dict.fromkeys(docs[i] for i in np.argsort(-fused, kind="stable")))[:10]
            ranked["questions only (default)"].append(top_docs(dense, bm25))
            for o, f in GRID:
                ranked[f"+ answers, cosine {o:+.2f}, BM25 x{f}"].append(
                    top_docs(np.maximum(dense, a_cos + o), np.maximum(bm25, f * a_bm25)))
        for label, lists in ranked.items():
            ranks = [next((i for i, d in enumerate(docs, 1) if d in q.gold_ids), None)
                     for q, docs in zip(questions, lists)]
            n = len(ranks)
            rows.append([name, label, round(sum(1 for r in ranks if r == 1) / n, 3),
                         round(sum(1 for r in ranks if r and r <= 5) / n, 3),
                         round(sum(1 / r for r in ranks if r) / n, 3)])
    out = print_table("FAQ answers as a weaker field (in-scope questions)",
                      ["set", "match fields", "R@1", "R@5", "MRR@10"], rows)
    (RESULTS / "answer_field.md").write_text(out, encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1].split(",") if len(sys.argv) > 1 else SETS)
