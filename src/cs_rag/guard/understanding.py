"""The learned reading of a customer's message: emotion, level and question type; numpy only.

Each head is a softmax over one linear function of the character n-grams of
`cs_rag.guard.classifier` (hashed, tf-idf weighted, L2-normalised), the lexicon and shape cues
of `cs_rag.guard.cues` and, for a model trained with them, the text's sentence embedding (the
normalised query vector of the model `params["embedding_model"]` names). Two models ship, both
written by `scripts/train_understanding.py` (what they were trained on: docs/emotion.md), no
pickle anywhere: `understanding.npz` (n-grams and cues) and `understanding_e5.npz` (the same
and the embedded default e5 model's vectors, used where cs_rag computes those anyway). Heads:

    emotion        none, dissatisfied, angry, disappointed
    level          0, 1, 2, 3
    question_type  inquiry, howto, fault, complaint, suggestion
"""

from __future__ import annotations

import importlib.resources
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from cs_rag.guard.classifier import (
    FeatureConfig,
    gram_buckets,
    hashed_counts,
    tfidf_values,
)
from cs_rag.guard.cues import CUE_NAMES

FORMAT_VERSION = 1
HEADS: dict[str, tuple[str, ...]] = {
    "emotion": ("none", "dissatisfied", "angry", "disappointed"),
    "level": ("0", "1", "2", "3"),
    "question_type": ("inquiry", "howto", "fault", "complaint", "suggestion"),
}
FILE_NAME = "understanding.npz"
EMBEDDING_FILE_NAME = "understanding_e5.npz"


@dataclass(frozen=True)
class Head:
    """One softmax head: logits = ngram features @ ngram + cues @ cues [+ vectors @ embedding] + bias."""

    classes: tuple[str, ...]
    ngram: np.ndarray    # (n_features, n_classes)
    cues: np.ndarray     # (len(CUE_NAMES), n_classes)
    bias: np.ndarray     # (n_classes,)
    embedding: np.ndarray | None = None   # (embedding dimension, n_classes)


class MessageModel:
    """Probabilities per head for a batch of messages, and where in a text a head's answer lies.

    `params` holds the decision settings chosen with the weights (e.g. `negative_threshold`:
    a message is negative when P(negative) reaches it; `embedding_model`: the name of the
    embedding model whose vectors it reads, absent for an n-gram-only model); `provenance`
    says how it was trained.
    """

    def __init__(self, idf: np.ndarray, heads: dict[str, Head], config: FeatureConfig,
                 params: dict, provenance: dict) -> None:
        if idf.shape != (config.n_features,):
            raise ValueError(f"idf must have shape ({config.n_features},), got {idf.shape}")
        if set(heads) != set(HEADS):
            raise ValueError(f"heads must be {sorted(HEADS)}, got {sorted(heads)}")
        for name, head in heads.items():
            width = len(HEADS[name])
            if head.classes != HEADS[name] or head.ngram.shape != (config.n_features, width) \
                    or head.cues.shape != (len(CUE_NAMES), width) or head.bias.shape != (width,) \
                    or (head.embedding is None) != ("embedding_model" not in params) \
                    or (head.embedding is not None and head.embedding.shape[1] != width):
                raise ValueError(f"head {name}: classes or weight shapes do not match")
        self.idf = idf.astype(np.float64)
        self.heads = heads
        self.config = config
        self.params = dict(params)
        self.provenance = dict(provenance)

    @property
    def embedding_model(self) -> str | None:
        """The embedding model whose vectors the heads read; None for an n-gram-only model."""
        return self.params.get("embedding_model")

    def features(self, texts: Sequence[str]) -> sp.csr_matrix:
        """The n-gram feature rows of `texts`, (len(texts), n_features)."""
        indptr, indices, counts = hashed_counts(texts, self.config)
        values = tfidf_values(indptr, indices, counts, self.idf)
        return sp.csr_matrix((values, indices, indptr), shape=(len(texts), self.config.n_features))

    def probabilities(self, texts: Sequence[str], cue_rows: np.ndarray,
                      vectors: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """{head: (len(texts), n_classes) probabilities}; `cue_rows` is (len(texts),
        len(CUE_NAMES)); `vectors` (len(texts), dimension) the texts' embeddings, required
        exactly when the model reads them (ValueError otherwise)."""
        if (vectors is None) != (self.embedding_model is None):
            raise ValueError(f"this model reads {self.embedding_model or 'no'} embeddings; "
                             f"got {'none' if vectors is None else 'some'}")
        rows = self.features(texts)
        out = {}
        for name, head in self.heads.items():
            logits = np.asarray(rows @ head.ngram) + cue_rows @ head.cues + head.bias
            if head.embedding is not None:
                logits = logits + vectors @ head.embedding
            logits -= logits.max(axis=1, keepdims=True)
            exp = np.exp(logits)
            out[name] = exp / exp.sum(axis=1, keepdims=True)
        return out

    def char_scores(self, normal: str, head: str, towards: str, away: str) -> np.ndarray:
        """Per character of `normal` (a normalised text), how much its n-grams push `head`
        towards class `towards` rather than `away`: each n-gram's share of the logit
        difference, spread evenly over its characters."""
        weights = self.heads[head]
        column = weights.ngram[:, weights.classes.index(towards)] \
            - weights.ngram[:, weights.classes.index(away)]
        spans = gram_buckets(normal, self.config)
        if not spans:
            return np.zeros(len(normal))
        starts, ends, buckets = (np.asarray(part) for part in zip(*spans))
        unique, inverse, counts = np.unique(buckets, return_inverse=True, return_counts=True)
        values = (1.0 + np.log(counts)) * self.idf[unique]          # as tfidf_values weighs them
        values /= max(float(np.sqrt(values @ values)), 1e-12)
        share = values[inverse] * column[buckets] / counts[inverse] / (ends - starts)
        spread = np.zeros(len(normal) + 1)       # each n-gram's share on each of its characters
        np.add.at(spread, starts, share)
        np.add.at(spread, ends, -share)
        return np.cumsum(spread)[:-1]

    def save(self, path: Path) -> None:
        """Write every array and setting (np.savez_compressed; no pickle). Only the n-gram rows
        some class uses are stored."""
        arrays: dict[str, np.ndarray] = {}
        for name, head in self.heads.items():
            used = np.flatnonzero(np.any(head.ngram != 0, axis=1))
            arrays[f"{name}_buckets"] = used.astype(np.int64)
            arrays[f"{name}_ngram"] = head.ngram[used].astype(np.float32)
            arrays[f"{name}_cues"] = head.cues.astype(np.float64)
            arrays[f"{name}_bias"] = head.bias.astype(np.float64)
            if head.embedding is not None:
                arrays[f"{name}_embedding"] = head.embedding.astype(np.float32)
        np.savez_compressed(
            path, format_version=np.int64(FORMAT_VERSION), idf=self.idf.astype(np.float32),
            ngram_min=np.int64(self.config.ngram_min), ngram_max=np.int64(self.config.ngram_max),
            n_features=np.int64(self.config.n_features),
            cue_names=np.str_(json.dumps(list(CUE_NAMES))),
            params=np.str_(json.dumps(self.params, sort_keys=True)),
            provenance=np.str_(json.dumps(self.provenance, ensure_ascii=False, sort_keys=True)),
            **arrays)

    @classmethod
    def load(cls, path: Path) -> MessageModel:
        """Read what `save` wrote (allow_pickle=False); ValueError naming the file when its
        format version or cue names differ from this cs_rag's."""
        with np.load(path, allow_pickle=False) as data:
            version = int(data["format_version"])
            if version != FORMAT_VERSION:
                raise ValueError(f"{path}: model format {version}, this cs_rag reads {FORMAT_VERSION}")
            if tuple(json.loads(str(data["cue_names"]))) != CUE_NAMES:
                raise ValueError(f"{path}: trained with other cues than this cs_rag computes; retrain it")
            config = FeatureConfig(int(data["ngram_min"]), int(data["ngram_max"]), int(data["n_features"]))
            heads = {}
            for name, classes in HEADS.items():
                ngram = np.zeros((config.n_features, len(classes)), dtype=np.float64)
                ngram[data[f"{name}_buckets"]] = data[f"{name}_ngram"]
                embedding = data.get(f"{name}_embedding")
                heads[name] = Head(classes, ngram, data[f"{name}_cues"], data[f"{name}_bias"],
                                   None if embedding is None else embedding.astype(np.float64))
            return cls(data["idf"], heads, config, json.loads(str(data["params"])),
                       json.loads(str(data["provenance"])))


def load_message_model(path: Path | None = None, *, embeddings: bool = False) -> MessageModel | None:
    """The shipped model (with `embeddings`, the one that also reads e5 vectors) or the one at
    `path`; None when the file does not exist."""
    if path is not None:
        return MessageModel.load(path) if path.is_file() else None
    name = EMBEDDING_FILE_NAME if embeddings else FILE_NAME
    ref = importlib.resources.files("cs_rag") / "data" / "guard" / name
    if not ref.is_file():
        return None
    with importlib.resources.as_file(ref) as shipped:
        return MessageModel.load(shipped)

