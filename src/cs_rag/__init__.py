"""cs_rag: customer-service answers from a company's own knowledge, Chinese first."""

from cs_rag.answering.assistant import Assistant
from cs_rag.answering.llm.openai_compatible import ChatModel
from cs_rag.config import CompanySettings, Fusion, MemberLevel, Settings, load_settings
from cs_rag.errors import (ConfigError, CsRagError, DatabaseUnavailableError, E5ConversionError,
                           EmbeddingError, ExtensionMissingError, IndexMismatchError,
                           IndexStoreError, InputError, LLMError, LLMFailure, MissingExtraError,
                           ReviewConflict, ReviewDecisionError, SchemaVersionError, UnknownEntryError)
from cs_rag.guard import Guard, GuardResult, mask_pii
from cs_rag.index.base import Index, SearchFilter
from cs_rag.index.store import Store, Version
from cs_rag.ingest.sources import collect_documents
from cs_rag.knowledge_base import KnowledgeBase
from cs_rag.models.embedding import Embedder
from cs_rag.retrieval.hybrid import HybridRetriever
from cs_rag.text import Tokenizer, normalize
from cs_rag.types import (Answer, Chunk, Citation, Customer, Document, DocumentKind, FaqEntry,
                          Flag, FlagKind, Hit, IngestReport, Outcome, Routing, Section, Turn)

__version__ = "0.1.0"

__all__ = [
    "Answer",
    "Assistant",
    "ChatModel",
    "Chunk",
    "Citation",
    "CompanySettings",
    "ConfigError",
    "CsRagError",
    "Customer",
    "DatabaseUnavailableError",
    "Document",
    "DocumentKind",
    "E5ConversionError",
    "Embedder",
    "EmbeddingError",
    "ExtensionMissingError",
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
    "LLMFailure",
    "MemberLevel",
    "MissingExtraError",
    "Outcome",
    "ReviewConflict",
    "ReviewDecisionError",
    "Routing",
    "SchemaVersionError",
    "SearchFilter",
    "Section",
    "Settings",
    "Store",
    "Tokenizer",
    "Turn",
    "UnknownEntryError",
    "Version",
    "collect_documents",
    "load_settings",
    "mask_pii",
    "normalize",
]
