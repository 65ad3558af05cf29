"""The adapter fitted on an FAQ's question groups: the fit, its persistence, the index searching
through it, the carve refitting it, and when an ingest fits one."""

from __future__ import annotations

import numpy as np
import pytest

from cs_rag import KnowledgeBase
from cs_rag.models.adapter import MIN_GROUPS, Adapter, fit_adapter
from cs_rag.retrieval.calibrate import carve
from cs_rag.config import Settings
from cs_rag.index.embedded import ADAPTER_FILE, EmbeddedIndex, Row
from cs_rag.text import Tokenizer
from cs_rag.types import Chunk, DocumentKind

from helpers import faq_entries, write_jsonl

DIM = 24


def grouped_vectors(groups: int, per_group: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors whose group lives in 8 dimensions and whose large nuisance (shared by all
    groups, as a common phrasing would be) lives in the other 16: raw cosines mostly see the
    nuisance, a good map learns to ignore it."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(groups, 8))
    x = np.zeros((groups * per_group, DIM))
    owner = np.repeat(np.arange(groups), per_group)
    x[:, :8] = centres[owner] + 0.3 * rng.normal(size=(len(owner), 8))
    x[:, 8:] = 1.0 * rng.normal(size=(len(owner), DIM - 8))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32), owner


def held_out_accuracy(train: np.ndarray, train_owner: np.ndarray, probes: np.ndarray,
                      probe_owner: np.ndarray) -> float:
    best = np.argmax(probes @ train.T, axis=1)
    return float(np.mean(train_owner[best] == probe_owner))


def test_the_fit_brings_held_out_paraphrases_to_their_group():
    x, owner = grouped_vectors(groups=40, per_group=5)
    probe = np.arange(len(x)) % 5 == 0  # one member per group never seen by the fit
    adapter = fit_adapter(x[~probe], owner[~probe])
    assert adapter is not None
    raw = held_out_accuracy(x[~probe], owner[~probe], x[probe], owner[probe])
    mapped = held_out_accuracy(adapter.apply(x[~probe]), owner[~probe], adapter.apply(x[probe]), owner[probe])
    assert mapped >= raw + 0.15, (raw, mapped)


def test_too_few_groups_fit_nothing_and_single_questions_do_not_count():
    x, owner = grouped_vectors(groups=MIN_GROUPS - 1, per_group=3)
    assert fit_adapter(x, owner) is None
    singles, single_owner = grouped_vectors(groups=100, per_group=1)
    assert fit_adapter(singles, single_owner) is None
    assert fit_adapter(np.zeros((0, DIM), np.float32), np.zeros(0, int)) is None
    assert fit_adapter(x, owner, min_groups=1) is not None
    mostly_single = np.concatenate([owner, owner.max() + 1 + np.arange(len(owner))])
    assert fit_adapter(np.vstack([x, x]), mostly_single, min_groups=1) is None  # under half the entries
    assert fit_adapter(np.vstack([x, x]), mostly_single, min_groups=1, min_share=0) is not None


def test_the_fit_is_deterministic_and_round_trips_without_pickle(tmp_path):
    x, owner = grouped_vectors(groups=35, per_group=3)
    first, second = fit_adapter(x, owner), fit_adapter(x, owner)
    np.testing.assert_array_equal(first.matrix, second.matrix)
    first.save(tmp_path / "a.npz")
    loaded = Adapter.load(tmp_path / "a.npz")  # np.load(allow_pickle=False) inside
    np.testing.assert_array_equal(loaded.matrix, first.matrix)
    mapped = loaded.apply(x)
    np.testing.assert_allclose(np.linalg.norm(mapped, axis=1), 1.0, atol=1e-5)
    assert loaded.apply(x[0]).shape == (DIM,)
    with pytest.raises(ValueError, match="square"):
        Adapter(np.zeros((3, 4)))


def faq_index(groups: int = 35, per_group: int = 3, passage: bool = False) -> EmbeddedIndex:
    x, owner = grouped_vectors(groups, per_group)
    tokenizer = Tokenizer()
    chunks, rows = [], []
    for g in range(groups):
        texts = [f"问题{g}之{i}" for i in range(per_group)]
        chunks.append(Chunk(id=f"e{g}#0", doc_id=f"e{g}", kind=DocumentKind.FAQ, source="faq.jsonl",
                            text=f"答案{g}", match_texts=texts, question=texts[0]))
        rows += [Row(g, f"k{g}-{i}", tokenizer.tokenize(t)) for i, t in enumerate(texts)]
    vectors = x
    if passage:
        chunks.append(Chunk(id="p#0", doc_id="p", kind=DocumentKind.POLICY, source="p.md",
                            text="政策", match_texts=["政策"]))
        rows.append(Row(groups, "kp", tokenizer.tokenize("政策")))
        vectors = np.vstack([x, x[:1]])
    return EmbeddedIndex.build(chunks, rows, vectors, embedding_model="test",
                               tokenizer_fingerprint=tokenizer.fingerprint, documents={})


def test_an_index_searches_through_its_adapter_and_keeps_the_models_vectors(tmp_path):
    raw = faq_index()
    adapter = fit_adapter(*raw.question_groups())
    adapted = raw.with_adapter(adapter)
    np.testing.assert_array_equal(adapted.vectors, raw.vectors)  # stored: the model's own
    query = raw.vectors[1]
    top = adapted.dense_search(query, 1)[0]
    assert top.score == pytest.approx(float(adapter.apply(query) @ adapter.apply(raw.vectors[1])), abs=1e-5)
    folder = tmp_path / "v"
    folder.mkdir()
    adapted.save(folder)
    assert (folder / ADAPTER_FILE).is_file()
    loaded = EmbeddedIndex.load(folder)
    assert [(s.ordinal, round(s.score, 5)) for s in loaded.dense_search(query, 5)] == \
           [(s.ordinal, round(s.score, 5)) for s in adapted.dense_search(query, 5)]
    mapped_rows, mapped_query = adapter.apply(raw.vectors), adapter.apply(query)
    for dense, _ in loaded.candidates(query, ["问题"], 5):  # every candidate scored in the adapted space
        own = [r for r, row in enumerate(raw.rows) if row.chunk == dense.ordinal]
        assert dense.score == pytest.approx(float(np.max(mapped_rows[own] @ mapped_query)), abs=1e-5)
    unadapted = loaded.with_adapter(None)
    assert [s.ordinal for s in unadapted.dense_search(query, 5)] == [s.ordinal for s in raw.dense_search(query, 5)]


def test_only_an_index_of_faq_questions_counts_as_such():
    assert faq_index().faq_questions_only()
    assert not faq_index(passage=True).faq_questions_only()


def test_a_carve_refits_the_adapter_without_its_held_out_texts():
    index = faq_index(groups=40, per_group=4)
    adapted = index.with_adapter(fit_adapter(*index.question_groups()))
    sub, questions = carve(adapted, seed=0)
    assert sub.adapter is not None and sub.adapter is not adapted.adapter
    assert not np.array_equal(sub.adapter.matrix, adapted.adapter.matrix)
    sub_plain, _ = carve(index, seed=0)
    assert sub_plain.adapter is None


def test_ingest_fits_an_adapter_for_faq_only_knowledge_and_not_otherwise(tmp_path, settings):
    folder = tmp_path / "k"
    folder.mkdir()
    write_jsonl(folder / "faq.jsonl", faq_entries(MIN_GROUPS))
    kb = KnowledgeBase(tmp_path / "idx", settings)
    kb.ingest([folder])
    assert kb.index().adapter is not None
    assert kb.ingest([folder]).texts_embedded == 0  # the stored vectors are the model's: all reused
    assert kb.index().adapter is not None
    off = KnowledgeBase(tmp_path / "idx-off", Settings.model_validate({"index": {"adapter": False}}))
    off.ingest([folder])
    assert off.index().adapter is None
    (folder / "policy.md").write_text("# 退货政策\n签收后七天内可以申请退货。\n", encoding="utf-8")
    kb.ingest([folder])
    assert kb.index().adapter is None  # document chunks: passages keep the model's scale


def test_too_few_similar_questions_fit_no_adapter(tmp_path, knowledge_dir, settings):
    faq_only = tmp_path / "faq-only"
    faq_only.mkdir()
    write_jsonl(faq_only / "faq.jsonl", faq_entries(MIN_GROUPS - 1))
    kb = KnowledgeBase(tmp_path / "idx", settings)
    kb.ingest([faq_only])
    assert kb.index().adapter is None
