"""Cross-encoder rerank stage: rescores the top hits of a retrieval against the query."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

from cs_rag.errors import EmbeddingError
from cs_rag.models.embedding import LazyModel, offline
from cs_rag.types import DocumentKind, Hit


@runtime_checkable
class Reranker(Protocol):
    """Rescores (query, hit) pairs; returns hits re-ordered best first, each hit's `scores["rerank"]` set.

    Only the first `top_n` hits are rescored and re-ordered; the rest follow in their input
    order. Inputs are never mutated, `Hit.score` (the fused score) is left as it is, and equal
    rerank scores keep their input order.
    """

    def rerank(self, query: str, hits: list[Hit], top_n: int) -> list[Hit]: ...


class CrossEncoderReranker:
    """A sentence-transformers CrossEncoder from a local folder, loaded offline on first use.

    A hit is scored on its matched FAQ question, or for documents on its heading path + text;
    the model truncates each pair to `max_length` tokens. A folder that cannot be loaded
    raises EmbeddingError naming it, at the first rerank that needs the model.
    """

    def __init__(self, model_dir: str | Path, *, batch_size: int = 32, max_length: int = 256) -> None:
        self.model_dir = Path(model_dir).expanduser()
        self.batch_size = batch_size
        self.max_length = max_length
        self._model = LazyModel(self._build)

    def rerank(self, query: str, hits: list[Hit], top_n: int = 20) -> list[Hit]:
        """The first `top_n` hits best first by `scores["rerank"]` (stable), then the rest unchanged."""
        head, tail = hits[:max(top_n, 0)], hits[max(top_n, 0):]
        if not head:
            return list(hits)
        scores = self._score(query, [_pair_text(hit) for hit in head])
        order = sorted(range(len(head)), key=lambda i: -scores[i])  # sorted() is stable: ties keep input order
        reranked = [head[i].model_copy(update={"scores": {**head[i].scores, "rerank": scores[i]}})
                    for i in order]
        return reranked + list(tail)

    def _score(self, query: str, texts: list[str]) -> list[float]:
        model = self._model.get()
        scores = model.predict([(query, text) for text in texts], batch_size=self.batch_size,
                               show_progress_bar=False, convert_to_numpy=True)
        return [float(s) for s in scores]

    def _build(self):
        offline()
        # A missing folder would otherwise be taken for a hub model id and fail obscurely.
        if not self.model_dir.is_dir():
            raise EmbeddingError(f"cannot load cross-encoder from {self.model_dir}: not a folder")
        from sentence_transformers import CrossEncoder

        try:
            model = CrossEncoder(str(self.model_dir), device="cpu", max_length=self.max_length,
                                 local_files_only=True)
        except Exception as exc:  # ST raises OSError/ValueError/... for a bad folder
            raise EmbeddingError(f"cannot load cross-encoder from {self.model_dir}: {exc}") from exc
        model.eval()
        return model


def _pair_text(hit: Hit) -> str:
    if hit.kind is DocumentKind.FAQ:
        # The answer is not what the customer asked about; the question that matched is.
        return hit.matched_text or hit.question or hit.text
    return "\n".join([*hit.heading_path, hit.text])
