"""cs_rag: customer-service answers from a company's own knowledge, Chinese first."""

from cs_rag.answering.assistant import Assistant
from cs_rag.answering.llm.openai_compatible import ChatModel
from cs_rag.config import Fusion, Settings, load_settings
from cs_rag.errors import (
                     ConfigError,
                     CsRagError,
                     EmbeddingError,
                     IndexMismatchError,
                     IndexStoreError,
                     InputError,
                     LLMError,
)
from cs_rag.guard import Guard, GuardResult, mask_pii
from cs_rag.index.base import Index, SearchFilter
from cs_rag.ingest.sources import collect_documents
from cs_rag.knowledge_base import KnowledgeBase
from cs_rag.models.embedding import Embedder
from cs_rag.retrieval.hybrid import HybridRetriever
from cs_rag.text import Tokenizer, normalize
from cs_rag.types import (
                     Answer,
                     Chunk,
                     Citation,
                     Customer,
                     Document,
                     DocumentKind,
                     FaqEntry,
                     Flag,
                     FlagKind,
                     Hit,
                     IngestReport,
                     Outcome,
                     Routing,
                     Section,
                     Turn,
)

__version__ = "0.1.0"

__all__ = [
    "Answer",
    "Assistant",
    "ChatModel",
    "Chunk",
    "Citation",
    "ConfigError",
    "CsRagError",
    "Customer",
    "Document",
    "DocumentKind",
    "Embedder",
    "EmbeddingError",
    "FaqEntry",
    "Flag",
    "FlagKind",
    "Fusion",
    "Guard",
    "GuardResult",
    "Hit",
    "HybridRetriever",
    "Index",
    "IndexMismatchError",
    "IndexStoreError",
    "IngestReport",
    "InputError",
    "KnowledgeBase",
    "LLMError",
    "Outcome",
    "Routing",
    "SearchFilter",
    "Section",
    "Settings",
    "Tokenizer",
    "Turn",
    "collect_documents",
    "load_settings",
    "mask_pii",
    "normalize",
]
