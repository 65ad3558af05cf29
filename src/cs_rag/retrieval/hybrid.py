"""Hybrid retrieval: BM25 and dense candidates, completed to both scores, fused, calibrated."""

from __future__ import annotations

import datetime as dt
import importlib.resources
import time
from pathlib import Path
from typing import NamedTuple
from zoneinfo import ZoneInfo

import numpy as np

from cs_rag.config import Fusion, RetrievalSettings
from cs_rag.errors import IndexMismatchError
from cs_rag.index.base import Index, ScoredChunk, SearchFilter
from cs_rag.models.e5_convert import E5_MODEL_NAME
from cs_rag.models.embedding import MINILM_MODEL_NAME, Embedder
from cs_rag.models.reader import EvidenceReader, evidence_text, hit_evidence
from cs_rag.models.rerank import CrossEncoderReranker, Reranker
from cs_rag.retrieval.confidence import FEATURES, Calibration
from cs_rag.retrieval.evidence import read_decision, withheld
from cs_rag.retrieval.handover import handover
from cs_rag.retrieval.near_miss import (
    names_in,
    near_miss_names,
    terms_unknown_to,
    uncovered_share,
)
from cs_rag.retrieval.query_repair import QueryRepair
from cs_rag.text import Tokenizer, plain
from cs_rag.types import Chunk, Decision, DocumentKind, Hit, Retrieval

# Confidence features compare a hit with its rivals among this many fused hits, whatever k the
# caller asks for, so a question's confidence does not depend on k.
FEATURE_DEPTH = 20
EXACT = FEATURES.index("exact")   # the hit's matched question is the query, worded the same
CHUNK_TOKEN_CACHE = 50_000  # chunks whose tokens a retriever keeps (for the `uncovered` feature)


class FusionDefaults(NamedTuple):
    dense_weight: float
    support_weight: float


# Chosen on probes carved from the knowledge (benchmarks/fusion_weights.py), never on a set's
# test questions: e5-small on ATEC and knowledge/; MiniLM on banking77 and StackFAQ-sim3 (the
# English sets, which "auto" embeds with it).
MODEL_DEFAULTS = {E5_MODEL_NAME: FusionDefaults(0.8, 0.0),
                  MINILM_MODEL_NAME: FusionDefaults(0.96, 0.5)}
OTHER_MODEL_DEFAULTS = FusionDefaults(0.8, 0.0)


def default_calibration() -> Calibration:
    """The calibration shipped with cs_rag (fitted on the sample knowledge's carved split)."""
    ref = importlib.resources.files("cs_rag") / "data" / "calibration.json"
    with importlib.resources.as_file(ref) as path:
        return Calibration.load(path)


class HybridRetriever:
    """Ranks an index's chunks for a query with both retrievers and says how sure it is.

    Candidates are the union of each retriever's top `candidates`; every candidate gets both
    scores (exactly, not a missing-means-zero guess) before fusion. An optional reranker
    re-orders the fused top `rerank_top_n`. Confidence comes from `calibration` (the index's
    own if it has one, else the shipped default).
    """

    def __init__(self, index: Index, tokenizer: Tokenizer, embedder: Embedder,
                 settings: RetrievalSettings | None = None,
                 calibration: Calibration | None = None,
                 reranker: Reranker | None = None) -> None:
        self.index = index
        self.tokenizer = tokenizer
        self.embedder = embedder
        self.settings = settings or RetrievalSettings()
        self.fusion = self.settings.fusion
        defaults = MODEL_DEFAULTS.get(embedder.name if embedder is not None else "", OTHER_MODEL_DEFAULTS)
        self.dense_weight = (defaults.dense_weight if self.settings.dense_weight is None
                             else self.settings.dense_weight)
        self.support_weight = (defaults.support_weight if self.settings.support_weight is None
                               else self.settings.support_weight)
        self.passage_dense_weight = (self.dense_weight if self.settings.passage_dense_weight is None
                                     else self.settings.passage_dense_weight)
        self._calibration = calibration
        self._tokens_of: dict[str, frozenset[str]] = {}
        self._repair: QueryRepair | None = None
        self._last_repair: tuple[str, str] = ("", "")
        self._unknown_names: tuple[tuple[str, ...], tuple[str, ...]] | None = None   # (extra names, unknown ones)
        if reranker is None and self.settings.rerank_model is not None:
            reranker = CrossEncoderReranker(self.settings.rerank_model)
        self.reranker = reranker
        self._reader: tuple[tuple[Path | None, str], EvidenceReader] | None = None   # ((model, precision), reader)

    @property
    def reader(self) -> EvidenceReader:
        """The evidence reader of `settings.reader_model` (the shipped one when unset)."""
        wanted = (self.settings.reader_model, self.settings.reader_precision)
        if self._reader is None or self._reader[0] != wanted:
            embedding = self.embedder.settings if self.embedder is not None else None
            cache, threads = (embedding.cache_dir, embedding.threads) if embedding else (None, 0)
            self._reader = (wanted, EvidenceReader(wanted[0], cache, wanted[1], threads))
        return self._reader[1]

    @property
    def calibration(self) -> Calibration:
        if self._calibration is None:
            self._calibration = default_calibration()
        if tuple(self._calibration.features) != FEATURES:
            raise IndexMismatchError(f"calibration uses features {self._calibration.features}, this "
                                     f"cs_rag computes {list(FEATURES)}; re-ingest to refit it")
        return self._calibration

    def today(self) -> dt.date:
        """The date validity is checked on: today in `settings.timezone` (unset: local time)."""
        zone = self.settings.timezone
        return dt.datetime.now(ZoneInfo(zone)).date() if zone else dt.date.today()

    def warm_up(self) -> None:
        """Loads what a question needs (the query's embedding model; the evidence reader when
        on) before the first customer waits for it."""
        self.rank("你好", k=1)
        if self.settings.evidence_reader:
            self.reader.scores("你好", [evidence_text(None, "你好")])

    def search(self, query: str, k: int = 10, where: SearchFilter | None = None) -> list[Hit]:
        """Ranked hits, best first (the evidence reader never runs: nothing is decided)."""
        return self.retrieve(query, k=k, where=where, read_evidence=False).hits

    def retrieve(self, query: str, k: int = 10, where: SearchFilter | None = None,
                 vector: np.ndarray | None = None, *, read_evidence: bool = True) -> Retrieval:
        """Hits with calibrated confidence and a decision (answer / clarify / none).

        `vector` skips embedding the query when the caller already has its vector.
        `read_evidence=False` skips the evidence reader for a caller that uses the hits only."""
        started = time.perf_counter()
        hits, features, timings = self.rank(query, k=k, where=where, vector=vector)
        query = self.repaired(query)
        if not hits:
            return Retrieval(query=query, hits=[], timings_ms=timings)
        mark = time.perf_counter()
        p_top1 = self.calibration.top1.predict(features)
        p_top3 = float(self.calibration.top3.predict(features[:1])[0])
        for hit, p in zip(hits, p_top1):
            hit.confidence = float(p)
        options = distinct_documents(hits, 3)
        decision = self.calibration.decide(float(p_top1[0]), p_top3, len(options), self.settings)
        unknown = self.unknown_names(query) if self.settings.near_miss_names else []
        if unknown and decision is Decision.ANSWER:   # about something the knowledge never names
            decision = withheld(options)
        reading = None
        if read_evidence and self.settings.evidence_reader:   # does the text say what was asked?
            reading = read_decision(decision, options, self._read_hits(query), self.settings,
                                    names_unknown=bool(unknown), as_written=bool(features[0][EXACT]))
            decision = reading.decision
        timings["decide"] = _ms(mark)
        timings["total"] = _ms(started)
        return Retrieval(query=query, hits=hits, confidence=float(p_top1[0]), decision=decision,
                         options=options if decision is Decision.CLARIFY else [],
                         timings_ms=timings, unknown_names=unknown,
                         evidence_score=reading.score if reading else None,
                         evidence_verdict=reading.verdict if reading else None)

    def evidence_score(self, query: str, hit: Hit) -> float | None:
        """The evidence reader's score (0-1) that `hit`'s text answers `query`; None when
        `settings.evidence_reader` is off."""
        if not self.settings.evidence_reader:
            return None
        return float(self._read_hits(query)([hit])[0])

    def _read_hits(self, query: str):
        """A reader of hits' texts against `query` (for `read_decision`)."""
        return lambda hits: self.reader.scores(query, [hit_evidence(hit) for hit in hits])

    def unknown_names(self, query: str) -> list[str]:
        """The names of other platforms, events and services in `query` (the shipped
        near_miss_names and `settings.near_miss_extra_names`) that this index never mentions."""
        extra = tuple(self.settings.near_miss_extra_names)
        if self._unknown_names is None or self._unknown_names[0] != extra:
            names = (*near_miss_names(), *extra)
            self._unknown_names = (extra, tuple(terms_unknown_to(self.index.term_weights, self.tokenizer, names)))
        return names_in(query, self._unknown_names[1])

    def rank(self, query: str, k: int = 10, where: SearchFilter | None = None,
             vector: np.ndarray | None = None) -> tuple[list[Hit], np.ndarray, dict[str, float]]:
        """Fused ranking without calibration: hits, their confidence features, stage timings."""
        timings: dict[str, float] = {}
        if len(self.index) == 0 or not query.strip():
            return [], np.zeros((0, len(FEATURES))), timings
        mark = time.perf_counter()
        query = self.repaired(query)
        timings["repair"] = _ms(mark)
        mark = time.perf_counter()
        tokens = self.tokenizer.tokenize(query)
        timings["tokenize"] = _ms(mark)
        mark = time.perf_counter()
        if vector is None:
            vector = self.embedder.encode_query(query)
        timings["embed"] = _ms(mark)
        mark = time.perf_counter()
        if where is None or not (where.valid_on or where.include_expired):
            where = (where or SearchFilter()).model_copy(update={"valid_on": self.today()})
        pairs = self.index.candidates(vector, tokens, max(self.settings.candidates, k), where)
        timings["search"] = _ms(mark)
        mark = time.perf_counter()
        if not pairs:
            return [], np.zeros((0, len(FEATURES))), timings
        dense_scores = np.array([dense.score for dense, _ in pairs])
        bm25_scores = np.array([bm25.score for _, bm25 in pairs])
        chunks = [self.index.chunk(dense.ordinal) for dense, _ in pairs]
        passage = np.array([c.kind is not DocumentKind.FAQ for c in chunks])
        fused = self._fuse(self._supported([d for d, _ in pairs]) + self.settings.passage_offset * passage,
                           bm25_scores, passage)
        depth = max(k, FEATURE_DEPTH, self.settings.rerank_top_n if self.reranker else 0)
        hits, entries, hit_tokens = [], set(), {}
        for i in np.argsort(-fused, kind="stable"):
            chunk = chunks[i]
            if chunk.kind is DocumentKind.FAQ:  # an entry once, by its better field
                if chunk.doc_id in entries:
                    continue
                entries.add(chunk.doc_id)
            hit = self._hit(chunk, float(fused[i]), *pairs[i])
            hit_tokens[hit.id] = self._chunk_tokens(chunk)
            hits.append(hit)
            if len(hits) == depth:
                break
        timings["fuse"] = _ms(mark)
        if self.reranker is not None:
            mark = time.perf_counter()
            hits = self.reranker.rerank(query, hits, self.settings.rerank_top_n)
            timings["rerank"] = _ms(mark)
        offset = self.settings.passage_offset
        ranked = hits[:max(k, FEATURE_DEPTH)]
        weights = self.index.term_weights(tokens)   # one lookup gives the BM25 scale and known share
        ceiling = sum(weights[t] for t in tokens if t in weights)
        known_share = sum(t in weights for t in tokens) / len(tokens) if tokens else 0.0
        uncovered = [uncovered_share(tokens, hit_tokens[hit.id], weights) for hit in ranked]
        taker = handover(ranked, uncovered) if self.settings.document_handover else None
        if taker is not None:   # the entry sent the reader to this document for the detail asked
            hits.insert(0, hits.pop(taker))
            uncovered.insert(0, uncovered.pop(taker))
            ranked = hits[:max(k, FEATURE_DEPTH)]
        features = _features(query, ranked, dense_scores + offset * passage, bm25_scores, ceiling,
                             known_share, uncovered, offset)
        return hits[:k], features[:k], timings

    def repaired(self, query: str) -> str:
        """The query with customers' misspellings in the knowledge's words (query_repair.py);
        unchanged when `settings.repair_query` is off."""
        if not self.settings.repair_query:
            return query
        if self._last_repair[0] == query:
            return self._last_repair[1]
        if self._repair is None:
            self._repair = QueryRepair(self.index.vocabulary(), self.tokenizer)
        repaired = self._repair.repair(query)
        self._last_repair = (query, repaired)
        return repaired

    def _chunk_tokens(self, chunk: Chunk) -> frozenset[str]:
        """Every token of a chunk's match texts, headings and text (cached per chunk)."""
        found = self._tokens_of.get(chunk.id)
        if found is None:
            if len(self._tokens_of) >= CHUNK_TOKEN_CACHE:
                self._tokens_of.clear()
            text = "\n".join([*chunk.match_texts, *chunk.heading_path, chunk.text])
            found = self._tokens_of[chunk.id] = frozenset(self.tokenizer.tokenize(text))
        return found

    def _supported(self, dense: list[ScoredChunk]) -> np.ndarray:
        """Dense scores with the runner-up match text's support (see support_weight)."""
        w = self.support_weight
        return np.array([s.score if w == 0 or s.runner_up is None else (s.score + w * s.runner_up) / (1 + w)
                         for s in dense])

    def _fuse(self, dense: np.ndarray, bm25: np.ndarray, passage: np.ndarray) -> np.ndarray:
        if self.fusion is Fusion.RRF:
            return _rrf(dense, self.settings.rrf_k) + _rrf(bm25, self.settings.rrf_k)
        w = np.where(passage, self.passage_dense_weight, self.dense_weight)
        scale = _zscore if self.fusion is Fusion.ZSCORE else _minmax
        return w * scale(dense) + (1 - w) * scale(bm25)

    def _hit(self, chunk: Chunk, score: float, dense: ScoredChunk, bm25: ScoredChunk) -> Hit:
        # an FAQ entry matched on its answer is still the entry: same id, the answer as matched text
        return Hit(id=chunk.doc_id if chunk.answer_field else chunk.id, doc_id=chunk.doc_id,
                   score=score, source=chunk.source,
                   kind=chunk.kind, text=chunk.text, question=chunk.question,
                   heading_path=chunk.heading_path, category=chunk.category,
                   products=chunk.products, valid_from=chunk.valid_from, valid_to=chunk.valid_to,
                   matched_text=chunk.match_texts[dense.matched],
                   scores={"dense": dense.score, "bm25": bm25.score})


def _features(query: str, hits: list[Hit], all_dense: np.ndarray, all_bm25: np.ndarray,
              ceiling: float, known_share: float, uncovered: list[float],
              passage_offset: float = 0.0) -> np.ndarray:
    """One row of FEATURES per hit; each compares the hit with the best hit of another
    document, and its cosine with the median candidate's."""
    if not hits:
        return np.zeros((0, len(FEATURES)))
    best_dense, best_bm25 = float(all_dense.max()), float(all_bm25.max())
    typical_dense = float(np.median(all_dense))
    plain_query = plain(query)

    def cosine(hit: Hit) -> float:
        return hit.scores["dense"] + (passage_offset if hit.kind is not DocumentKind.FAQ else 0.0)

    rows = []
    for i, hit in enumerate(hits):
        others = [h for h in hits if h.doc_id != hit.doc_id]
        dense, bm25 = cosine(hit), hit.scores["bm25"]
        # no other document among the rivals: compare with the typical candidate instead
        rival_dense = max((cosine(h) for h in others), default=typical_dense)
        rival_fused = max((h.score for h in others), default=0.0)
        rows.append([
            dense,
            dense - rival_dense,
            dense - typical_dense,
            bm25 / ceiling if ceiling > 0 else 0.0,
            known_share,
            hit.score - rival_fused,
            float(dense >= best_dense and bm25 >= best_bm25),
            float(bool(plain_query) and plain(hit.matched_text or "") == plain_query),
            uncovered[i],
        ])
    return np.asarray(rows, dtype=np.float64)


def distinct_documents(hits: list[Hit], limit: int) -> list[Hit]:
    """The first `limit` hits from distinct documents (the options a clarifying question offers)."""
    seen: set[str] = set()
    out = []
    for hit in hits:
        if hit.doc_id not in seen:
            seen.add(hit.doc_id)
            out.append(hit)
        if len(out) == limit:
            break
    return out


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 3)


def _minmax(scores: np.ndarray) -> np.ndarray:
    if scores.size == 0:
        return scores
    low, high = float(scores.min()), float(scores.max())
    if high - low < 1e-12:
        return np.ones_like(scores) if high > 0 else np.zeros_like(scores)
    return (scores - low) / (high - low)


def _zscore(scores: np.ndarray) -> np.ndarray:
    spread = float(scores.std()) if scores.size else 0.0
    if spread < 1e-12:
        return np.zeros_like(scores)
    return (scores - scores.mean()) / spread


def _rrf(scores: np.ndarray, k: int) -> np.ndarray:
    ranks = np.empty(scores.size, dtype=np.float64)
    ranks[np.argsort(-scores, kind="stable")] = np.arange(1, scores.size + 1)
    return 1.0 / (k + ranks)
