"""Hybrid retrieval: fusion strategies, filters, self-calibration and decisions (real model)."""

from __future__ import annotations

import numpy as np
import pytest

from cs_rag import KnowledgeBase, SearchFilter
from cs_rag.retrieval.calibrate import MIN_ENTRIES, carve
from cs_rag.config import Fusion, Settings
from cs_rag.index.versions import current_version
from cs_rag.types import Decision

from helpers import generated_faq, write_jsonl

pytestmark = pytest.mark.slow

@pytest.fixture(scope="module")
def generated_kb(tmp_path_factory) -> KnowledgeBase:
    root = tmp_path_factory.mktemp("generated")
    write_jsonl(root / "faq.jsonl", generated_faq())
    kb = KnowledgeBase(root / "index")
    kb.ingest([root / "faq.jsonl"])
    return kb


def test_knowledge_base_calibrates_itself_at_ingest(generated_kb):
    folder = current_version(generated_kb.index_dir)
    assert (folder / "calibration.json").is_file()
    calibration = generated_kb.retriever().calibration
    assert calibration.samples >= MIN_ENTRIES
    assert calibration.embedding_model == generated_kb.index().manifest.embedding_model
    near_misses = int(calibration.fitted_on.split(", ")[-1].split(" of them")[0])
    assert near_misses > 0   # swapped-term probes joined the out-of-scope side


def test_a_larger_stated_out_of_scope_share_lowers_confidence_and_answers_no_more(generated_kb):
    from cs_rag.retrieval.calibrate import fit_calibration
    from cs_rag.config import RetrievalSettings
    from cs_rag.retrieval.hybrid import HybridRetriever

    _, index, tokenizer, embedder = generated_kb._live()
    questions = ["冰箱的保修期是多久呀", "手机不想要了可以退吗", "今天上海的天气适合去爬山吗", "保修多久"]
    outcomes = {}
    for share in (0.05, 0.5):
        settings = RetrievalSettings(expected_out_of_scope=share)
        calibration = fit_calibration(index, tokenizer, embedder, settings)
        assert calibration.out_of_scope_share == share
        retriever = HybridRetriever(index, tokenizer, embedder, settings, calibration)
        outcomes[share] = [retriever.retrieve(q) for q in questions]
    assert all(few.confidence > many.confidence for few, many in zip(outcomes[0.05], outcomes[0.5]))
    answered = {share: sum(r.decision is Decision.ANSWER for r in found) for share, found in outcomes.items()}
    assert answered[0.5] <= answered[0.05]


@pytest.fixture(scope="module")
def generated_kb_with_answers(tmp_path_factory) -> KnowledgeBase:
    root = tmp_path_factory.mktemp("generated-answers")
    write_jsonl(root / "faq.jsonl", generated_faq())
    kb = KnowledgeBase(root / "index", Settings.model_validate({"index": {"faq_answers": True}}))
    kb.ingest([root / "faq.jsonl"])
    return kb


@pytest.mark.parametrize("kb_name", ["generated_kb", "generated_kb_with_answers"])
def test_carving_holds_texts_out_of_the_index(kb_name, request):
    index = request.getfixturevalue(kb_name).index()
    sub, questions = carve(index)
    indexed = {t for c in sub.chunks for t in c.match_texts}
    assert questions and all(q.text not in indexed for q in questions)
    out_of_scope = {q.text for q in questions if q.gold is None}
    held_out = {c.doc_id for c in index.chunks if c.match_texts[-1] in out_of_scope and not c.answer_field}
    assert out_of_scope and not held_out & {c.doc_id for c in sub.chunks}  # answers leave with their entry
    assert len(sub) == len(index) - sum(1 for c in index.chunks if c.doc_id in held_out)
    assert {q.gold for q in questions if q.gold} <= {c.doc_id for c in sub.chunks}


def test_confident_answer_and_decision(generated_kb):
    result = generated_kb.retrieve("冰箱的保修期是多久呀")
    assert result.hits[0].id == "g-6-0"
    assert result.decision is Decision.ANSWER
    assert 0 < result.confidence <= 1 and result.hits[0].confidence == result.confidence
    assert {"tokenize", "embed", "search", "fuse", "decide", "total"} <= set(result.timings_ms)


def test_unrelated_question_gets_low_confidence(generated_kb):
    unrelated = generated_kb.retrieve("今天上海的天气适合去爬山吗")
    related = generated_kb.retrieve("冰箱的保修期是多久呀")
    assert unrelated.confidence < related.confidence
    assert unrelated.decision is not Decision.ANSWER


def test_clarify_offers_distinct_documents(generated_kb):
    retriever = generated_kb.retriever()
    bands = retriever.settings
    retriever.settings = bands.model_copy(update={"answer_confidence": 1.0, "clarify_confidence": 0.0,
                                                  "evidence_reader": False})   # it may promote
    try:
        result = retriever.retrieve("保修多久")   # a non-answer forced, to see the options
    finally:
        retriever.settings = bands
    assert result.decision is Decision.CLARIFY
    assert 2 <= len(result.options) <= 3
    assert len({h.doc_id for h in result.options}) == len(result.options)


def test_category_filter(generated_kb):
    hits = generated_kb.search("冰箱保修", k=5, where=SearchFilter(categories={"c2"}))
    assert hits and all(h.category == "c2" for h in hits)


@pytest.mark.parametrize("fusion", list(Fusion))
def test_fusion_strategies_are_configurable(generated_kb, fusion):
    settings = Settings.model_validate({"retrieval": {"fusion": fusion.value}})
    kb = KnowledgeBase(generated_kb.index_dir, settings)
    assert kb.retriever().fusion is fusion
    assert kb.search("洗衣机能不能分期", k=1)[0].id == "g-7-3"


def test_zscore_fusion_standardises_each_retrievers_candidates():
    from cs_rag.retrieval.hybrid import _zscore

    dense, bm25 = np.array([0.82, 0.80, 0.30]), np.array([2.0, 9.0, 1.0])
    fused = 0.8 * _zscore(dense) + 0.2 * _zscore(bm25)
    assert np.allclose(_zscore(dense * 7 + 3), _zscore(dense))      # scale and shift do not matter
    assert np.isclose(_zscore(dense).mean(), 0) and np.isclose(_zscore(dense).std(), 1)
    assert fused.argmax() == 1 and np.all(_zscore(np.ones(3)) == 0)


def test_small_knowledge_base_uses_the_shipped_calibration(tmp_path, knowledge_dir):
    kb = KnowledgeBase(tmp_path / "index")
    kb.ingest([knowledge_dir])
    assert not (current_version(tmp_path / "index") / "calibration.json").exists()
    assert "carved" in kb.retriever().calibration.fitted_on


def test_reranker_reorders_the_fused_top_n(generated_kb):
    """A scripted reranker (test double: reverses the head) shows the stage's wiring; the real
    cross-encoder is tested in test_rerank.py."""
    from cs_rag.retrieval.hybrid import HybridRetriever

    class Reverse:
        def rerank(self, query, hits, top_n):
            head = [h.model_copy(update={"scores": {**h.scores, "rerank": float(i)}})
                    for i, h in enumerate(hits[:top_n])]
            return list(reversed(head)) + hits[top_n:]

    base = generated_kb.retriever()
    settings = base.settings.model_copy(update={"rerank_top_n": 5})
    reranked = HybridRetriever(base.index, base.tokenizer, base.embedder, settings, base.calibration,
                               reranker=Reverse())
    plain = base.search("冰箱保修", k=5)
    result = reranked.retrieve("冰箱保修", k=3)
    assert [h.id for h in result.hits] == [h.id for h in reversed(plain)][:3]
    assert "rerank" in result.timings_ms and "rerank" in result.hits[0].scores


def test_support_weight_lets_an_entry_with_several_matching_questions_win():
    """Entry `lucky` has one question very close to the query and one far; entry `steady` has
    two close ones. Max-only ranks `lucky` first; with support the agreeing entry wins."""
    from cs_rag.config import RetrievalSettings
    from cs_rag.index.embedded import EmbeddedIndex, Row
    from cs_rag.retrieval.hybrid import HybridRetriever
    from cs_rag.text import Tokenizer
    from cs_rag.types import Chunk, DocumentKind

    basis = np.eye(8, dtype=np.float32)

    def at(cosine: float, axis: int) -> np.ndarray:
        return cosine * basis[0] + np.sqrt(1 - cosine ** 2) * basis[axis]
    texts = {"lucky": [(0.90, 1), (0.10, 2)], "steady": [(0.88, 3), (0.87, 4)], "single": [(0.80, 5)]}
    chunks, rows, vectors = [], [], []
    for ordinal, (doc, scored) in enumerate(texts.items()):
        chunks.append(Chunk(id=doc, doc_id=doc, kind=DocumentKind.FAQ, source="s", text="a",
                            match_texts=[f"{doc}{i}" for i in range(len(scored))]))
        for i, (cosine, axis) in enumerate(scored):
            rows.append(Row(ordinal, f"{doc}{i}", [f"t{doc}{i}"]))
            vectors.append(at(cosine, axis))
    index = EmbeddedIndex.build(chunks, rows, np.asarray(vectors), embedding_model="test",
                                tokenizer_fingerprint="t", documents={})
    pairs = {index.chunk(d.ordinal).doc_id: d for d, _ in index.candidates(basis[0], [], 10)}
    assert pairs["steady"].runner_up == pytest.approx(0.87, abs=1e-5) and pairs["single"].runner_up is None

    def ranking(support: float) -> list[str]:
        retriever = HybridRetriever(index, Tokenizer(), None, RetrievalSettings(support_weight=support))
        hits, _, _ = retriever.rank("q", k=3, vector=basis[0])
        return [h.doc_id for h in hits]
    assert ranking(0.0) == ["lucky", "steady", "single"]
    assert ranking(0.5) == ["steady", "single", "lucky"]


def test_passage_dense_weight_applies_to_document_chunks_only():
    """The query's words are in the policy chunk, its meaning closest to the FAQ question:
    under the shared weight the FAQ entry wins; a low passage dense weight lets the chunk win."""
    from cs_rag.config import RetrievalSettings
    from cs_rag.index.embedded import EmbeddedIndex, Row
    from cs_rag.retrieval.hybrid import HybridRetriever
    from cs_rag.text import Tokenizer
    from cs_rag.types import Chunk, DocumentKind

    basis = np.eye(4, dtype=np.float32)
    chunks = [Chunk(id="faq", doc_id="faq", kind=DocumentKind.FAQ, source="s", text="a", match_texts=["q"]),
              Chunk(id="policy#1", doc_id="policy", kind=DocumentKind.POLICY, source="p", text="退款规则",
                    match_texts=["退款规则"])]
    rows = [Row(0, "q", ["运费"]), Row(1, "p", ["退款", "规则"])]
    vectors = np.asarray([0.9 * basis[0] + np.sqrt(1 - 0.81) * basis[1],
                          0.5 * basis[0] + np.sqrt(1 - 0.25) * basis[2]])
    index = EmbeddedIndex.build(chunks, rows, vectors, embedding_model="test", tokenizer_fingerprint="t",
                                documents={})

    def first(**settings) -> str:
        retriever = HybridRetriever(index, Tokenizer(), None, RetrievalSettings(**settings))
        return retriever.rank("退款", k=2, vector=basis[0])[0][0].doc_id
    assert first() == "faq"
    assert first(passage_dense_weight=0.1) == "policy"
    assert first(dense_weight=0.3) == "policy"  # unset, the passage weight follows dense_weight
    assert first(dense_weight=0.3, passage_dense_weight=0.9) == "faq"


def test_a_question_naming_a_platform_the_knowledge_never_mentions_is_not_answered(generated_kb):
    retriever = generated_kb.retriever()
    ours = retriever.retrieve("冰箱的保修期是多久呀")
    theirs = retriever.retrieve("京东买的冰箱保修期是多久呀")
    assert ours.decision is Decision.ANSWER and ours.unknown_names == []
    assert theirs.unknown_names == ["京东"] and theirs.decision is not Decision.ANSWER
    gate = retriever.settings
    retriever.settings = gate.model_copy(update={"near_miss_names": False, "evidence_reader": False})
    try:   # the gate alone: the evidence reader reads this near miss as unanswered too
        ungated = retriever.retrieve("京东买的冰箱保修期是多久呀")
    finally:
        retriever.settings = gate
    assert ungated.decision is Decision.ANSWER and ungated.unknown_names == []
    retriever.settings = gate.model_copy(update={"near_miss_extra_names": ["闪购节", "冰箱"]})
    try:
        own = retriever.retrieve("闪购节买的冰箱保修期是多久呀")
    finally:
        retriever.settings = gate
    # a name of the operator's counts like a shipped one; one the knowledge uses (冰箱) never does
    assert own.unknown_names == ["闪购节"] and own.decision is not Decision.ANSWER


def test_the_evidence_reader_keeps_a_near_miss_from_a_direct_answer(generated_kb):
    """The warranty entry says how long; a question about a fee it never states is matched as
    surely, and only the reader tells them apart."""
    retriever = generated_kb.retriever()
    base = retriever.settings

    def retrieve(question: str, reader: bool):
        retriever.settings = base.model_copy(update={"evidence_reader": reader})
        try:
            return retriever.retrieve(question)
        finally:
            retriever.settings = base

    plain, near_miss = "冰箱的保修期是多久呀", "冰箱保修期内师傅上门要收上门费吗"
    unread = retrieve(near_miss, reader=False)
    assert unread.decision is Decision.ANSWER and unread.evidence_score is None
    kept, stopped = retrieve(plain, reader=True), retrieve(near_miss, reader=True)
    assert kept.decision is Decision.ANSWER and kept.evidence_score >= base.reader_threshold
    assert stopped.decision is not Decision.ANSWER and stopped.evidence_score < base.reader_threshold


def test_a_search_never_runs_the_evidence_reader_and_a_decision_does(generated_kb, tmp_path):
    """Reader weights that cannot be loaded show where it runs: a search of hits is unaffected,
    a decision on an answerable question needs the reader and names its file."""
    from cs_rag.errors import EmbeddingError

    retriever = generated_kb.retriever()
    base = retriever.settings
    retriever.settings = base.model_copy(update={"evidence_reader": True,
                                                 "reader_model": tmp_path / "absent.safetensors"})
    try:
        assert retriever.search("冰箱的保修期是多久呀", k=3)
        assert retriever.retrieve("冰箱的保修期是多久呀", read_evidence=False).decision is Decision.ANSWER
        with pytest.raises(EmbeddingError, match="absent.safetensors"):
            retriever.retrieve("冰箱的保修期是多久呀")
    finally:
        retriever.settings = base


def test_an_faq_question_asked_word_for_word_is_never_read(generated_kb, tmp_path):
    """Weights that cannot be loaded would fail any read: the entry's own question, punctuated
    differently, is answered without one."""
    retriever = generated_kb.retriever()
    base = retriever.settings
    retriever.settings = base.model_copy(update={"evidence_reader": True,
                                                 "reader_model": tmp_path / "absent.safetensors"})
    try:
        asked = retriever.retrieve("冰箱保修多久？")
    finally:
        retriever.settings = base
    assert asked.decision is Decision.ANSWER and asked.evidence_verdict == "as written"


def test_an_entry_that_refers_to_a_document_hands_a_detail_question_to_it(tmp_path):
    """The delivery-time entry sends readers to 《配送说明》 for each region; a question about one
    region gets that document's chunk first, a general one keeps the entry."""
    root = tmp_path / "knowledge"
    root.mkdir()
    write_jsonl(root / "faq.jsonl", [
        {"id": "f-time", "question": "一般几天能送到", "similar_questions": ["多久能到货", "下单后几天到"],
         "answer": "北京、上海当日达，其他地区一般1-5天送达。各地区详细时效可查看《配送说明》。"},
        {"id": "f-fee", "question": "运费怎么算", "similar_questions": ["满多少包邮"],
         "answer": "订单实付满99元免运费，不满99元收取8元运费。"},
        {"id": "f-refund", "question": "退款多久到账", "similar_questions": ["钱什么时候退回来"],
         "answer": "微信和支付宝1-3个工作日，银行卡3-7个工作日。"},
    ])
    (root / "配送说明.md").write_text(
        "# 配送说明\n\n## 配送时效\n\n寄到新疆、西藏、青海等偏远地区的包裹由合作快递承运，出库后一般要5-8天才能送到。\n\n"
        "## 签收\n\n贵重商品签收时需要提供验证码。\n", encoding="utf-8")
    kb = KnowledgeBase(tmp_path / "index")
    kb.ingest([root])
    retriever = kb.retriever()
    detail = "寄到西藏一般要几天能送到"
    assert retriever.search(detail, k=3)[0].doc_id == "配送说明"
    assert retriever.search("下单以后一般几天能送到", k=3)[0].id == "f-time"
    handing = retriever.settings
    retriever.settings = handing.model_copy(update={"document_handover": False})
    try:
        assert retriever.search(detail, k=3)[0].id == "f-time"
    finally:
        retriever.settings = handing
