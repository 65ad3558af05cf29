"""The vectors the guard's message model reads on the answer path."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cs_rag.knowledge_base import KnowledgeBase


class GuardEncoder:
    """The knowledge base's own embedder as the guard's encoder (cs_rag.guard.core.TextEncoder),
    found when used, so a refit's embedder serves at once. The guard's message model was trained
    on the base model's vectors: without a fine-tune the question's vector is computed once for
    the retriever and the guard; with one, the base and the tuned vector come from one pass
    (`Embedder.base_query_vectors`) and retrieval finds its vector cached."""

    def __init__(self, knowledge_base: KnowledgeBase) -> None:
        self._knowledge_base = knowledge_base

    @property
    def name(self) -> str:
        return self._knowledge_base.retriever().embedder.name

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._knowledge_base.retriever().embedder.base_query_vectors(texts)
