"""Fit a knowledge base's confidence on questions carved from its own FAQ entries.

No labelled questions are needed: for FAQ entries with at least two questions, some entries
are held out entirely (their questions become out-of-scope queries) and the rest lose one
similar question (which becomes an in-scope query). The index without the held-out texts
is searched with the held-out texts' stored vectors (FAQ questions are embedded in the same
query role as customer questions, so only near-miss probes are embedded), and the two
logistic models are fitted on what comes back.

One carve of a small knowledge base is a noisy sample: on `knowledge/`, calibrations fitted on
single carves (seeds 0, 1, 2) refused .744, .564 and .590 of `eval/`'s out-of-scope questions.
So several carves with different seeds are pooled (CARVE_SEEDS), until MAX_ENTRIES probes.

Held-out entries are same-domain questions on other topics. Off-topic questions (weather,
homework, chit-chat) look different, so a shipped background set of them
(`data/background_questions.txt`, no overlap with any evaluation set) joins the out-of-scope
side. So do near misses: in-scope probes with their most telling word swapped for one the
knowledge never uses ("退款多久到账" -> "话费充值多久到账"; see near_miss.py), which share
the knowledge's words and topic but ask what it does not answer.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

from cs_rag.config import RetrievalSettings
from cs_rag.reading import shipped_lines
from cs_rag.index.embedded import EmbeddedIndex, Row
from cs_rag.models.adapter import fit_adapter
from cs_rag.models.embedding import Embedder
from cs_rag.retrieval.confidence import Calibration, LogisticModel
from cs_rag.retrieval.hybrid import HybridRetriever, distinct_documents
from cs_rag.retrieval.near_miss import near_miss_terms, swap_salient_term, terms_unknown_to
from cs_rag.text import Tokenizer
from cs_rag.types import DocumentKind

MIN_ENTRIES = 30          # below this a fit is noise: the shipped default is used instead
OUT_OF_SCOPE_SHARE = 0.3  # share of eligible entries held out entirely
MAX_ENTRIES = 3000        # enough for six features; bounds ingest time on large bases
CARVE_SEEDS = 3            # carves pooled into one fit (fewer once MAX_ENTRIES probes are reached)
NEAR_MISS_PROBES = 100     # per carve: each is embedded at ingest, so this bounds the cost


@dataclass
class CarvedQuestion:
    text: str
    vector: np.ndarray
    gold: str | None  # doc id, or None when out of scope


def carve(index: EmbeddedIndex, seed: int = 0) -> tuple[EmbeddedIndex, list[CarvedQuestion]]:
    """The index minus held-out texts, and the held-out texts as labelled questions. An index
    with an adapter gives a sub-index with its own adapter, fitted on what is left."""
    eligible = [o for o, c in enumerate(index.chunks)
                if c.kind is DocumentKind.FAQ and not c.answer_field and len(c.match_texts) >= 2]
    rng = random.Random(seed)
    rng.shuffle(eligible)
    eligible = eligible[:MAX_ENTRIES]
    n_out = int(len(eligible) * OUT_OF_SCOPE_SHARE)
    dropped_chunks = set(eligible[:n_out])
    dropped_last_row = set(eligible[n_out:])
    vectors = index.vectors
    rows_by_chunk: dict[int, list[int]] = {}
    for r, row in enumerate(index.rows):
        rows_by_chunk.setdefault(row.chunk, []).append(r)
    questions: list[CarvedQuestion] = []
    chunks, rows, keep_vectors = [], [], []
    held_out_docs = {index.chunks[o].doc_id for o in dropped_chunks}
    for ordinal, chunk in enumerate(index.chunks):
        row_ids = rows_by_chunk[ordinal]
        if ordinal in dropped_chunks:
            questions.append(CarvedQuestion(chunk.match_texts[-1], vectors[row_ids[-1]], None))
            continue
        if chunk.answer_field and chunk.doc_id in held_out_docs:
            continue  # a held-out entry leaves the index whole, answer included
        if ordinal in dropped_last_row:
            questions.append(CarvedQuestion(chunk.match_texts[-1], vectors[row_ids[-1]], chunk.doc_id))
            row_ids = row_ids[:-1]
            chunk = chunk.model_copy(update={"match_texts": chunk.match_texts[:-1]})
        new_ordinal = len(chunks)
        chunks.append(chunk)
        for r in row_ids:
            rows.append(Row(new_ordinal, index.rows[r].key, index.rows[r].tokens))
            keep_vectors.append(r)
    sub = EmbeddedIndex.build(chunks, rows, vectors[keep_vectors], embedding_model=index.manifest.embedding_model,
                              tokenizer_fingerprint=index.manifest.tokenizer_fingerprint, documents={})
    if index.adapter is not None:  # refitted without the held-out texts, which it must not have seen
        sub = sub.with_adapter(fit_adapter(*sub.question_groups(), min_groups=1, min_share=0))
    return sub, questions


def background_questions() -> list[str]:
    """The shipped off-topic questions (one a line, `#` comments)."""
    return shipped_lines("background_questions.txt")


def fit_calibration(index: EmbeddedIndex, tokenizer: Tokenizer, embedder: Embedder,
                    settings: RetrievalSettings, seeds: int = CARVE_SEEDS) -> Calibration | None:
    """A Calibration fitted on this index's carved questions (pooled over `seeds` carves) plus
    the background questions and near misses, or None if it has too few FAQ entries with similar questions
    (fewer than MIN_ENTRIES)."""
    background = background_questions()
    background_vectors = None
    features, top1, top3, in_scope = [], [], [], []
    carves = near_misses = 0
    for seed in range(seeds):
        sub, questions = carve(index, seed)
        carves += 1
        if len(questions) < MIN_ENTRIES or not any(q.gold is None for q in questions):
            return None
        if background_vectors is None:
            background_vectors = embedder.encode(background, "query")
        questions += [CarvedQuestion(text, vector, None) for text, vector in zip(background, background_vectors)]
        near = near_miss_probes(sub, tokenizer, embedder, questions, random.Random(seed))
        near_misses += len(near)
        questions += near
        retriever = HybridRetriever(sub, tokenizer, embedder, settings)
        for q in questions:
            hits, rows, _ = retriever.rank(q.text, k=10, vector=q.vector)
            if not hits:
                continue
            options = [h.doc_id for h in distinct_documents(hits, 3)]
            features.append(rows[0])
            top1.append(float(hits[0].doc_id == q.gold))
            top3.append(float(q.gold in options))
            in_scope.append(q.gold is not None)
        if len(features) >= MAX_ENTRIES:
            break
    x = np.asarray(features)
    y1, y3, scope = np.asarray(top1), np.asarray(top3), np.asarray(in_scope)
    if y1.min() == y1.max() or y3.min() == y3.max():
        return None  # one class only: nothing to separate
    weight = _traffic_weights(scope, settings.expected_out_of_scope)
    model1 = _for_traffic(LogisticModel.fit(x, y1), y1, weight)
    model3 = _for_traffic(LogisticModel.fit(x, y3), y3, weight)
    return Calibration(top1=model1, top3=model3,
                       fitted_on=f"{len(x)} carved questions from {carves} carves "
                                 f"({int((~scope).sum())} out of scope, {near_misses} of them near misses)",
                       out_of_scope_share=settings.expected_out_of_scope,
                       fitted_settings=settings.model_dump(mode="json"),
                       samples=len(x), embedding_model=index.manifest.embedding_model)


def near_miss_probes(index: EmbeddedIndex, tokenizer: Tokenizer, embedder: Embedder,
                     questions: list[CarvedQuestion], rng: random.Random) -> list[CarvedQuestion]:
    """Out-of-scope probes made from up to NEAR_MISS_PROBES in-scope ones by swapping their most
    telling word for a shipped term `index` never uses (embedded here: new texts)."""
    replacements = terms_unknown_to(index.term_weights, tokenizer, near_miss_terms())
    texts = []
    for q in [q for q in questions if q.gold is not None][:NEAR_MISS_PROBES]:
        swapped = swap_salient_term(q.text, tokenizer, index.term_weights(tokenizer.tokenize(q.text)),
                                    replacements, rng)
        if swapped is not None:
            texts.append(swapped)
    if not texts:
        return []
    return [CarvedQuestion(text, vector, None) for text, vector in zip(texts, embedder.encode(texts, "query"))]


def _traffic_weights(in_scope: np.ndarray, out_of_scope_share: float) -> np.ndarray:
    """Per-probe weights under which out-of-scope probes make up `out_of_scope_share` of the
    fit. Probes come in whatever mix the knowledge's size gives (a fixed background set plus a
    share of its entries): weighted to one stated mix, a confidence of 0.7 means "right about
    70% of the time in such traffic" on a 100-entry and on a 10,000-entry knowledge base alike."""
    n_in, n_out = int(in_scope.sum()), int((~in_scope).sum())
    if n_in == 0 or n_out == 0:
        return np.ones(len(in_scope))
    return np.where(in_scope, (1 - out_of_scope_share) / n_in, out_of_scope_share / n_out)


def _for_traffic(model: LogisticModel, y: np.ndarray, weight: np.ndarray) -> LogisticModel:
    """`model` (fitted on the probes as they came) moved to the base rate of `y` in the weighted
    mix: the prior correction of a logistic model under a change of class balance. The ranking
    of questions, and so every decision, is that of the unweighted fit; only the probabilities
    move."""
    fitted_rate = float(np.clip(y.mean(), 1e-6, 1 - 1e-6))
    traffic_rate = float(np.clip((weight * y).sum() / weight.sum(), 1e-6, 1 - 1e-6))
    return model.shifted(_logit(traffic_rate) - _logit(fitted_rate))


def _logit(p: float) -> float:
    return float(np.log(p / (1 - p)))
