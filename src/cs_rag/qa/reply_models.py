"""Learned readings of agent replies (impolite, empathy, greeting, closing); numpy only.

One file, `cs_rag/data/qa/replies.npz` (trained by `scripts/train_qa_language.py`), holds one
logistic head per reading over shared features: the guard classifier's hashed character
n-grams with TF-IDF weights (`cs_rag.guard.classifier`, the one place those features are
built), so a batch of replies is featurised once for all heads. Each head carries the threshold
chosen for it by cross-validation on the training replies; a reply *has* a reading when its
probability reaches that threshold. The rules use a head beside its phrase list: a phrase hit
is evidence on its own, the head adds what the list misses.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cs_rag.guard.classifier import FeatureConfig, hashed_counts, tfidf_values
from cs_rag.reading import load_data_file

FORMAT_VERSION = 1
HEADS = ("impolite", "empathy", "greeting", "closing")


class ReplyModels:
    """P(reading) per agent reply for each head in `heads`, and each head's threshold.

    `weights` has one row per head, `biases` and `thresholds` one value per head; `idf` and
    `config` are the features all heads share; `provenance` says what the heads were trained on.
    """

    def __init__(self, heads: Sequence[str], weights: np.ndarray, biases: np.ndarray,
                 thresholds: np.ndarray, idf: np.ndarray, config: FeatureConfig, provenance: dict) -> None:
        heads = tuple(heads)
        unknown = sorted(set(heads) - set(HEADS))
        if unknown or len(set(heads)) != len(heads):
            raise ValueError(f"heads must be distinct names of {HEADS}, got {heads}")
        if weights.shape != (len(heads), config.n_features) or idf.shape != (config.n_features,):
            raise ValueError(f"weights must have shape ({len(heads)}, {config.n_features}) and idf "
                             f"({config.n_features},), got {weights.shape} and {idf.shape}")
        if biases.shape != (len(heads),) or thresholds.shape != (len(heads),):
            raise ValueError(f"need one bias and one threshold per head, got {biases.shape} and {thresholds.shape}")
        if not np.all((thresholds > 0.0) & (thresholds < 1.0)):
            raise ValueError(f"thresholds must be in (0, 1), got {thresholds.tolist()}")
        self.heads = heads
        self.weights = weights.astype(np.float64)
        self.biases = biases.astype(np.float64)
        self.thresholds = thresholds.astype(np.float64)
        self.idf = idf.astype(np.float64)
        self.config = config
        self.provenance = dict(provenance)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """P(reading), shape (len(texts), len(heads)); deterministic."""
        if not texts:
            return np.zeros((0, len(self.heads)))
        indptr, indices, counts = hashed_counts(texts, self.config)
        values = tfidf_values(indptr, indices, counts, self.idf)
        logits = np.zeros((len(texts), len(self.heads)))
        row_of = np.repeat(np.arange(len(texts)), np.diff(indptr))
        for h in range(len(self.heads)):
            logits[:, h] = np.bincount(row_of, weights=values * self.weights[h, indices],
                                       minlength=len(texts))
        return 1.0 / (1.0 + np.exp(-(logits + self.biases)))

    def read(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """Per text, the heads whose probability reaches their threshold, with that probability."""
        proba = self.predict_proba(texts)
        return [{head: float(p[h]) for h, head in enumerate(self.heads) if p[h] >= self.thresholds[h]}
                for p in proba]

    def save(self, path: Path) -> None:
        """Write heads, weights, biases, thresholds, idf, feature config and provenance (no pickle)."""
        np.savez_compressed(
            path, format_version=np.int64(FORMAT_VERSION), heads=np.array(self.heads, dtype=np.str_),
            weights=self.weights.astype(np.float32), biases=self.biases, thresholds=self.thresholds,
            idf=self.idf.astype(np.float32), ngram_min=np.int64(self.config.ngram_min),
            ngram_max=np.int64(self.config.ngram_max), n_features=np.int64(self.config.n_features),
            provenance=np.str_(json.dumps(self.provenance, ensure_ascii=False, sort_keys=True)))

    @classmethod
    def load(cls, path: Path) -> ReplyModels:
        """Read what `save` wrote (allow_pickle=False); ValueError naming the file on another
        format version."""
        with np.load(path, allow_pickle=False) as data:
            version = int(data["format_version"])
            if version != FORMAT_VERSION:
                raise ValueError(f"{path}: reply model format {version}, this cs_rag reads {FORMAT_VERSION}")
            config = FeatureConfig(int(data["ngram_min"]), int(data["ngram_max"]), int(data["n_features"]))
            return cls([str(h) for h in data["heads"]], data["weights"], data["biases"], data["thresholds"],
                       data["idf"], config, json.loads(str(data["provenance"])))


def load_reply_models(path: Path | None = None) -> ReplyModels | None:
    """The shipped reply models (or those at `path`); None when the file does not exist."""
    return load_data_file("qa/replies.npz", ReplyModels.load, path)
