"""Train the message model cs_rag ships (src/cs_rag/data/guard/understanding.npz).

    python scripts/train_understanding.py [--data training/emotion/*.jsonl] [--output FILE]

The data is the project's own writing (training/emotion/README.md): customer messages, and the
customer turns of conversations, labelled with emotion, level and question type as in
training/emotion/GUIDE.md. A file's writer is the last `_` part of its name (train_a.jsonl: a). Settings are chosen across writers, never
on a test set: every head's regularisation strength C is the one with the best macro-F1 over
the readings of each writer's messages by a model trained on the other writers' and and the decision is chosen on those left-out readings: a message is negative when P(negative)
reaches `negative_threshold` and the level head reads it as level 2-3, or reaches
`mild_threshold` (>= the former) when it reads level 1 (a mild reading is the usual false alarm
on an ordinary question, so it needs more evidence). The pair is the one with the best F1 of
"negative at any level" among those that flag at most `--calm-false-alarms` (default 3%) of the
left-out calm messages. The weights of levels 2 and 3 against 1 are, among those within half a
point of the best exact-level accuracy whose level-3 readings are right at least 80% of the time,
the ones with the best level-3 recall (a missed level 3 is a furious customer not handed to a
supervisor; the floor keeps at most one supervisor hand-off in five for a customer below level 3).
The shipped weights are then fitted on everything. A writer named by `--train-only` (default d and e,
see TRAIN_ONLY) is trained on in every fold and never read, so it shapes the models, not the
settings. Two models: understanding.npz (n-grams and
cues) and understanding_e5.npz (also the embedded default e5 model's query vectors). Needs scikit-learn (the `bench` extra);
deterministic for given e5 vectors (lbfgs, no sampling); about 8 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score

from cs_rag.guard.classifier import FeatureConfig, hashed_counts, tfidf_values
from cs_rag.guard.emotion import Seen
from cs_rag.guard.fold import fold_view, normal_view
from cs_rag.guard.lexicon import build_lexicons, shipped_dir
from cs_rag.guard.understanding import EMBEDDING_FILE_NAME, HEADS, Head, MessageModel

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = sorted((REPO / "training" / "emotion").glob("*.jsonl"))
OUTPUT = REPO / "src" / "cs_rag" / "data" / "guard" / "understanding.npz"
C_GRID = (10.0, 30.0, 100.0)
LEVEL_WEIGHTS = tuple((1.0, w2, w3) for w2 in (1.0, 1.2, 1.5) for w3 in (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0))
LEVEL_ACCURACY_SLACK = 0.005
LEVEL3_PRECISION_FLOOR = 0.80
THRESHOLDS = np.round(np.arange(0.20, 0.91, 0.02), 2)
# Writers d and e wrote to narrow briefs (d: courtesy and its look-alikes, half of it calm thanks
# and goodbyes; e: a customer's later messages in a chat, 60% calm next steps and confirmations):
# read by models trained without them, they measure those gaps, not ordinary traffic, and would
# set the thresholds. So every fold trains on them, none reads them. Writer f (first questions
# about something that went wrong) is read: its calm questions are the ordinary traffic the
# false-alarm budget is about (training/emotion/README.md).
TRAIN_ONLY = ("d", "e")
CALM_FALSE_ALARMS = 0.03
CONFIG = FeatureConfig(ngram_min=1, ngram_max=3, n_features=2 ** 17)


def read_messages(path: Path) -> list[dict]:
    """Labelled customer messages of one file: lines of messages, or conversations whose
    customer turns carry the labels. A bad line exits naming file, line and field."""
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        record = json.loads(line)
        turns = record.get("turns")
        items = [t for t in turns if t.get("role") == "customer"] if turns is not None else [record]
        for item in items:
            for field, allowed in (("emotion", HEADS["emotion"]), ("question_type", HEADS["question_type"])):
                if item.get(field) not in allowed:
                    sys.exit(f"{path}:{number}: {field} must be one of {', '.join(allowed)}")
            if item.get("level") not in (0, 1, 2, 3) or (item["level"] == 0) != (item["emotion"] == "none"):
                sys.exit(f"{path}:{number}: level must be 0 exactly when emotion is none, else 1-3")
            rows.append({"text": item["text"], "emotion": item["emotion"], "level": str(item["level"]),
                         "question_type": item["question_type"], "group": writer_of(path)})
    return rows


def writer_of(path: Path) -> str:
    """The writer a file is by: the last `_` part of its name (train_a.jsonl, conversations_a.jsonl: a)."""
    return path.stem.rsplit("_", 1)[-1]


def smooth_idf(counts: sp.csr_matrix) -> np.ndarray:
    """scikit-learn's smoothed idf: log((1 + n) / (1 + df)) + 1."""
    df = np.bincount(counts.indices, minlength=counts.shape[1])
    return np.log((1.0 + counts.shape[0]) / (1.0 + df)) + 1.0


def seen_all(texts: list[str]) -> list[Seen]:
    matcher = build_lexicons([shipped_dir()]).message
    out = []
    for text in texts:
        normal = normal_view(text)
        folded = fold_view(normal)
        out.append(Seen(text, normal, folded, matcher.find(folded.text)))
    return out


class Features:
    """N-gram counts, cues and (when given) embeddings of every training text; feature rows
    for any subset with that subset's idf."""

    def __init__(self, texts: list[str], vectors: np.ndarray | None = None) -> None:
        seen = seen_all(texts)
        self.normal = [s.normal.text for s in seen]
        indptr, indices, counts = hashed_counts(self.normal, CONFIG)
        self.counts = sp.csr_matrix((counts, indices, indptr), shape=(len(texts), CONFIG.n_features))
        self.cues = np.stack([s.cues() for s in seen])
        self.vectors = vectors

    def idf(self, rows: np.ndarray) -> np.ndarray:
        return smooth_idf(self.counts[rows])

    def matrix(self, rows: np.ndarray, idf: np.ndarray) -> sp.csr_matrix:
        part = self.counts[rows]
        values = tfidf_values(part.indptr, part.indices, part.data, idf)
        ngrams = sp.csr_matrix((values, part.indices, part.indptr), shape=part.shape)
        blocks = [ngrams, sp.csr_matrix(self.cues[rows])]
        if self.vectors is not None:
            blocks.append(sp.csr_matrix(self.vectors[rows]))
        return sp.hstack(blocks, format="csr")


class FittedHead:
    """A logistic regression fitted on the columns the training rows use (a hashed space is
    mostly empty; fitting on the used columns alone is the same model, many times faster)."""

    def __init__(self, x: sp.csr_matrix, labels: np.ndarray, classes: tuple[str, ...], c: float) -> None:
        missing = set(classes) - set(labels)
        if missing:
            sys.exit(f"no training message has {sorted(missing)}")
        self.classes = classes
        self.columns = np.unique(x.indices)
        self.model = LogisticRegression(C=c, max_iter=3000, class_weight="balanced")
        self.model.fit(x[:, self.columns], labels)
        self.order = [list(self.model.classes_).index(c) for c in classes]

    def proba(self, x: sp.csr_matrix) -> np.ndarray:
        return self.model.predict_proba(x[:, self.columns])[:, self.order]

    def weights(self, width: int) -> tuple[np.ndarray, np.ndarray]:
        """(coef (width, n_classes) over every column, intercept (n_classes,)), in class order."""
        coef = np.zeros((width, len(self.classes)))
        coef[self.columns] = self.model.coef_[self.order].T
        return coef, self.model.intercept_[self.order]


def left_out_probabilities(features: Features, labels: dict[str, np.ndarray], groups: np.ndarray,
                           c_by_head: dict[str, float] | None,
                           train_only: tuple[str, ...] = ()) -> dict[tuple[str, float], np.ndarray]:
    """{(head, C): probabilities of every text from the model trained without its group}; the
    texts of `train_only` groups are always trained on and never read (their rows stay 0)."""
    out: dict[tuple[str, float], np.ndarray] = {}
    for group in sorted(set(groups) - set(train_only)):
        test, train = np.flatnonzero(groups == group), np.flatnonzero(groups != group)
        idf = features.idf(train)
        x_train, x_test = features.matrix(train, idf), features.matrix(test, idf)
        for head, classes in HEADS.items():
            for c in ([c_by_head[head]] if c_by_head else C_GRID):
                fitted = FittedHead(x_train, labels[head][train], classes, c)
                out.setdefault((head, c), np.zeros((len(groups), len(classes))))
                out[(head, c)][test] = fitted.proba(x_test)
    return out


def negative_scores(p_emotion: np.ndarray, p_level: np.ndarray) -> np.ndarray:
    return 1.0 - (p_emotion[:, 0] + p_level[:, 0]) / 2


def choose(features: Features, labels: dict[str, np.ndarray], groups: np.ndarray,
           calm_false_alarms: float, train_only: tuple[str, ...] = ()) -> tuple[dict, dict, dict]:
    """(C per head, decision params, the leave-one-writer-out figures behind them), read on the
    writers not in `train_only` (whose messages join every fold's training)."""
    left_out = left_out_probabilities(features, labels, groups, None, train_only)
    read = ~np.isin(groups, train_only)
    chosen: dict[str, float] = {}
    cv: dict[str, dict] = {}
    for head, classes in HEADS.items():
        scores = {c: f1_score(labels[head][read], np.asarray(classes)[left_out[(head, c)][read].argmax(1)],
                              average="macro") for c in C_GRID}
        chosen[head] = max(C_GRID, key=lambda c: (round(scores[c], 4), -c))
        cv[head] = {"macro_f1_by_C": {str(c): round(s, 4) for c, s in scores.items()}}
    p_level = left_out[("level", chosen["level"])][read]
    p_negative = negative_scores(left_out[("emotion", chosen["emotion"])][read], p_level)
    gold_level = labels["level"][read].astype(int)
    by_weights = {weights: _best_decision(p_negative, p_level, gold_level, weights, calm_false_alarms)
                  for weights in LEVEL_WEIGHTS}
    best_accuracy = max(d["level_accuracy"] for d in by_weights.values())
    near_best = [w for w, d in by_weights.items() if d["level_accuracy"] >= best_accuracy - LEVEL_ACCURACY_SLACK]
    precise = [w for w in near_best if by_weights[w]["level3_precision"] >= LEVEL3_PRECISION_FLOOR] or near_best
    weights = max(precise, key=lambda w: (by_weights[w]["level3_recall"], -sum(w)))
    decision = by_weights[weights]
    cv["calm_false_alarm_budget"] = calm_false_alarms
    cv["train_only_writers"] = list(train_only)
    cv["decision_by_level_weights"] = {str(list(w)): d for w, d in by_weights.items()}
    return chosen, {"negative_threshold": decision["negative_threshold"],
                    "mild_threshold": decision["mild_threshold"], "level_weights": list(weights)}, cv


def _best_decision(p_negative: np.ndarray, p_level: np.ndarray, gold_level: np.ndarray,
                   weights: tuple[float, ...], calm_false_alarms: float) -> dict:
    """For one set of level weights: the (negative, mild) threshold pair with the best F1 of
    negative at any level among those flagging at most `calm_false_alarms` of the calm messages,
    with its figures."""
    level = 1 + (p_level[:, 1:] * np.asarray(weights)).argmax(1)
    gold, calm = gold_level > 0, gold_level == 0
    best = None
    for threshold in THRESHOLDS:
        for mild in THRESHOLDS[THRESHOLDS >= threshold]:
            negative = (p_negative >= threshold) & ((level >= 2) | (p_negative >= mild))
            false_alarms = float(negative[calm].mean())
            if false_alarms > calm_false_alarms:
                continue
            hits = int(np.sum(negative & gold))
            f1 = 2 * hits / (int(negative.sum()) + int(gold.sum()))
            if best is None or round(f1, 4) > round(best[0], 4):
                best = (f1, float(threshold), float(mild), negative, false_alarms)
    if best is None:
        sys.exit(f"no threshold flags at most {calm_false_alarms:.0%} of the calm messages")
    f1, threshold, mild, negative, false_alarms = best
    read = np.where(negative, level, 0)
    return {"negative_threshold": threshold, "mild_threshold": mild, "negative_f1": round(f1, 4),
            "calm_false_alarms": round(false_alarms, 4),
            "level_accuracy": round(float(np.mean(read == gold_level)), 4),
            "level3_recall": round(float(np.mean(read[gold_level == 3] == 3)), 4),
            "level3_precision": round(float(np.mean(gold_level[read == 3] == 3)), 4) if np.any(read == 3) else 0.0}


def train(rows: list[dict], data: list[Path], vectors: np.ndarray | None, embedding_model: str | None,
          output: Path, calm_false_alarms: float, train_only: tuple[str, ...] = ()) -> dict:
    """Choose settings across writers, fit on everything, save to `output`; the summary."""
    labels = {head: np.asarray([r[head] for r in rows]) for head in HEADS}
    groups = np.asarray([r["group"] for r in rows])
    features = Features([r["text"] for r in rows], vectors)
    if len(set(groups) - set(train_only)) > 1:
        chosen, params, cv = choose(features, labels, groups, calm_false_alarms, train_only)
    else:
        chosen, params, cv = {head: 30.0 for head in HEADS}, {"negative_threshold": 0.5}, {}
    if embedding_model is not None:
        params["embedding_model"] = embedding_model
    everything = np.arange(len(rows))
    idf = features.idf(everything)
    x = features.matrix(everything, idf)
    width_cues = CONFIG.n_features + len(features.cues[0])
    heads = {}
    for head, classes in HEADS.items():
        coef, bias = FittedHead(x, labels[head], classes, chosen[head]).weights(x.shape[1])
        heads[head] = Head(classes, np.ascontiguousarray(coef[:CONFIG.n_features]),
                           np.ascontiguousarray(coef[CONFIG.n_features:width_cues]), bias,
                           np.ascontiguousarray(coef[width_cues:]) if vectors is not None else None)
    provenance = {
        "trained_by": "scripts/train_understanding.py",
        "data": [{"file": str(p.relative_to(REPO) if p.is_relative_to(REPO) else p),
                  "sha256": hashlib.sha256(p.read_bytes()).hexdigest(),
                  "writer": writer_of(p)} for p in data],
        "messages": len(rows), "C": chosen, "leave_one_writer_out": cv,
        "licence": "the project's own writing, under the project's licence",
        "sklearn": sklearn.__version__,
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    MessageModel(idf, heads, CONFIG, params, provenance).save(output)
    return {"output": str(output), "messages": len(rows), "C": chosen, **params, "leave_one_writer_out": cv}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, nargs="+", default=DEFAULT_DATA)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--calm-false-alarms", type=float, default=CALM_FALSE_ALARMS,
                        help="the largest share of left-out calm messages the decision may flag")
    parser.add_argument("--train-only", nargs="*", default=list(TRAIN_ONLY), metavar="WRITER",
                        help="writers whose messages every fold trains on and none reads (default: d e)")
    parser.add_argument("--no-embeddings", action="store_true",
                        help="only the n-gram model (skip understanding_e5.npz)")
    args = parser.parse_args()
    if not args.data:
        sys.exit("no training files (training/emotion/*.jsonl)")
    rows = [row for path in args.data for row in read_messages(path)]
    train_only = tuple(args.train_only)
    summaries = [train(rows, args.data, None, None, args.output, args.calm_false_alarms, train_only)]
    if not args.no_embeddings:
        from cs_rag.models.embedding import Embedder

        embedder = Embedder()
        vectors = embedder.encode([r["text"] for r in rows], "query")
        summaries.append(train(rows, args.data, vectors, embedder.name,
                               args.output.with_name(EMBEDDING_FILE_NAME), args.calm_false_alarms, train_only))
    print(json.dumps(summaries, indent=1))


if __name__ == "__main__":
    main()
