"""Guard benchmark: emotion, level, question type and trajectory on a labelled set; offensive
on COLD dev; negatives on waimai; false alarms; throughput and the answer path's latency.

    python benchmarks/guard.py [PATH] [--no-answer-path]

PATH is a labelled set in the format of training/emotion/GUIDE.md, a JSONL file or a folder
(default: eval/holdout/emotion, written by someone who saw neither the training data nor the
code). Tables:
- PATH messages, the default guard (message model + lexicon) and the lexicon alone: negative
  emotion at any level (precision, recall, F1), exact level accuracy, level-3 recall, label
  accuracy, question-type macro-F1; for the default guard also per kind, per level, the
  confusion between levels, per style (the hard cases) and per question type.
- PATH conversations: escalation (hand-off) precision, recall, F1 from the guard's levels and
  from the gold levels (the rule alone); turning points matched by turn.
- COLD dev (offensive / safe): the guard's lexicon alone, the shipped classifier at its
  COLD-carve and customer-service thresholds, lexicon + classifier (the guard's default), and
  the anchor, a TF-IDF character 1-3-gram logistic regression trained on COLD train.
- waimai_10k (negative / positive reviews): negative_emotion for the guard, n-gram and e5
  models (any level, and level >= 2) vs the anchor trained on a 50% split (seed 0); both scored on the other 50%.
- eval/guard_messages.jsonl: precision and recall per flag kind; false alarms on its
  ordinary lines.
- False alarms: the share of eval/questions.jsonl questions with any flag (target < 3%).
- Throughput on one core: check_message on the waimai evaluation half, lexicon path and
  default path, and check_messages in batches of 64.
- The answer path: Assistant.answer p50/p95 over eval/questions.jsonl (target p95 < 100 ms).

Nothing here tunes anything: models, thresholds and rules were fixed before this ran.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
from _common import REPO, RESULTS, SHARED_DATA, percentiles_ms, print_table, read_jsonl
from guard_labelled import conversation_rows, emotion_rows, prf, read_set

from cs_rag.guard import Guard
from cs_rag.guard.classifier import load_offensive_classifier
from cs_rag.types import FlagKind

SEED = 0
HELDOUT = REPO / "eval" / "holdout" / "emotion"


def tfidf_anchor(train_texts: list[str], train_labels: list[bool]) -> Callable[[list[str]], np.ndarray]:
    """TF-IDF character 1-3-grams + LogisticRegression (scikit-learn defaults): P(positive) >= 0.5."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)
    model = LogisticRegression(max_iter=1000)
    model.fit(vectorizer.fit_transform(train_texts), train_labels)
    return lambda texts: model.predict(vectorizer.transform(texts)).astype(bool)


def kinds_of(result) -> set[FlagKind]:
    return {flag.kind for flag in result.flags}


def cold_anchor() -> Callable[[list[str]], np.ndarray]:
    train = read_jsonl(SHARED_DATA / "cold" / "train.jsonl")
    return tfidf_anchor([r["text"] for r in train], [r["label"] == "offensive" for r in train])


def cold_rows(lexicon: Guard, default: Guard, anchor: Callable[[list[str]], np.ndarray]) -> list[list]:
    dev = read_jsonl(SHARED_DATA / "cold" / "dev.jsonl")
    texts = [r["text"] for r in dev]
    gold = [r["label"] == "offensive" for r in dev]
    classifier = load_offensive_classifier()
    proba = classifier.predict_proba(texts)
    carve = float(classifier.provenance.get("carve_threshold", classifier.threshold))
    systems = {
        "guard lexicon alone": [FlagKind.OFFENSIVE in kinds_of(r) for r in lexicon.check_messages(texts)],
        f"shipped classifier alone, COLD-carve threshold {carve:.3f}": list(proba >= carve),
        f"shipped classifier alone, customer-service threshold {classifier.threshold:.3f}":
            list(proba >= classifier.threshold),
        "guard default (lexicon + classifier)":
            [FlagKind.OFFENSIVE in kinds_of(r) for r in default.check_messages(texts)],
        "anchor: TF-IDF char 1-3 + LR (COLD train)": list(anchor(texts)),
    }
    return [[name, len(texts), *prf(predicted, gold)] for name, predicted in systems.items()]


def waimai_split() -> tuple[list[dict], list[dict]]:
    """50/50 split of waimai_10k with a fixed seed: (anchor training half, evaluation half)."""
    rows = read_jsonl(SHARED_DATA / "waimai_10k" / "messages.jsonl")
    order = np.random.default_rng(SEED).permutation(len(rows))
    half = len(rows) // 2
    return [rows[i] for i in sorted(order[:half])], [rows[i] for i in sorted(order[half:])]


def waimai_anchor(train: list[dict]) -> Callable[[list[str]], np.ndarray]:
    return tfidf_anchor([r["text"] for r in train], [r["label"] == "negative" for r in train])


def waimai_rows(guards: dict[str, Guard], anchor: Callable[[list[str]], np.ndarray], test: list[dict]) -> list[list]:
    """negative_emotion at any level and at level 2 or more for each of `guards` (read in
    batches of 64), then the anchor."""
    texts = [r["text"] for r in test]
    gold = [r["label"] == "negative" for r in test]
    rows = []
    for name, guard in guards.items():
        levels = []
        for first in range(0, len(texts), 64):
            for result in guard.check_messages(texts[first:first + 64]):
                found = [f.level or 1 for f in result.flags if f.kind is FlagKind.NEGATIVE_EMOTION]
                levels.append(max(found, default=0))
        rows += [[f"{name} negative_emotion, any level", len(texts), *prf((lv >= 1 for lv in levels), gold)],
                 [f"{name} negative_emotion, level >= 2", len(texts), *prf((lv >= 2 for lv in levels), gold)]]
    return rows + [["anchor: TF-IDF char 1-3 + LR (other 50%)", len(texts), *prf(anchor(texts), gold)]]


def anchors_on_own_set(default: Guard, offensive_anchor, emotion_anchor) -> list[list]:
    """The set neither anchor trained on: the customer messages of eval/guard_messages.jsonl."""
    rows = [r for r in read_jsonl(REPO / "eval" / "guard_messages.jsonl") if r["target"] == "message"]
    texts = [r["text"] for r in rows]
    found = [kinds_of(result) for result in default.check_messages(texts)]
    table = []
    for kind, anchor, name in ((FlagKind.OFFENSIVE, offensive_anchor, "COLD train"),
                               (FlagKind.NEGATIVE_EMOTION, emotion_anchor, "waimai half")):
        gold = [kind.value in r["kinds"] for r in rows]
        table.append([f"guard default: {kind.value}", len(texts), *prf((kind in f for f in found), gold)])
        table.append([f"anchor ({name}): {kind.value}", len(texts), *prf(anchor(texts), gold)])
    return table


def check(guard: Guard, row: dict):
    if row["target"] == "answer":
        return guard.check_answer(row["text"], row["evidence"])
    return guard.check_message(row["text"])


def eval_set_rows(default: Guard) -> tuple[list[list], list[list], list[str]]:
    """Per-kind rows, summary rows, and the lines the guard got wrong (for the results file)."""
    rows = read_jsonl(REPO / "eval" / "guard_messages.jsonl")
    results = [check(default, r) for r in rows]
    predicted = [{k.value for k in kinds_of(res)} for res in results]
    gold = [set(r["kinds"]) for r in rows]
    kinds = sorted(set().union(*gold, *predicted))
    per_kind, tp_all, pred_all, gold_all = [], 0, 0, 0
    for kind in kinds:
        p = [kind in s for s in predicted]
        g = [kind in s for s in gold]
        precision, recall, _ = prf(p, g)
        per_kind.append([kind, sum(g), sum(p), precision, recall])
        tp_all += sum(a and b for a, b in zip(p, g))
        pred_all += sum(p)
        gold_all += sum(g)
    ordinary = [bool(s) for s, g in zip(predicted, gold) if not g]
    level_pairs = []
    for r, res in zip(rows, results):
        found = [f.level for f in res.flags if f.kind is FlagKind.NEGATIVE_EMOTION and f.level]
        if "emotion_level" in r and found:
            level_pairs.append((r["emotion_level"], max(found)))
    exact = [a == b for a, b in level_pairs]
    close = [abs(a - b) <= 1 for a, b in level_pairs]
    summary = [
        ["precision, all kinds (micro over line x kind)", pred_all, tp_all / pred_all if pred_all else 0.0],
        ["recall, all kinds (micro over line x kind)", gold_all, tp_all / gold_all if gold_all else 0.0],
        ["ordinary lines with any flag (false alarms)", len(ordinary), sum(ordinary) / len(ordinary)],
        *[[f"negative_emotion recall, gold level {level}", len(found), float(np.mean(found))]
          for level in (1, 2, 3)
          if (found := ["negative_emotion" in p for r, p in zip(rows, predicted)
                        if r.get("emotion_level") == level])],
        ["negative_emotion found: level exact", len(level_pairs), float(np.mean(exact)) if exact else 0.0],
        ["negative_emotion found: level within 1", len(level_pairs), float(np.mean(close)) if close else 0.0],
    ]
    mistakes = [f"{r['id']} gold {sorted(g) or '-'} got {sorted(p) or '-'}: {r['text']}"
                for r, g, p in zip(rows, gold, predicted) if g != p]
    return per_kind, summary, mistakes


def false_alarm_rows(default: Guard) -> list[list]:
    questions = read_jsonl(REPO / "eval" / "questions.jsonl")
    answers = [r["answer"] for r in read_jsonl(REPO / "knowledge" / "faq.jsonl") if r["answer"]]
    out = []

    def row(name: str, results: list) -> list:
        flagged = [kinds_of(r) for r in results]
        fired = Counter(k.value for kinds in flagged for k in kinds)
        share = sum(bool(k) for k in flagged) / len(flagged)
        return [name, len(flagged), share, ", ".join(f"{k} {n}" for k, n in fired.most_common()) or "-"]

    out.append(row("eval/questions.jsonl, all questions",
                   [default.check_message(q["question"]) for q in questions]))
    out.append(row("eval/questions.jsonl, without category 投诉建议",
                   [default.check_message(q["question"]) for q in questions
                    if q["category"] != "投诉建议"]))
    out.append(row("knowledge/faq.jsonl answers (evidence: the answer itself)",
                   [default.check_answer(a, [a]) for a in answers]))
    return out


def throughput_rows(lexicon: Guard, default: Guard, embedded: Guard, texts: list[str]) -> list[list]:
    """Messages/s on one core (the process is pinned to one CPU meanwhile): check_message one
    text at a time on each path, and check_messages in batches of 64 on the default path; the
    path with e5 vectors in batches of 64 on the first 1,000 texts."""
    pinned = hasattr(os, "sched_setaffinity")
    if pinned:
        allowed = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {min(allowed)})
    try:
        out = []
        for name, guard in (("lexicon path", lexicon), ("default path (lexicon + classifier + message model)", default)):
            for text in texts[:200]:
                guard.check_message(text)  # warm caches
            start = time.perf_counter()
            for text in texts:
                guard.check_message(text)
            seconds = time.perf_counter() - start
            out.append([name, len(texts), round(len(texts) / seconds), round(seconds / len(texts) * 1e6, 1)])
        out.append(_batched("default path, check_messages in batches of 64", default, texts))
        embedded.check_messages(texts[:64])   # load the embedding model
        out.append(_batched("with e5 vectors, check_messages in batches of 64", embedded, texts[:1000]))
    finally:
        if pinned:
            os.sched_setaffinity(0, allowed)
    return out


def _batched(name: str, guard: Guard, texts: list[str]) -> list:
    start = time.perf_counter()
    for first in range(0, len(texts), 64):
        guard.check_messages(texts[first:first + 64])
    seconds = time.perf_counter() - start
    return [name, len(texts), round(len(texts) / seconds), round(seconds / len(texts) * 1e6, 1)]


def labelled_tables(path: Path, guards: dict[str, Guard], lexicon: Guard) -> str:
    """The emotion, level, question type and conversation tables of a labelled set, for each
    of `guards` and, in summary, the lexicon alone."""
    messages, conversations = read_set(path)
    out = ""
    prf_header = ["measure", "n", "value / precision", "recall", "F1"]
    for name, guard in [*guards.items(), ("lexicon alone", lexicon)]:
        tables = emotion_rows(guard, messages)
        out += print_table(f"{path}: {name}, {len(messages)} messages", prf_header, tables["summary"])
        if guard is lexicon:
            continue
        out += print_table(f"{name}: per kind", ["kind", "gold", "precision", "recall", "F1"], tables["per_kind"])
        out += print_table(f"{name}: per level", ["level", "gold", "precision", "recall", "F1"],
                           tables["per_level"])
        out += print_table(f"{name}: level confusion (rows gold, columns predicted)",
                           ["", "0", "1", "2", "3"], tables["confusion"])
        out += print_table(f"{name}: per style", ["style", "n", "negative right", "level exact"],
                           tables["per_style"])
        out += print_table(f"{name}: question type", ["type", "gold", "precision", "recall", "F1"],
                           tables["per_type"])
        if conversations:
            out += print_table(f"{name}: {len(conversations)} conversations", prf_header,
                               conversation_rows(guard, conversations))
    return out


def answer_path_rows() -> list[list]:
    """p50/p95 of Assistant.answer over eval/questions.jsonl on an index of knowledge/ (the
    default guard, message model included, reads every question)."""
    import tempfile

    from cs_rag import KnowledgeBase
    from cs_rag.answering.assistant import Assistant

    questions = [q["question"] for q in read_jsonl(REPO / "eval" / "questions.jsonl")]
    with tempfile.TemporaryDirectory() as folder:
        knowledge_base = KnowledgeBase(Path(folder) / "index")
        knowledge_base.ingest([REPO / "knowledge"])
        assistant = Assistant(knowledge_base, chat_model=None)
        for question in questions[:20]:
            assistant.answer(question)   # warm
        seconds, guard_ms = [], []
        for question in questions:
            start = time.perf_counter()
            answer = assistant.answer(question)
            seconds.append(time.perf_counter() - start)
            guard_ms.append(answer.trace["timings_ms"]["guard_message"])
    p50, p95 = percentiles_ms(seconds)
    return [["Assistant.answer (extractive), whole answer", len(questions), round(p50, 1), round(p95, 1)],
            ["of which the guard's message check", len(questions),
             round(float(np.percentile(guard_ms, 50)), 2), round(float(np.percentile(guard_ms, 95)), 2)]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", nargs="?", type=Path, default=HELDOUT,
                        help="a labelled set: a JSONL file or a folder of them (default: %(default)s)")
    parser.add_argument("--no-answer-path", action="store_true",
                        help="skip the answer-path latency (it builds an index of knowledge/)")
    args = parser.parse_args()
    from cs_rag.models.embedding import Embedder

    lexicon = Guard(offensive_model=None, message_model=None)
    default = Guard()
    embedded = Guard(encoder=Embedder())
    out = labelled_tables(args.path, {"guard default: n-gram model (cs-rag guard)": default,
                                      "guard with e5 vectors (the answer path; cs-rag guard --embeddings)":
                                          embedded}, lexicon)
    waimai_train, waimai_test = waimai_split()
    offensive_anchor, emotion_anchor = cold_anchor(), waimai_anchor(waimai_train)
    out += print_table("COLD dev: offensive", ["system", "messages", "precision", "recall", "F1"],
                      cold_rows(lexicon, default, offensive_anchor))
    out += print_table("waimai_10k, evaluation half (seed 0): negative emotion",
                       ["system", "messages", "precision", "recall", "F1"],
                       waimai_rows({"guard default (n-gram model)": default,
                                    "guard with e5 vectors (the answer path)": embedded},
                                   emotion_anchor, waimai_test))
    out += print_table("eval/guard_messages.jsonl messages (no anchor trained on them): guard vs anchors",
                       ["system", "messages", "precision", "recall", "F1"],
                       anchors_on_own_set(default, offensive_anchor, emotion_anchor))
    per_kind, summary, mistakes = eval_set_rows(default)
    out += print_table("eval/guard_messages.jsonl: guard default, per kind",
                       ["kind", "gold", "flagged", "precision", "recall"], per_kind)
    out += print_table("eval/guard_messages.jsonl: summary", ["measure", "n", "value"], summary)
    out += print_table("False alarms: share with any flag (target < 3%)",
                       ["texts", "n", "share flagged", "kinds fired"], false_alarm_rows(default))
    out += print_table("Throughput on one core (waimai evaluation half)",
                       ["path", "messages", "messages/s", "µs/message"],
                       throughput_rows(lexicon, default, embedded, [r["text"] for r in waimai_test]))
    if not args.no_answer_path:
        out += print_table("Answer path latency (ms; target p95 < 100)", ["what", "questions", "p50", "p95"],
                           answer_path_rows())
    out += "\n### eval/guard_messages.jsonl lines the guard got wrong\n\n" + "\n".join(
        f"- {m}" for m in mistakes) + "\n"
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "guard.md").write_text(out, encoding="utf-8")


if __name__ == "__main__":
    main()
