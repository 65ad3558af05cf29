"""The vectors the guard's message model reads on the answer path."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cs_rag.knowledge_base import KnowledgeBase
from cs_rag.models.embedding import Embedder


class GuardEncoder:
    """The knowledge base's own embedder as the guard's encoder (cs_rag.guard.core.TextEncoder),
    found when first used: without a fine-tune the question's vector is computed once for the
    retriever and the guard. A fine-tuned knowledge base's question vectors are another model's
    than the one the guard's message model was trained on, so the guard then gets the base
    model's vectors, computed apart (each question is embedded twice)."""

    def __init__(self, knowledge_base: KnowledgeBase) -> None:
        self._knowledge_base = knowledge_base
        self._base: Embedder | None = None   # the base model beside a fine-tune, kept across refits

    def base_embedder(self) -> Embedder:
        """The retriever's embedder without fine-tuned layers (itself when it has none)."""
        embedder = self._knowledge_base.retriever().embedder
        if embedder.tuned_layers is None:
            return embedder
        base = self._base
        if base is None:   # a refit keeps the model and its settings: one base serves every fit
            base = self._base = embedder.with_tuned(None)
        return base

    @property
    def name(self) -> str:
        return self.base_embedder().name

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.base_embedder().encode_queries(texts)
