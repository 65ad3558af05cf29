"""LangChain: `CsRagRetriever`, a BaseRetriever over a cs_rag knowledge base (extra `langchain`)."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from cs_rag.extras import require

require("langchain_core", "langchain", "cs_rag's LangChain retriever")

# after the extra is checked
from langchain_core.callbacks import (  # noqa: E402
    AsyncCallbackManagerForRetrieverRun,
    CallbackManagerForRetrieverRun,
)
from langchain_core.documents import Document  # noqa: E402
from langchain_core.retrievers import BaseRetriever  # noqa: E402
from pydantic import Field, model_validator  # noqa: E402

from cs_rag.config import Settings  # noqa: E402
from cs_rag.index.base import SearchFilter  # noqa: E402
from cs_rag.knowledge_base import KnowledgeBase  # noqa: E402
from cs_rag.retrieval.records import records  # noqa: E402
from cs_rag.types import DocumentKind  # noqa: E402


class CsRagRetriever(BaseRetriever):
    """cs_rag's hybrid retrieval as LangChain Documents, best first.

    Built from an index directory (`CsRagRetriever(index="my-index")`, with optional
    `settings`) or a `KnowledgeBase` (`knowledge_base=kb`), one of the two. A Document's
    `page_content` is an FAQ answer or a chunk's text; its `id` is the entry or chunk id; its
    `metadata` is that of `cs_rag.retrieval.records.Record` (id, source, category, kind,
    title, heading_path, products, validity, `score`: the calibrated probability that it
    answers the query, never rising down the list). `k` (also an `invoke` keyword), the
    filters (as `SearchFilter`: categories, products, kinds, valid_on) and `score_threshold`
    are fields. `ainvoke` runs the search on a worker thread.
    """

    index: Path | None = None
    settings: Settings | None = Field(default=None, exclude=True)
    knowledge_base: KnowledgeBase | None = Field(default=None, exclude=True)
    k: int = Field(default=4, ge=1, le=50)
    categories: list[str] | None = None
    products: list[str] | None = None
    kinds: list[DocumentKind] | None = None
    valid_on: dt.date | None = None
    score_threshold: float = Field(default=0.0, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _open(self) -> "CsRagRetriever":
        if (self.index is None) == (self.knowledge_base is None):
            raise ValueError("give either index (an index directory) or knowledge_base")
        if self.knowledge_base is None:
            self.knowledge_base = KnowledgeBase(self.index, self.settings)
            if not self.knowledge_base.exists:
                raise ValueError(f"index: {self.index} holds no index; build it with "
                                 f"`cs-rag ingest PATH --index {self.index}`")
        return self

    def search_filter(self) -> SearchFilter | None:
        """The filter fields as a SearchFilter; None when none is set."""
        if not (self.categories or self.products or self.kinds or self.valid_on):
            return None
        return SearchFilter(categories=set(self.categories) if self.categories else None,
                            products=set(self.products) if self.products else None,
                            kinds=set(self.kinds) if self.kinds else None, valid_on=self.valid_on)

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun,
                                k: int | None = None) -> list[Document]:
        return self._documents(query, k)

    async def _aget_relevant_documents(self, query: str, *,
                                       run_manager: AsyncCallbackManagerForRetrieverRun,
                                       k: int | None = None) -> list[Document]:
        # LangChain's default would run the sync search too, but would drop the `k` keyword
        return await asyncio.to_thread(self._documents, query, k)

    def _documents(self, query: str, k: int | None) -> list[Document]:
        if k is not None and (isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 50):
            raise ValueError(f"k: {k!r} is not a whole number from 1 to 50")
        found = self.knowledge_base.retrieve(query, k=k or self.k, where=self.search_filter(),
                                             read_evidence=False)
        return [Document(page_content=r.content, metadata=r.metadata, id=r.metadata["id"])
                for r in records(found) if r.score >= self.score_threshold]
