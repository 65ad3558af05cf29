"""Train the offensive-language classifier cs_rag ships (src/cs_rag/data/guard/offensive.npz).

    python scripts/train_offensive.py [--data ../shared/data/cold/train.jsonl]

Only COLD's training split is used (thu-coai/COLDataset @ a0c55a9, Apache-2.0: the one guard
data set whose licence lets trained weights ship). 20% of it, drawn with a fixed seed, is
carved off and never trained on: the regularisation strength C is the one with the lowest log
loss there, and the threshold is the one with the highest F1 there. The shipped weights are
the model fitted on the other 80%, so the threshold belongs to exactly those weights. COLD's
dev split is left for benchmarks/guard.py. Needs scikit-learn (the `bench` extra); takes
about a minute on one core.
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
from sklearn.metrics import log_loss, precision_recall_curve

from cs_rag.guard.classifier import FeatureConfig, OffensiveClassifier, hashed_counts, tfidf_values

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "data" / "cold" / "train.jsonl"
OUTPUT = REPO / "src" / "cs_rag" / "data" / "guard" / "offensive.npz"
SEED = 0
CARVE_SHARE = 0.2
C_GRID = (1.0, 3.0, 10.0, 30.0, 100.0, 300.0)


def smooth_idf(counts: sp.csr_matrix) -> np.ndarray:
    """scikit-learn's smoothed idf: log((1 + n) / (1 + df)) + 1."""
    df = np.bincount(counts.indices, minlength=counts.shape[1])
    return np.log((1.0 + counts.shape[0]) / (1.0 + df)) + 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()

    raw = args.data.read_bytes()
    rows = [json.loads(line) for line in raw.decode("utf-8").splitlines() if line.strip()]
    texts = [r["text"] for r in rows]
    labels = np.asarray([r["label"] == "offensive" for r in rows], dtype=np.int64)

    config = FeatureConfig()
    indptr, indices, counts = hashed_counts(texts, config)
    order = np.random.default_rng(SEED).permutation(len(texts))
    n_carve = int(round(CARVE_SHARE * len(texts)))
    carve, train = np.sort(order[:n_carve]), np.sort(order[n_carve:])

    count_matrix = sp.csr_matrix((counts, indices, indptr), shape=(len(texts), config.n_features))
    idf = smooth_idf(count_matrix[train])
    features = sp.csr_matrix((tfidf_values(indptr, indices, counts, idf), indices, indptr),
                             shape=(len(texts), config.n_features))

    fits = []
    for c in C_GRID:
        model = LogisticRegression(C=c, solver="liblinear", max_iter=1000)
        model.fit(features[train], labels[train])
        proba = model.predict_proba(features[carve])[:, 1]
        loss = log_loss(labels[carve], proba)
        print(f"C={c:g}: carve log loss {loss:.4f}")
        fits.append((loss, c, model, proba))
    loss, c, model, proba = min(fits, key=lambda f: f[0])

    precision, recall, thresholds = precision_recall_curve(labels[carve], proba)
    f1 = 2 * precision[:-1] * recall[:-1] / np.maximum(precision[:-1] + recall[:-1], 1e-12)
    best = int(np.argmax(f1))
    threshold = float(thresholds[best])

    provenance = {
        "data": "COLD train split (thu-coai/COLDataset @ a0c55a9)",
        "licence": "Apache-2.0",
        "data_sha256": hashlib.sha256(raw).hexdigest(),
        "rows": len(rows),
        "trained_on": int(len(train)),
        "carved": int(len(carve)),
        "seed": SEED,
        "C": c,
        "threshold_rule": "max F1 on the carved 20%",
        "carve_log_loss": round(loss, 4),
        "carve_precision": round(float(precision[best]), 4),
        "carve_recall": round(float(recall[best]), 4),
        "carve_f1": round(float(f1[best]), 4),
        "weighting": "(1 + log count) * smoothed idf, L2 per text",
        "trainer": f"scikit-learn {sklearn.__version__} LogisticRegression(liblinear)",
    }
    classifier = OffensiveClassifier(model.coef_.ravel(), idf, float(model.intercept_[0]),
                                     threshold, config, provenance)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    classifier.save(args.output)

    # what ships is float32: check the saved file scores the carve as the fitted model did
    shipped = OffensiveClassifier.load(args.output)
    drift = np.abs(shipped.predict_proba([texts[i] for i in carve]) - proba).max()
    print(json.dumps(provenance, ensure_ascii=False, indent=1))
    print(f"wrote {args.output} ({args.output.stat().st_size / 1e6:.2f} MB); "
          f"max |p_shipped - p_fitted| on the carve {drift:.2e}")


if __name__ == "__main__":
    main()
