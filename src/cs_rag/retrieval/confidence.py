"""Calibrated confidence: features of a ranked list -> P(the top hit answers the question).

Features are chosen to mean the same in a 100-entry and a 100,000-entry knowledge base:
raw cosine similarity and how far it stands above the other candidates, BM25 divided by the
query's own IDF mass, the share of query words the knowledge uses at all, gaps to the
runner-up from another document, agreement of the two retrievers, and the IDF-weighted share of
the question's words the hit does not contain (near misses: see near_miss.py). Two logistic models share them:
`p_top1` (the first hit is right) and `p_top3` (a right hit is among the first three, used
to offer a clarifying choice). Coefficients persist as JSON.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from cs_rag.config import RetrievalSettings
from cs_rag.types import Decision

# retrieval settings applied after confidence: changing one needs no refit
DECISION_SETTINGS = {"answer_confidence", "clarify_confidence", "near_miss_names", "near_miss_extra_names",
                     "evidence_reader", "reader_threshold", "reader_refuse_threshold",
                     "reader_promote_threshold", "reader_model", "reader_precision"}
FEATURES = ("dense", "dense_gap", "dense_contrast", "bm25_coverage", "known_share", "fused_gap",
            "agree", "exact", "uncovered")


class LogisticModel(BaseModel):
    """P(y=1 | x) = sigmoid(intercept + coef . standardised(x))."""

    coef: list[float]
    intercept: float
    mean: list[float]
    scale: list[float]

    def predict(self, x: np.ndarray) -> np.ndarray:
        z = (np.atleast_2d(x) - np.asarray(self.mean)) / np.asarray(self.scale)
        return 1.0 / (1.0 + np.exp(-(z @ np.asarray(self.coef) + self.intercept)))

    def shifted(self, log_odds: float) -> "LogisticModel":
        """The same model with every prediction's log-odds moved by `log_odds`: the ranking of
        predictions is unchanged, the base rate they imply is not."""
        return self.model_copy(update={"intercept": self.intercept + log_odds})

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, l2: float = 1.0, iterations: int = 50) -> "LogisticModel":
        """L2-regularised logistic regression by Newton's method (few features, exact)."""
        mean, scale = x.mean(axis=0), x.std(axis=0)
        scale[scale < 1e-9] = 1.0
        z = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
        w = np.zeros(z.shape[1])
        penalty = np.full(z.shape[1], l2)
        penalty[-1] = 0.0  # the intercept is not shrunk
        for _ in range(iterations):
            p = 1.0 / (1.0 + np.exp(-(z @ w)))
            gradient = z.T @ (p - y) + penalty * w
            hessian = (z * (p * (1 - p))[:, None]).T @ z + np.diag(penalty)
            step = np.linalg.solve(hessian, gradient)
            w -= step
            if np.abs(step).max() < 1e-8:
                break
        return cls(coef=w[:-1].tolist(), intercept=float(w[-1]), mean=mean.tolist(),
                   scale=scale.tolist())


class Calibration(BaseModel):
    """Confidence models fitted on labelled (carved) questions; decisions use them with the
    band edges of RetrievalSettings."""

    features: list[str] = Field(default_factory=lambda: list(FEATURES))
    top1: LogisticModel
    top3: LogisticModel
    fitted_on: str = ""
    samples: int = 0
    # the embedding model whose scores it was fitted on: the features are that model's cosines,
    # so another model's scores give other probabilities ("" in files saved before it was recorded)
    embedding_model: str = ""
    # the share of out-of-scope questions confidence assumes (None in files saved before it was
    # recorded: then it is the carve's own mix)
    out_of_scope_share: float | None = None
    # the retrieval settings (JSON) it was fitted under: features and fusion depend on them
    # (None in files saved before they were recorded)
    fitted_settings: dict | None = None

    def fitted_under(self, settings: RetrievalSettings) -> bool:
        """Whether it was fitted under these retrieval settings, those that only act on the
        decision (DECISION_SETTINGS) aside (a file saved before settings were recorded is taken
        as fitted under whatever it is used with)."""
        if self.fitted_settings is None:
            return True
        fitted = {k: v for k, v in self.fitted_settings.items() if k not in DECISION_SETTINGS}
        return fitted == settings.model_dump(mode="json", exclude=DECISION_SETTINGS)

    @staticmethod
    def decide(p_top1: float, p_top3: float, distinct_options: int, settings: RetrievalSettings) -> Decision:
        """The band a question falls in (see RetrievalSettings.answer_confidence)."""
        if p_top1 >= settings.answer_confidence:
            return Decision.ANSWER
        if p_top3 >= settings.clarify_confidence and distinct_options >= 2:
            return Decision.CLARIFY
        return Decision.NONE

    def save(self, path: Path) -> None:
        path.write_text(self.model_dump_json(indent=1), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> "Calibration":
        return cls.model_validate(json.loads(path.read_text(encoding="utf-8")))
