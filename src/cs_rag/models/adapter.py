"""A linear map, fitted on an FAQ's own question groups, that pulls paraphrases together.

An embedding model is trained on general text; an FAQ says which of its questions mean the same
thing (an entry's standard and similar questions). `fit_adapter` learns M = I + W (d x d) such
that, after x -> normalise(x M), each question is nearer its entry's other questions than other
entries' questions: a multi-positive InfoNCE loss at temperature TEMPERATURE with an L2 penalty
on W, full-batch Adam from W = 0 (deterministic). The index maps its stored vectors and every
query with it, so scores stay cosines. The recipe (EPOCHS, LEARNING_RATE, TEMPERATURE, PENALTY)
was chosen on held-out similar questions (5-fold) of banking77, StackFAQ-sim3 and knowledge/
(a throwaway script; figures in benchmarks/README.md), never on a set's test questions.

An ingest fits one only for knowledge made of FAQ entries alone: with policy chunks beside them
(knowledge/), adapted question cosines outgrow the passages' and the policy questions of eval/
fell from R@1 .353 to .088.

Persisted as `adapter.npz` by the embedded index (the matrix only; loaded with
allow_pickle=False) and as text (`to_text`, base64 float32) in the PostgreSQL backend's meta.
"""

from __future__ import annotations

import base64
import json
import random
from pathlib import Path

import numpy as np

MIN_GROUPS = 30        # entries with two or more questions; fewer teach the map noise
# ... and at least this share of all entries: a map learned on a few entries' paraphrases moved
# the rest off (ATEC: 115 of 8,399 entries, R@1 .152 -> .142), so it is not fitted there.
MIN_GROUP_SHARE = 0.5
MAX_GROUPS = 1500      # entries whose questions are anchors; bounds the fit on large FAQs
MAX_CONTRAST = 6000    # question vectors every anchor is contrasted with (positives included)
EPOCHS = 100
LEARNING_RATE = 1e-3
TEMPERATURE = 0.1
PENALTY = 1e-3


class Adapter:
    """x -> normalise(x @ matrix), row-wise, for L2-normalised float32 vectors."""

    def __init__(self, matrix: np.ndarray) -> None:
        matrix = np.asarray(matrix, dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
            raise ValueError(f"an adapter matrix is square, got shape {matrix.shape}")
        self.matrix = matrix

    @property
    def dimension(self) -> int:
        return int(self.matrix.shape[0])

    def apply(self, vectors: np.ndarray) -> np.ndarray:
        """The mapped, re-normalised vectors; a single vector stays one-dimensional."""
        x = np.asarray(vectors, dtype=np.float32)
        mapped = np.atleast_2d(x) @ self.matrix
        mapped /= np.maximum(np.linalg.norm(mapped, axis=1, keepdims=True), 1e-12)
        return mapped.reshape(x.shape) if x.ndim == 1 else mapped

    def save(self, path: Path) -> None:
        with open(path, "wb") as fh:
            np.savez(fh, matrix=self.matrix)

    def to_text(self) -> str:
        """The matrix as JSON text: its dimension and base64 of little-endian float32, row-major."""
        data = base64.b64encode(self.matrix.astype("<f4").tobytes()).decode("ascii")
        return json.dumps({"dimension": self.dimension, "float32_le": data})

    @classmethod
    def from_text(cls, text: str) -> "Adapter":
        """The inverse of to_text; ValueError if the text is not one."""
        try:
            record = json.loads(text)
            d = int(record["dimension"])
            values = np.frombuffer(base64.b64decode(record["float32_le"], validate=True), dtype="<f4")
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"not an adapter: {exc}") from None
        if values.size != d * d:
            raise ValueError(f"not an adapter: {values.size} values for dimension {d}")
        return cls(values.reshape(d, d))

    @classmethod
    def load(cls, path: Path) -> "Adapter":
        with np.load(path, allow_pickle=False) as arrays:
            return cls(arrays["matrix"])


def fit_adapter(vectors: np.ndarray, groups: np.ndarray, seed: int = 0, min_groups: int = MIN_GROUPS,
                min_share: float = MIN_GROUP_SHARE) -> Adapter | None:
    """An Adapter from question vectors and their entry (`groups[i]` is vector i's entry), or
    None when fewer than `min_groups` entries, or `min_share` of all, have two or more questions."""
    import torch

    groups = np.asarray(groups)
    if len(vectors) == 0:
        return None
    labels, sizes = np.unique(groups, return_counts=True)
    multi = labels[sizes >= 2]
    if multi.size < max(1, min_groups) or multi.size < min_share * sizes.size:
        return None
    rng = random.Random(seed)
    anchor_groups = set(rng.sample(sorted(multi.tolist()), min(MAX_GROUPS, multi.size)))
    is_anchor = np.fromiter((g in anchor_groups for g in groups), dtype=bool, count=len(groups))
    anchors = np.flatnonzero(is_anchor)
    others = np.flatnonzero(~is_anchor)
    room = max(0, MAX_CONTRAST - anchors.size)
    if others.size > room:
        others = np.sort(np.asarray(rng.sample(others.tolist(), room), dtype=np.int64))
    contrast = np.concatenate([anchors, others])  # anchors first: anchor i is contrast row i
    x = torch.from_numpy(np.ascontiguousarray(vectors[contrast], dtype=np.float32))
    owner = torch.from_numpy(groups[contrast])
    n_anchor = anchors.size
    same = owner[:n_anchor, None] == owner[None, :]
    same[torch.arange(n_anchor), torch.arange(n_anchor)] = False
    self_match = torch.zeros_like(same)
    self_match[torch.arange(n_anchor), torch.arange(n_anchor)] = True
    w = torch.zeros(x.shape[1], x.shape[1], requires_grad=True)
    optimiser = torch.optim.Adam([w], lr=LEARNING_RATE)
    for _ in range(EPOCHS):
        z = torch.nn.functional.normalize(x + x @ w, dim=1)
        logits = (z[:n_anchor] @ z.T / TEMPERATURE).masked_fill(self_match, -1e4)
        positive = logits.masked_fill(~same, -1e4)
        loss = (torch.logsumexp(logits, 1) - torch.logsumexp(positive, 1)).mean() + PENALTY * (w ** 2).sum()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return Adapter(np.eye(x.shape[1], dtype=np.float32) + w.detach().numpy())
