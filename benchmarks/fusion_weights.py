"""Choose fusion defaults on carved probes, never on a set's test questions.

    python benchmarks/fusion_weights.py [SET,SET...]   (after benchmarks/retrieval.py built the indexes)

For each FAQ set, the same carving as calibration (calibrate.carve, three seeds) holds one
similar question out of each eligible entry; the reduced index is searched with the held-out
texts' stored vectors, so nothing is embedded. Rows: fusion settings; cells: R@1 / MRR@10.

Document chunks have no similar questions to carve, so their two settings (passage offset,
passage dense weight) are measured on eval/, the project's own dev set, whose knowledge mixes
FAQ entries and policy documents: a grid of R@1 on its in-scope questions.
"""

from __future__ import annotations

import sys

import numpy as np
from _common import REPO, RESULTS, print_table
from retrieval import query_vectors

from cs_rag import KnowledgeBase
from cs_rag.retrieval.calibrate import carve
from cs_rag.config import RetrievalSettings
from cs_rag.ops.evaluate import load_questions
from cs_rag.retrieval.hybrid import HybridRetriever

SETS = ["atec_nodistractors", "stackfaq_sim3", "banking77_k10", "eval"]
PASSAGE_WEIGHTS = (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8)
PASSAGE_OFFSETS = (0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.1)
# (fusion, dense weight, support weight)
CONFIGS = ([("weighted", w, 0.0) for w in (0.5, 0.6, 0.7, 0.8, 0.9, 0.96, 1.0)]
           + [("weighted", w, lam) for w in (0.8, 0.96) for lam in (0.3, 0.5, 1.0)]
           + [("zscore", w, 0.0) for w in (0.6, 0.7, 0.8, 0.9)] + [("rrf", None, 0.0)])


def label(fusion: str, weight: float | None, support: float) -> str:
    text = fusion if weight is None else f"{fusion} {weight}"
    return text + (f" support {support}" if support else "")


def main(sets: list[str]) -> None:
    rows = {label(*config): [] for config in CONFIGS}
    counts = []
    for name in sets:
        kb = KnowledgeBase(RESULTS / "indexes" / name)
        base = kb.retriever()
        probes = []
        for seed in (0, 1, 2):
            sub, questions = carve(base.index, seed)
            probes.append((sub, [q for q in questions if q.gold]))
        counts.append([name, base.embedder.name, sum(len(q) for _, q in probes)])
        for fusion, weight, support in CONFIGS:
            settings = RetrievalSettings(fusion=fusion, dense_weight=weight, support_weight=support)
            ranks = []
            for sub, questions in probes:
                retriever = HybridRetriever(sub, base.tokenizer, base.embedder, settings)
                for q in questions:
                    hits, _, _ = retriever.rank(q.text, k=10, vector=q.vector)
                    docs = list(dict.fromkeys(h.doc_id for h in hits))
                    ranks.append(docs.index(q.gold) + 1 if q.gold in docs else None)
            n = len(ranks)
            r1 = sum(1 for r in ranks if r == 1) / n
            mrr = sum(1 / r for r in ranks if r) / n
            rows[label(fusion, weight, support)].append(f"{r1:.3f} / {mrr:.3f}")
    out = print_table("Carved probes per set (held-out similar questions, 3 seeds)", ["set", "model", "probes"], counts)
    out += print_table("Fusion on carved probes: R@1 / MRR@10", ["fusion", *sets],
                       [[k, *v] for k, v in rows.items()])
    if "eval" in sets:
        out += passage_grid()
    (RESULTS / "fusion_weights.md").write_text(out, encoding="utf-8")


def passage_grid() -> str:
    """R@1 on eval/ for each (passage offset, passage dense weight)."""
    base = KnowledgeBase(RESULTS / "indexes" / "eval").retriever()
    questions = [q for q in load_questions(REPO / "eval" / "questions.jsonl") if q.gold_ids]
    vectors = query_vectors(base.embedder, "eval", [q.question for q in questions])
    grid = np.zeros((len(PASSAGE_OFFSETS), len(PASSAGE_WEIGHTS)))
    for i, offset in enumerate(PASSAGE_OFFSETS):
        for j, weight in enumerate(PASSAGE_WEIGHTS):
            settings = RetrievalSettings(passage_offset=offset, passage_dense_weight=weight)
            retriever = HybridRetriever(base.index, base.tokenizer, base.embedder, settings)
            grid[i, j] = np.mean([retriever.rank(q.question, k=1, vector=v)[0][0].doc_id in q.gold_ids
                                  for q, v in zip(questions, vectors)])
    return print_table(f"eval/ R@1 by passage offset (rows) and passage dense weight (columns), "
                       f"{len(questions)} questions", ["offset", *map(str, PASSAGE_WEIGHTS)],
                       [[str(o), *row] for o, row in zip(PASSAGE_OFFSETS, grid.tolist())])


if __name__ == "__main__":
    main(sys.argv[1].split(",") if len(sys.argv) > 1 else SETS)
