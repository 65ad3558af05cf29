"""The operator's view, measured: report generation time at 3,000 questions, and the knowledge-gap
clustering on the labelled sample eval/gaps_sample.jsonl (pairwise precision and recall).

    python benchmarks/report.py          # ~3-5 min on 2 cores (first run ingests knowledge/)

The 3,000-question eval is resampled (with replacement, seed 0) from a real `eval/questions.jsonl`
run over `knowledge/`; the 3,000-line question log from real `Assistant` answers to the same
questions, spread over 30 days. The clustering threshold is chosen on the sample's `tune` split
(the largest threshold whose pairwise precision stays >= MIN_PRECISION) and reported on the
`test` split, whose topics the tune split does not contain.
"""

from __future__ import annotations

import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, RESULTS, print_table, read_jsonl  # noqa: E402

from cs_rag.ops.evaluate import load_questions, run_questions, summarise  # noqa: E402
from cs_rag.ops.insights import (DEFAULT_GAP_THRESHOLD, QuestionRecord, cluster, find_gaps,  # noqa: E402
                             hot_words, log_record, pairwise_scores)
from cs_rag.knowledge_base import KnowledgeBase  # noqa: E402
from cs_rag.answering.assistant import Assistant  # noqa: E402
from cs_rag.ops.report import EvalRun, write_report  # noqa: E402

SIZE = 3000
REPEATS = 3
MIN_PRECISION = 0.8
THRESHOLDS = [round(0.08 + 0.005 * i, 3) for i in range(15)]   # 0.080 .. 0.150


def _resample(items: list, n: int, rng: np.random.Generator) -> list:
    return [items[i] for i in rng.integers(0, len(items), size=n)]


def _timed(function, repeats: int = REPEATS) -> tuple[float, object]:
    """Median seconds over `repeats` calls, and the last result."""
    seconds, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = function()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), result


def generation(kb: KnowledgeBase) -> list[list]:
    questions = load_questions(REPO / "eval" / "questions.jsonl")
    retriever = kb.retriever()
    outcomes = run_questions(lambda q: retriever.retrieve(q, k=10), questions)
    assistant = Assistant(kb)
    start = dt.datetime(2026, 10, 1, tzinfo=dt.timezone.utc)
    answered = [log_record(assistant.answer(q.question), category=q.category) for q in questions]
    rng = np.random.default_rng(0)
    big = [o.model_copy(update={"id": f"{o.id}-{i}"}) for i, o in enumerate(_resample(outcomes, SIZE, rng))]
    run = EvalRun(summary=summarise(big), results=[o.model_dump(mode="json") for o in big], source="resampled")
    previous = EvalRun(summary=summarise(outcomes), results=[o.model_dump(mode="json") for o in outcomes],
                       source="eval/questions.jsonl")
    log = [QuestionRecord.model_validate({**r, "ts": start + dt.timedelta(days=30 * i / SIZE)})
           for i, r in enumerate(_resample(answered, SIZE, rng))]
    tokenizer = retriever.tokenizer
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        seconds, files = _timed(lambda: write_report(run, Path(tmp) / "a", previous=previous))
        rows.append([f"report: eval {SIZE} + previous run, 5 charts", f"{seconds:.2f}",
                     f"{files.html.stat().st_size // 1024} KiB html"])
        seconds, words = _timed(lambda: hot_words(log, tokenizer, top=10))
        rows.append([f"hot words: log {SIZE}", f"{seconds:.2f}", f"{len(words.terms)} terms"])
        seconds, files = _timed(lambda: write_report(run, Path(tmp) / "b", previous=previous, log=log,
                                                     hot_words=hot_words(log, tokenizer, top=10)))
        rows.append([f"report: eval {SIZE} + previous + log {SIZE} + hot words, 6 charts", f"{seconds:.2f}",
                     f"{files.html.stat().st_size // 1024} KiB html"])
    embedder = retriever.embedder
    seconds, gaps = _timed(lambda: find_gaps(log, lambda t: embedder.encode(t, "query")), repeats=1)
    unanswered = sum(1 for r in log if r.outcome is not None and r.outcome.value != "answered")
    rows.append([f"gaps: log {SIZE} ({unanswered} unanswered), embed + cluster", f"{seconds:.2f}",
                 f"{len(gaps)} groups"])
    vectors = embedder.encode([q.question for q in questions], "query")
    noisy = (np.asarray(_resample(list(vectors), SIZE, rng))
             + rng.normal(scale=0.01, size=(SIZE, vectors.shape[1])).astype(np.float32))
    seconds, labels = _timed(lambda: cluster(noisy, DEFAULT_GAP_THRESHOLD), repeats=1)
    rows.append([f"cluster only: {SIZE} distinct vectors", f"{seconds:.2f}", f"{labels.max() + 1} groups"])
    return rows


def clustering(kb: KnowledgeBase) -> tuple[list[list], list[list], float]:
    sample = read_jsonl(REPO / "eval" / "gaps_sample.jsonl")
    embedder = kb.retriever().embedder
    splits = {name: [r for r in sample if r["split"] == name] for name in ("tune", "test")}
    vectors = {name: embedder.encode([r["question"] for r in rows], "query") for name, rows in splits.items()}

    def scores(name: str, threshold: float) -> tuple[int, float, float]:
        labels = cluster(vectors[name], threshold)
        precision, recall = pairwise_scores([r["cluster"] for r in splits[name]], labels)
        return int(labels.max()) + 1, precision, recall

    sweep = []
    for threshold in THRESHOLDS:
        groups, precision, recall = scores("tune", threshold)
        sweep.append([threshold, groups, precision, recall])
    chosen = max((row[0] for row in sweep if row[2] >= MIN_PRECISION), default=THRESHOLDS[0])
    rows = []
    for name in ("tune", "test"):
        gold = len({r["cluster"] for r in splits[name]})
        for threshold in sorted({chosen, DEFAULT_GAP_THRESHOLD}):
            groups, precision, recall = scores(name, threshold)
            label = ("chosen on tune" if threshold == chosen else "") + \
                    (" = default" if threshold == DEFAULT_GAP_THRESHOLD else "")
            rows.append([name, len(splits[name]), gold, f"{threshold:g} ({label.strip()})", groups,
                         precision, recall])
    return sweep, rows, chosen


def main() -> int:
    RESULTS.mkdir(parents=True, exist_ok=True)
    kb = KnowledgeBase(RESULTS / "report-index")
    kb.ingest([REPO / "knowledge"])
    text = [f"# Operator report benchmark ({dt.date.today()})\n"]
    sweep, rows, chosen = clustering(kb)
    text.append(print_table("Gap clustering threshold sweep (tune split)",
                            ["threshold", "groups", "pairwise P", "pairwise R"], sweep))
    text.append(print_table(f"Gap clustering (chosen: largest threshold with P >= {MIN_PRECISION} on tune)",
                            ["split", "questions", "gold groups", "threshold", "groups", "pairwise P",
                             "pairwise R"], rows))
    text.append(print_table(f"Generation time ({SIZE} questions, median of {REPEATS})",
                            ["what", "seconds", "size"], generation(kb)))
    if chosen != DEFAULT_GAP_THRESHOLD:
        print(f"note: the sweep chooses {chosen:g}, DEFAULT_GAP_THRESHOLD is {DEFAULT_GAP_THRESHOLD:g}")
    (RESULTS / "report.md").write_text("\n".join(text), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
