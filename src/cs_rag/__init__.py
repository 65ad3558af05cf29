"""cs_rag: customer-service answers from a company's own knowledge, Chinese first."""

from .config import Fusion, Settings, load_settings
from .embedding import Embedder
from .errors import (ConfigError, CsRagError, EmbeddingError, IndexMismatchError,
                     IndexStoreError, InputError, LLMError)
from .guard import Guard, GuardResult, mask_pii
from .index.base import Index, SearchFilter
from .ingest.sources import collect_documents
from .knowledge_base import KnowledgeBase
from .llm import ChatModel
from .pipeline import Assistant
from .retrieve import HybridRetriever
from .text import Tokenizer, normalize
from .types import (Answer, Chunk, Citation, Customer, Document, DocumentKind, FaqEntry, Flag,
                    FlagKind, Hit, IngestReport, Outcome, Routing, Section, Turn)

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
