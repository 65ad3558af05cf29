"""The vectors the guard's message model reads on the answer path."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cs_rag.knowledge_base import KnowledgeBase
from cs_rag.models.embedding import Embedder


class GuardEncoder:
    """The knowledge base's own embedder as the guard's encoder (cs_rag.guard.core.TextEncoder),
    found when first used: the question's vector is then computed once for both. A fine-tuned
    knowledge base's question vectors are another model's than the one the guard's message model
    was trained on, so the guard then gets the base model's vectors, computed apart."""

    def __init__(self, knowledge_base: KnowledgeBase) -> None:
        self._knowledge_base = knowledge_base
        self._untuned: tuple[Embedder, Embedder] | None = None   # (the retriever's, its base)

    def embedder(self) -> Embedder:
        """The retriever's embedder without fine-tuned layers (itself when it has none)."""
        embedder = self._knowledge_base.retriever().embedder
        if embedder.tuned_layers is None:
            return embedder
        if self._untuned is None or self._untuned[0] is not embedder:   # refits make a new one
            self._untuned = (embedder, embedder.with_tuned(None))
        return self._untuned[1]

    @property
    def name(self) -> str:
        return self.embedder().name

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.embedder().encode_queries(texts)
