"""Offensive-language classifier: hashed character n-grams, TF-IDF, logistic weights; numpy only.

The weights ship as `cs_rag/data/guard/offensive.npz` (trained by `scripts/train_offensive.py`
on COLD's training split, Apache-2.0). Features are built here and nowhere else, so training
and the runtime can never disagree: character n-grams of `cs_rag.text.normalize(text)` hashed
with CRC-32 (stable across processes, unlike Python's salted `hash`) into `n_features`
buckets, weighted `(1 + log count) * idf` and L2-normalised per text.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cs_rag.reading import load_data_file
from cs_rag.text import normalize

FORMAT_VERSION = 1


@dataclass(frozen=True)
class FeatureConfig:
    """How texts become feature vectors; persisted with the weights that depend on it."""

    ngram_min: int = 1
    ngram_max: int = 3
    n_features: int = 2 ** 18

    def __post_init__(self) -> None:
        if not 1 <= self.ngram_min <= self.ngram_max:
            raise ValueError(f"need 1 <= ngram_min <= ngram_max, got {self.ngram_min}, {self.ngram_max}")
        if self.n_features < 1:
            raise ValueError(f"n_features must be positive, got {self.n_features}")


def hashed_counts(texts: Sequence[str], config: FeatureConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """N-gram counts per text as CSR parts `(indptr, indices, counts)`.

    Row `i` is `indices[indptr[i]:indptr[i+1]]` (sorted, unique buckets) with their counts.
    Texts are normalised first; an empty text gives an empty row.
    """
    rows: list[int] = []
    hashes: list[int] = []
    for row, text in enumerate(texts):
        grams = [zlib.crc32(gram.encode("utf-8")) for _, gram in _grams(normalize(text), config)]
        hashes.extend(grams)
        rows.extend([row] * len(grams))
    # one sort for the whole batch: key = row * n_features + bucket
    keys = (np.asarray(rows, dtype=np.int64) * config.n_features
            + np.asarray(hashes, dtype=np.int64) % config.n_features)
    unique, counts = np.unique(keys, return_counts=True)
    indptr = np.searchsorted(unique // config.n_features, np.arange(len(texts) + 1)).astype(np.int64)
    return indptr, unique % config.n_features, counts.astype(np.float64)


def gram_buckets(normal: str, config: FeatureConfig) -> list[tuple[int, int, int]]:
    """(start, end, bucket) of every n-gram of an already normalised text, as `hashed_counts`
    counts them."""
    return [(start, start + len(gram), zlib.crc32(gram.encode("utf-8")) % config.n_features)
            for start, gram in _grams(normal, config)]


def _grams(chars: str, config: FeatureConfig) -> list[tuple[int, str]]:
    return [(start, chars[start:start + n]) for n in range(config.ngram_min, config.ngram_max + 1)
            for start in range(len(chars) - n + 1)]


def tfidf_values(indptr: np.ndarray, indices: np.ndarray, counts: np.ndarray,
                 idf: np.ndarray) -> np.ndarray:
    """Values for the CSR parts of `hashed_counts`: (1 + log count) * idf, L2-normalised per row."""
    values = (1.0 + np.log(counts)) * idf[indices]
    row_of = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    norms = np.sqrt(np.bincount(row_of, weights=values * values, minlength=len(indptr) - 1))
    return values / np.maximum(norms[row_of], 1e-12)


def threshold_for_share(scores: Sequence[float], max_share: float) -> float:
    """The lowest threshold at which at most `max_share` of `scores` are >= it.

    Used to set an operating point on ordinary traffic: with `max_share` 0.01 and scores of 1000
    ordinary questions, at most 10 of them reach the threshold. Ties at the cut stay below it.
    """
    if not scores:
        raise ValueError("need at least one score")
    if not 0.0 <= max_share < 1.0:
        raise ValueError(f"max_share must be in [0, 1), got {max_share}")
    ordered = np.sort(np.asarray(scores, dtype=np.float64))[::-1]
    allowed = int(np.floor(max_share * len(ordered) + 1e-9))
    return float(np.nextafter(ordered[allowed], np.inf))


class OffensiveClassifier:
    """P(offensive) for short texts, and the decision threshold chosen with the weights.

    A text is offensive when `predict_proba` >= `threshold`, the operating threshold the guard
    uses; `provenance` says how it was chosen. The shipped model's is the customer-service
    threshold (`scripts/calibrate_offensive.py`: at most 1% of the knowledge base's own FAQ
    questions flagged), never below `provenance["carve_threshold"]`, the max-F1 threshold on a
    carve of COLD train the weights never saw (where offensive text is common, so it flags too
    many ordinary questions).
    """

    def __init__(self, weights: np.ndarray, idf: np.ndarray, bias: float, threshold: float,
                 config: FeatureConfig, provenance: dict) -> None:
        if weights.shape != (config.n_features,) or idf.shape != (config.n_features,):
            raise ValueError(f"weights and idf must both have shape ({config.n_features},), "
                             f"got {weights.shape} and {idf.shape}")
        if not 0.0 < threshold < 1.0:
            raise ValueError(f"threshold must be in (0, 1), got {threshold}")
        self.weights = weights.astype(np.float64)
        self.idf = idf.astype(np.float64)
        self.bias = float(bias)
        self.threshold = float(threshold)
        self.config = config
        self.provenance = dict(provenance)

    def decision_function(self, texts: Sequence[str]) -> np.ndarray:
        """Logits, one per text (float64)."""
        indptr, indices, counts = hashed_counts(texts, self.config)
        values = tfidf_values(indptr, indices, counts, self.idf)
        row_of = np.repeat(np.arange(len(texts)), np.diff(indptr))
        return np.bincount(row_of, weights=values * self.weights[indices],
                           minlength=len(texts)) + self.bias

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """P(offensive) per text, shape (len(texts),); deterministic."""
        return 1.0 / (1.0 + np.exp(-self.decision_function(texts)))

    def save(self, path: Path) -> None:
        """Write weights, idf, bias, threshold, feature config and provenance (no pickle)."""
        np.savez_compressed(
            path, format_version=np.int64(FORMAT_VERSION),
            weights=self.weights.astype(np.float32), idf=self.idf.astype(np.float32),
            bias=np.float64(self.bias), threshold=np.float64(self.threshold),
            ngram_min=np.int64(self.config.ngram_min), ngram_max=np.int64(self.config.ngram_max),
            n_features=np.int64(self.config.n_features),
            provenance=np.str_(json.dumps(self.provenance, ensure_ascii=False, sort_keys=True)))

    @classmethod
    def load(cls, path: Path) -> OffensiveClassifier:
        """Read what `save` wrote (with allow_pickle=False); ValueError on another format version."""
        with np.load(path, allow_pickle=False) as data:
            version = int(data["format_version"])
            if version != FORMAT_VERSION:
                raise ValueError(f"{path}: classifier format {version}, this cs_rag reads {FORMAT_VERSION}")
            config = FeatureConfig(int(data["ngram_min"]), int(data["ngram_max"]), int(data["n_features"]))
            return cls(data["weights"], data["idf"], float(data["bias"]), float(data["threshold"]),
                       config, json.loads(str(data["provenance"])))


def load_offensive_classifier(path: Path | None = None) -> OffensiveClassifier | None:
    """The shipped classifier (or the one at `path`); None when the file does not exist."""
    return load_data_file("guard/offensive.npz", OffensiveClassifier.load, path)
