"""cs_rag: customer-service answers from a company's own knowledge, Chinese first."""

from .config import Settings, load_settings
from .embedding import Embedder
from .errors import (ConfigError, CsRagError, EmbeddingError, IndexMismatchError,
                     IndexStoreError, InputError)
from .guard import Guard, GuardResult, mask_pii
from .index.base import Index, SearchFilter
from .ingest.sources import collect_documents
from .knowledge_base import KnowledgeBase
from .retrieve import Fusion, HybridRetriever
from .text import Tokenizer, normalize
from .types import Chunk, Document, DocumentKind, FaqEntry, Hit, IngestReport, Section

__version__ = "0.1.0"

__all__ = [
    "Chunk",
    "ConfigError",
    "CsRagError",
    "Document",
    "DocumentKind",
    "Embedder",
    "EmbeddingError",
    "FaqEntry",
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
    "SearchFilter",
    "Section",
    "Settings",
    "Tokenizer",
    "collect_documents",
    "load_settings",
    "mask_pii",
    "normalize",
]
