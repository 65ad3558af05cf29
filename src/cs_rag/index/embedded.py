"""The embedded backend: chunks in memory, dense vectors in faiss, BM25 as a sparse matrix.

One version folder holds (no pickle anywhere):
    manifest.json   format version, embedding model and dimension, tokenizer fingerprint,
                    and per document its content hash, kind, source and file
    chunks.jsonl    one Chunk per line, in ordinal order
    rows.jsonl      one line per match text: chunk ordinal, embedding key, tokens
    vectors.faiss   faiss.write_index of an IndexFlatIP over the rows
    bm25.npz        the BM25 weight matrix (CSC arrays) and IDFs; loaded with allow_pickle=False
    vocabulary.json BM25 term -> column
    adapter.npz     optional: the Adapter fitted on the FAQ's question groups
Rows are stored grouped by chunk, so a chunk's score is a max over a contiguous slice.
Stored vectors are the model's own (re-ingest reuses them); with an adapter, searches run over
their adapted copies, built at load, and queries are adapted the same way.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np
from pydantic import BaseModel
from scipy import sparse

from cs_rag.errors import IndexMismatchError, IndexStoreError
from cs_rag.index.base import ScoredChunk, SearchFilter, product_key
from cs_rag.index.bm25 import BM25Index
from cs_rag.models.adapter import Adapter
from cs_rag.types import Chunk, DocumentKind

FORMAT_VERSION = 2
ADAPTER_FILE = "adapter.npz"

# Searches are one query at a time: OpenMP's thread start-up costs more than a second core
# saves (measured at 100k rows: 25 ms with 2 threads, 8 with 1). The count belongs to the
# calling thread and is shared with torch, so each search sets it (models set theirs).
SEARCH_THREADS = 1


class DocumentRecord(BaseModel):
    """What the index remembers of a document to sync it on re-ingest."""

    content_hash: str
    kind: DocumentKind
    source: str
    file: str          # resolved path of the file it came from
    chunks: int


class Manifest(BaseModel):
    """Describes one index version; checked on load."""

    format_version: int = FORMAT_VERSION
    embedding_model: str
    dimension: int
    tokenizer_fingerprint: str
    created: str
    documents: dict[str, DocumentRecord]


@dataclass
class Row:
    """One match text: the chunk it belongs to, its embedding key and BM25 tokens."""

    chunk: int
    key: str
    tokens: list[str]


class EmbeddedIndex:
    """In-process index over chunks; see the module doc for what is persisted."""

    def __init__(self, manifest: Manifest, chunks: list[Chunk], rows: list[Row],
                 vectors: faiss.IndexFlatIP, bm25: BM25Index, adapter: Adapter | None = None) -> None:
        if vectors.ntotal != len(rows) or bm25.size != len(rows):
            raise IndexStoreError(f"index parts disagree: {len(rows)} rows, "
                                  f"{vectors.ntotal} vectors, {bm25.size} BM25 rows")
        if adapter is not None and adapter.dimension != vectors.d:
            raise IndexStoreError(f"adapter is {adapter.dimension}-dimensional, vectors {vectors.d}")
        self.manifest = manifest
        self.chunks = chunks
        self.rows = rows
        self._faiss = vectors
        self._bm25 = bm25
        self.adapter = adapter
        self._row_chunk = np.fromiter((r.chunk for r in rows), dtype=np.int64, count=len(rows))
        # first row of each chunk; every chunk has at least one row (its match texts)
        self._starts = np.searchsorted(self._row_chunk, np.arange(len(chunks)))
        self._ends = np.append(self._starts[1:], len(rows))
        self._dates_valid_from = _ordinal_dates([c.valid_from for c in chunks], default=0)
        self._dates_valid_to = _ordinal_dates([c.valid_to for c in chunks], default=2**31)
        # filter columns, so a filtered search costs array operations, not a pass over the chunks
        self._category_code, self._category_of = _codes([c.category for c in chunks])
        self._kind_code, self._kind_of = _codes([c.kind for c in chunks])
        self._no_product = np.fromiter((not c.products for c in chunks), dtype=bool, count=len(chunks))
        self._product_chunks = _chunks_by_product(chunks)
        self._search = self._search_space()

    @classmethod
    def build(cls, chunks: list[Chunk], rows: list[Row], vectors: np.ndarray, *,
              embedding_model: str, tokenizer_fingerprint: str,
              documents: dict[str, DocumentRecord], adapter: Adapter | None = None) -> "EmbeddedIndex":
        """Assemble an index from rows already grouped by chunk, with one vector per row."""
        dim = int(vectors.shape[1]) if vectors.ndim == 2 and vectors.shape[1] else 0
        flat = faiss.IndexFlatIP(dim)
        if len(rows):
            flat.add(np.ascontiguousarray(vectors, dtype=np.float32))
        manifest = Manifest(embedding_model=embedding_model, dimension=dim,
                            tokenizer_fingerprint=tokenizer_fingerprint,
                            created=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                            documents=documents)
        return cls(manifest, chunks, rows, flat, BM25Index.build([r.tokens for r in rows]), adapter)

    def with_adapter(self, adapter: Adapter | None) -> "EmbeddedIndex":
        """The same content searched through `adapter` (None: the model's own vectors)."""
        return EmbeddedIndex(self.manifest, self.chunks, self.rows, self._faiss, self._bm25, adapter)

    def question_groups(self) -> tuple[np.ndarray, np.ndarray]:
        """The stored vectors of FAQ questions (standard and similar, not answers) and, for
        each, the ordinal of its entry's chunk: what an Adapter is fitted on."""
        rows = np.flatnonzero(self._question_rows())
        return self.vectors[rows], self._row_chunk[rows]

    def _question_rows(self) -> np.ndarray:
        is_question = np.fromiter((c.kind is DocumentKind.FAQ and not c.answer_field for c in self.chunks),
                                  dtype=bool, count=len(self.chunks))
        return is_question[self._row_chunk]

    def faq_questions_only(self) -> bool:
        """Whether every row is an FAQ question (no document chunks, no answers as a field)."""
        return bool(self._question_rows().all())

    def _search_space(self) -> faiss.IndexFlatIP:
        """The vectors searches run over: the stored ones, or with an adapter their adapted copies."""
        if self.adapter is None:
            return self._faiss
        flat = faiss.IndexFlatIP(self._faiss.d)
        if len(self.rows):
            flat.add(self.adapter.apply(self.vectors))
        return flat

    # ---- persistence -------------------------------------------------------------------

    def save(self, folder: Path) -> None:
        """Write this index into an empty version folder."""
        (folder / "manifest.json").write_text(self.manifest.model_dump_json(indent=1),
                                              encoding="utf-8")
        with open(folder / "chunks.jsonl", "w", encoding="utf-8") as fh:
            for chunk in self.chunks:
                fh.write(chunk.model_dump_json(exclude_defaults=True) + "\n")
        with open(folder / "rows.jsonl", "w", encoding="utf-8") as fh:
            for row in self.rows:
                fh.write(json.dumps([row.chunk, row.key, row.tokens], ensure_ascii=False) + "\n")
        faiss.write_index(self._faiss, str(folder / "vectors.faiss"))
        w = self._bm25.weights
        np.savez(folder / "bm25.npz", data=w.data, indices=w.indices, indptr=w.indptr,
                 shape=np.asarray(w.shape, dtype=np.int64), idf=self._bm25.idf)
        (folder / "vocabulary.json").write_text(json.dumps(self._bm25.vocabulary,
                                                           ensure_ascii=False), encoding="utf-8")
        if self.adapter is not None:
            self.adapter.save(folder / ADAPTER_FILE)

    @classmethod
    def load(cls, folder: Path) -> "EmbeddedIndex":
        """Read a version folder; IndexMismatchError for another format version."""
        manifest = read_manifest(folder)
        try:
            with open(folder / "chunks.jsonl", encoding="utf-8") as fh:
                chunks = [Chunk.model_validate_json(line) for line in fh]
            with open(folder / "rows.jsonl", encoding="utf-8") as fh:
                rows = [Row(*json.loads(line)) for line in fh]
            vectors = faiss.read_index(str(folder / "vectors.faiss"))
            arrays = np.load(folder / "bm25.npz", allow_pickle=False)
            weights = sparse.csc_matrix((arrays["data"], arrays["indices"], arrays["indptr"]),
                                        shape=tuple(arrays["shape"]))
            vocabulary = json.loads((folder / "vocabulary.json").read_text(encoding="utf-8"))
            bm25 = BM25Index(vocabulary, weights, arrays["idf"])
            adapter = Adapter.load(folder / ADAPTER_FILE) if (folder / ADAPTER_FILE).is_file() else None
        except (OSError, ValueError, RuntimeError, KeyError) as exc:
            raise IndexStoreError(f"index at {folder} is unreadable: {exc}") from exc
        return cls(manifest, chunks, rows, vectors, bm25, adapter)

    # ---- the Index protocol -------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.chunks)

    def chunk(self, ordinal: int) -> Chunk:
        return self.chunks[ordinal]

    @property
    def vectors(self) -> np.ndarray:
        """(rows, dim) view of the stored vectors, the model's own (no copy)."""
        return _matrix(self._faiss)

    def dense_search(self, vector: np.ndarray, k: int,
                     where: SearchFilter | None = None) -> list[ScoredChunk]:
        return self._dense_top(self._query(vector), k, self._allowed(where))

    def keyword_search(self, tokens: Sequence[str], k: int,
                       where: SearchFilter | None = None) -> list[ScoredChunk]:
        if not self.rows:
            return []
        return self._keyword_top(self._bm25.scores(tokens), k, self._allowed(where))

    def candidates(self, vector: np.ndarray, tokens: Sequence[str], n: int,
                   where: SearchFilter | None = None) -> list[tuple[ScoredChunk, ScoredChunk]]:
        if not self.rows:
            return []
        allowed = self._allowed(where)
        row_bm25 = self._bm25.scores(tokens)
        query = self._query(vector)  # adapted once, for the proposals and the exact scores
        proposed = [s.ordinal for s in self._dense_top(query, n, allowed)]
        keyword = {s.ordinal: s for s in self._keyword_top(row_bm25, n, allowed)}
        dense_proposed = set(proposed)
        proposed += [o for o in keyword if o not in dense_proposed]
        vectors = _matrix(self._search)
        out = []
        for ordinal in proposed:  # every candidate's rows, exactly: best and runner-up
            own_rows = vectors[self._starts[ordinal]:self._ends[ordinal]]
            dense = self._best_row(ordinal, own_rows @ query, offset=False, runner_up=True)
            out.append((dense, keyword.get(ordinal) or self._best_row(ordinal, row_bm25)))
        return out

    def keyword_ceiling(self, tokens: Sequence[str]) -> float:
        return self._bm25.ceiling(tokens)

    def known_share(self, tokens: Sequence[str]) -> float:
        return self._bm25.known_share(tokens)

    def vocabulary(self) -> list[str]:
        return list(self._bm25.vocabulary)

    def term_weights(self, tokens: Sequence[str]) -> dict[str, float]:
        return self._bm25.term_weights(tokens)

    def document_chunks(self, doc_id: str) -> list[Chunk]:
        return [c for c in self.chunks if c.doc_id == doc_id]

    # ---- helpers -----------------------------------------------------------------------

    def _dense_top(self, query: np.ndarray, k: int, allowed: np.ndarray | None) -> list[ScoredChunk]:
        """The best k allowed chunks for a query already in the search space (see _query)."""
        n_rows = len(self.rows)
        if n_rows == 0 or k <= 0:
            return []
        query = np.ascontiguousarray(query).reshape(1, -1)
        params = None
        if allowed is not None:
            # faiss skips the rows of chunks the filter rejects, so every fetched row counts
            # (fetching nearest rows and dropping rejected ones searched the index again and
            # again when the filter kept few chunks)
            allowed_rows = allowed[self._row_chunk]
            n_rows = int(allowed_rows.sum())
            if n_rows == 0:
                return []
            bitmap = np.packbits(allowed_rows, bitorder="little")
            params = faiss.SearchParameters(sel=faiss.IDSelectorBitmap(len(allowed_rows), faiss.swig_ptr(bitmap)))
        fetch = min(n_rows, 4 * k + 32)
        faiss.omp_set_num_threads(SEARCH_THREADS)
        while True:  # fetch rows until k distinct allowed chunks are found or rows run out
            scores, row_ids = self._search.search(query, fetch, params=params)
            best: dict[int, ScoredChunk] = {}
            for score, row in zip(scores[0], row_ids[0]):
                if row < 0:
                    continue
                ordinal = int(self._row_chunk[row])
                if ordinal in best:
                    continue
                best[ordinal] = ScoredChunk(ordinal=ordinal, score=float(score),
                                            matched=int(row - self._starts[ordinal]))
            if len(best) >= k or fetch >= n_rows:
                return list(best.values())[:k]
            fetch = min(n_rows, fetch * 4)

    def _query(self, vector: np.ndarray) -> np.ndarray:
        """A query vector in the space searches run over (adapted when the index has an adapter)."""
        query = np.asarray(vector, dtype=np.float32).ravel()
        return self.adapter.apply(query) if self.adapter is not None else query

    def _keyword_top(self, row_scores: np.ndarray, k: int,
                     allowed: np.ndarray | None) -> list[ScoredChunk]:
        if k <= 0:
            return []
        chunk_scores = np.maximum.reduceat(row_scores, self._starts)
        if allowed is not None:
            chunk_scores = np.where(allowed, chunk_scores, 0.0)
        positive = np.flatnonzero(chunk_scores > 0)
        if positive.size > k:
            positive = positive[np.argpartition(-chunk_scores[positive], k - 1)[:k]]
        order = positive[np.argsort(-chunk_scores[positive], kind="stable")]
        return [self._best_row(int(o), row_scores) for o in order]

    def _best_row(self, ordinal: int, scores: np.ndarray, offset: bool = True,
                  runner_up: bool = False) -> ScoredChunk:
        local = scores[self._starts[ordinal]:self._ends[ordinal]] if offset else scores
        best = int(np.argmax(local))
        second = float(np.partition(local, -2)[-2]) if runner_up and local.size > 1 else None
        return ScoredChunk(ordinal=ordinal, score=float(local[best]), matched=best, runner_up=second)

    def _allowed(self, where: SearchFilter | None) -> np.ndarray | None:
        """Boolean mask over chunks, or None when everything passes."""
        where = where or SearchFilter()
        day = (where.valid_on or dt.date.today()).toordinal()
        mask = None
        if not where.include_expired:
            mask = (self._dates_valid_from <= day) & (self._dates_valid_to >= day)
        extras = []
        if where.categories is not None:
            extras.append(_isin(self._category_of, self._category_code, where.categories))
        if where.kinds is not None:
            extras.append(_isin(self._kind_of, self._kind_code, where.kinds))
        if where.products is not None:
            about = self._no_product.copy()
            for key in where.product_keys():
                about[self._product_chunks.get(key, [])] = True
            extras.append(about)
        for extra in extras:
            mask = extra if mask is None else mask & extra
        return None if mask is None or mask.all() else mask


def _codes(values: list) -> tuple[dict, np.ndarray]:
    """An integer code per distinct value, and each value's code."""
    code: dict = {}
    return code, np.fromiter((code.setdefault(v, len(code)) for v in values), dtype=np.int32,
                             count=len(values))


def _isin(codes_of: np.ndarray, code: dict, wanted: set) -> np.ndarray:
    return np.isin(codes_of, [code[v] for v in wanted if v in code])


def _chunks_by_product(chunks: list[Chunk]) -> dict[str, np.ndarray]:
    """Product key -> ordinals of the chunks about that product (SearchFilter.products)."""
    ordinals: dict[str, list[int]] = {}
    for ordinal, chunk in enumerate(chunks):
        for key in {product_key(p) for p in chunk.products}:
            ordinals.setdefault(key, []).append(ordinal)
    return {key: np.asarray(found, dtype=np.int64) for key, found in ordinals.items()}


def _matrix(flat: faiss.IndexFlatIP) -> np.ndarray:
    """(rows, dim) view of a flat faiss index's vectors (no copy)."""
    n, d = flat.ntotal, flat.d
    if n == 0:
        return np.zeros((0, d), dtype=np.float32)
    return faiss.rev_swig_ptr(flat.get_xb(), n * d).reshape(n, d)


def read_manifest(folder: Path) -> Manifest:
    """The manifest of a version folder; IndexMismatchError for another format version."""
    path = folder / "manifest.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexStoreError(f"{path} is missing or not JSON: {exc}") from exc
    version = raw.get("format_version")
    if version != FORMAT_VERSION:
        raise IndexMismatchError(f"{path}: index format version {version}, this cs_rag reads "
                                 f"version {FORMAT_VERSION}; re-ingest into a new index directory")
    return Manifest.model_validate(raw)


def _ordinal_dates(dates: list[dt.date | None], default: int) -> np.ndarray:
    return np.fromiter((d.toordinal() if d else default for d in dates), dtype=np.int64,
                       count=len(dates))
