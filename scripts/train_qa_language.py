"""Train the agent-reply models cs_rag ships for quality inspection (src/cs_rag/data/qa/replies.npz).

    python scripts/train_qa_language.py [--data training/qa/replies.jsonl=first ...]

The data are agent replies written and labelled for this project by four writers
(training/qa/README.md; the project's licence), one JSON object a line with boolean `impolite`,
`empathy`, `greeting` and `closing`; `PATH=WRITER` names a file's writer (the file's stem when
left out). Nothing from an evaluation set is used. Besides the pooled cross-validation below,
each writer's replies are read by heads fitted on the other writers' only (same n-grams, C and
thresholds): how well the heads read an agent whose writer they never saw. 5-fold cross-validation with a fixed seed
(the idf fitted on each fold's training part only) picks the feature n-gram range (shared by
all heads, lowest mean log loss), each head's regularisation strength C (lowest out-of-fold
log loss) and its threshold: the one with the highest out-of-fold F1 of what the inspector
decides, a phrase-list hit or a probability at or above the threshold. For impolite that F1
weighs the negatives as if impolite replies were `DEPLOYED_SHARE` of all (the data hold about
30% on purpose; a team's conversations far fewer). The shipped heads are then fitted on all
replies. Needs scikit-learn (the `bench` extra); a few minutes on one core.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import KFold

from cs_rag.errors import InputError
from cs_rag.guard.classifier import FeatureConfig, hashed_counts, tfidf_values
from cs_rag.qa.phrases import PhraseLists, shipped_dir
from cs_rag.qa.reply_models import HEADS, ReplyModels
from cs_rag.reading import parse_jsonl

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = tuple(f"{REPO / 'training' / 'qa' / name}={writer}" for name, writer in (
    ("replies.jsonl", "first"), ("curt.jsonl", "first"), ("replies2.jsonl", "second"), ("replies3.jsonl", "third"),
    ("replies4.jsonl", "fourth")))
OUTPUT = REPO / "src" / "cs_rag" / "data" / "qa" / "replies.npz"
SEED = 0
FOLDS = 5
C_GRID = (3.0, 10.0, 30.0, 100.0, 300.0, 1000.0)
# assumed share of impolite replies in inspected conversations: about one reply in twenty
DEPLOYED_SHARE = {"impolite": 0.05}
CONFIGS = (FeatureConfig(1, 2, 2 ** 18), FeatureConfig(1, 3, 2 ** 18))


def read_replies(path: Path) -> list[dict]:
    """The labelled replies; InputError naming the line and field of a bad one."""
    rows = []
    for number, row in parse_jsonl(path, str(path)):
        if not isinstance(row.get("text"), str) or not row["text"].strip():
            raise InputError(str(path), "a non-empty string is required", line=number, field="text")
        for head in HEADS:
            if not isinstance(row.get(head), bool):
                raise InputError(str(path), "true or false is required", line=number, field=head)
        rows.append(row)
    return rows


def smooth_idf(counts: sp.csr_matrix) -> np.ndarray:
    """scikit-learn's smoothed idf: log((1 + n) / (1 + df)) + 1."""
    df = np.bincount(counts.indices, minlength=counts.shape[1])
    return np.log((1.0 + counts.shape[0]) / (1.0 + df)) + 1.0


class Features:
    """The texts' TF-IDF matrix with the idf of all of them, and one per cross-validation fold
    with the idf of the fold's training part (the folds are the same for every head)."""

    def __init__(self, texts: list[str], config: FeatureConfig) -> None:
        self.config = config
        indptr, indices, counts = hashed_counts(texts, config)
        shape = (len(texts), config.n_features)
        count_matrix = sp.csr_matrix((counts, indices, indptr), shape=shape)

        def tfidf(rows: np.ndarray) -> tuple[np.ndarray, sp.csr_matrix]:
            idf = smooth_idf(count_matrix[rows])
            return idf, sp.csr_matrix((tfidf_values(indptr, indices, counts, idf), indices, indptr), shape=shape)

        self.idf, self.matrix = tfidf(np.arange(len(texts)))
        self.folds = [(train, test, tfidf(train)[1])
                      for train, test in KFold(FOLDS, shuffle=True, random_state=SEED).split(texts)]


def logistic(c: float) -> LogisticRegression:
    return LogisticRegression(C=c, solver="liblinear", max_iter=1000, random_state=SEED)


def out_of_fold(features: Features, labels: np.ndarray, c: float) -> np.ndarray:
    """Out-of-fold P(label), each fold's features weighted by its training part's idf."""
    proba = np.zeros(len(labels))
    for train, test, matrix in features.folds:
        model = logistic(c).fit(matrix[train], labels[train])
        proba[test] = model.predict_proba(matrix[test])[:, 1]
    return proba


def prf(predicted: np.ndarray, labels: np.ndarray, negative_weight: float = 1.0) -> tuple[float, float, float]:
    """Precision, recall and F1, each false positive counting `negative_weight`."""
    tp = float(np.sum(predicted & labels))
    fp = float(np.sum(predicted & ~labels)) * negative_weight
    precision = tp / max(tp + fp, 1e-12)
    recall = tp / max(float(labels.sum()), 1.0)
    return precision, recall, 2 * precision * recall / max(precision + recall, 1e-12)


def negative_weight(labels: np.ndarray, share: float | None) -> float:
    """The weight that makes positives `share` of the weighted replies (1 without a share)."""
    if share is None:
        return 1.0
    positives = labels.mean()
    return positives / (1.0 - positives) * (1.0 - share) / share


def best_threshold(proba: np.ndarray, phrase: np.ndarray, labels: np.ndarray, weight: float) -> float:
    """The threshold with the highest (weighted) F1 of `phrase | proba >= t`, the lowest on ties."""
    candidates = np.unique(proba)
    f1 = [prf(phrase | (proba >= t), labels, weight)[2] for t in candidates]
    return float(candidates[int(np.argmax(f1))])


def data_file(spec: str) -> tuple[Path, str]:
    """`PATH=WRITER` (or `PATH`, written by its stem) -> (path, writer)."""
    path, _, writer = spec.partition("=")
    return Path(path), writer or Path(path).stem


def other_writer_check(rows: list[dict], writers: np.ndarray, config: FeatureConfig, phrase: dict,
                       choices: dict) -> dict:
    """Per writer and head: precision, recall and F1 of phrase hit or P >= threshold on that
    writer's replies, the heads (C, threshold from `choices`) fitted on the other writers' only."""
    texts = [r["text"] for r in rows]
    indptr, indices, counts = hashed_counts(texts, config)
    count_matrix = sp.csr_matrix((counts, indices, indptr), shape=(len(texts), config.n_features))
    out = {}
    for writer in sorted(set(writers)):
        train, test = writers != writer, writers == writer
        idf = smooth_idf(count_matrix[train])
        matrix = sp.csr_matrix((tfidf_values(indptr, indices, counts, idf), indices, indptr),
                               shape=count_matrix.shape)
        out[writer] = {}
        for head, (c, threshold) in choices.items():
            labels = np.asarray([r[head] for r in rows])
            proba = logistic(c).fit(matrix[train], labels[train]).predict_proba(matrix[test])[:, 1]
            out[writer][head] = [round(v, 3) for v in prf(phrase[head][test] | (proba >= threshold), labels[test])]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", nargs="+", default=list(DEFAULT_DATA), help="PATH[=WRITER] ...")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()

    files = [data_file(spec) for spec in args.data]
    read = [(row, writer) for path, writer in files for row in read_replies(path)]
    rows = [row for row, _ in read]
    writers = np.asarray([writer for _, writer in read])
    texts = [r["text"] for r in rows]
    phrase_lists = PhraseLists.load([shipped_dir()])
    found = [phrase_lists.find(t) for t in texts]

    # one n-gram range for all heads: the lowest mean out-of-fold log loss at each head's best C
    searched = {}
    for config in CONFIGS:
        features = Features(texts, config)
        per_head = {}
        for head in HEADS:
            labels = np.asarray([r[head] for r in rows])
            losses = {c: log_loss(labels, out_of_fold(features, labels, c)) for c in C_GRID}
            per_head[head] = min(losses.items(), key=lambda item: item[1])
        mean = float(np.mean([loss for _, loss in per_head.values()]))
        print(f"n-grams {config.ngram_min}-{config.ngram_max}: mean log loss {mean:.4f} "
              + ", ".join(f"{h} C={c:g} {loss:.4f}" for h, (c, loss) in per_head.items()))
        searched[config] = (mean, features, per_head)
    config = min(searched, key=lambda k: searched[k][0])
    _, features, per_head = searched[config]

    idf, matrix = features.idf, features.matrix
    weights, biases, thresholds, report = [], [], [], {}
    phrases = {head: np.asarray([bool(f.get(head)) for f in found]) for head in HEADS}
    for head in HEADS:
        labels = np.asarray([r[head] for r in rows])
        phrase = phrases[head]
        c = per_head[head][0]
        proba = out_of_fold(features, labels, c)
        weight = negative_weight(labels, DEPLOYED_SHARE.get(head))
        threshold = best_threshold(proba, phrase, labels, weight)
        model = proba >= threshold
        report[head] = {"C": c, "threshold": round(threshold, 4), "positives": int(labels.sum()),
                        "negative_weight": round(weight, 3),
                        **{f"cv_{name}": [round(v, 3) for v in prf(predicted, labels)]
                           for name, predicted in (("phrases", phrase), ("model", model),
                                                   ("combined", phrase | model))}}
        if weight != 1.0:
            report[head]["cv_combined_weighted"] = [round(v, 3) for v in prf(phrase | model, labels, weight)]
        fitted = logistic(c).fit(matrix, labels)
        weights.append(fitted.coef_.ravel())
        biases.append(float(fitted.intercept_[0]))
        thresholds.append(threshold)

    choices = {head: (per_head[head][0], t) for head, t in zip(HEADS, thresholds)}
    provenance = {
        "data": "training/qa/: agent replies written and labelled for cs_rag by four writers",
        "licence": "the project's licence (written for this project)",
        "data_sha256": {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path, _ in files},
        "writers": {path.name: writer for path, writer in files},
        "rows": len(rows),
        "other_writer_precision_recall_f1": other_writer_check(rows, writers, config, phrases, choices),
        "seed": SEED,
        "folds": FOLDS,
        "threshold_rule": "max out-of-fold F1 of phrase hit or P >= threshold; impolite's "
                          f"negatives weighted as if impolite were {DEPLOYED_SHARE['impolite']:.0%} of replies",
        "heads": report,
        "weighting": "(1 + log count) * smoothed idf, L2 per text",
        "trainer": f"scikit-learn {sklearn.__version__} LogisticRegression(liblinear)",
    }
    models = ReplyModels(HEADS, np.vstack(weights), np.asarray(biases), np.asarray(thresholds),
                         idf, config, provenance)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    models.save(args.output)
    shipped = ReplyModels.load(args.output)
    drift = np.abs(shipped.predict_proba(texts)[:, 0] - 1 / (1 + np.exp(
        -(matrix @ weights[0] + biases[0])))).max()
    print(json.dumps(provenance, ensure_ascii=False, indent=1))
    print(f"wrote {args.output} ({args.output.stat().st_size / 1e6:.2f} MB); n-grams "
          f"{config.ngram_min}-{config.ngram_max}; max |p_shipped - p_fitted| (impolite) {drift:.2e}")


if __name__ == "__main__":
    main()
