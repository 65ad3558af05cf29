"""The Index contract as tests every backend inherits (cs_rag.index.base.Index).

A backend's test module subclasses IndexContract and provides the `load` fixture: a function
that takes an EmbeddedIndex built here (the reference content) and returns the backend's
Index over the same content. Calling it again in one test replaces the content, as an
ingest would (add, update, delete by document). Vectors are synthetic unit vectors, tokens
come from the shared tokenizer: no embedding model is needed.
"""

from __future__ import annotations

import datetime as dt
import zlib

import numpy as np
import pytest

from cs_rag.index.base import SearchFilter
from cs_rag.index.bm25 import BM25Index
from cs_rag.index.embedded import DocumentRecord, EmbeddedIndex, Row
from cs_rag.models.adapter import Adapter
from cs_rag.text import Tokenizer
from cs_rag.types import Chunk, DocumentKind

DIM = 16
TOKENIZER = Tokenizer()

# (doc id, kind, category, validity, match texts, text)
DOCS = [
    ("refund", "faq", "售后退款", None, ["退款多久到账", "钱什么时候退回来", "退款几天能到"], "3-5个工作日原路退回"),
    ("invoice", "faq", "支付", None, ["怎么开发票", "发票在哪里申请"], "订单详情页申请发票"),
    ("ship", "faq", "物流配送", None, ["下单后多久发货", "什么时候发货"], "现货24小时内发货"),
    ("promo", "faq", "促销活动", (None, dt.date(2020, 11, 30)), ["双11满减怎么算"], "每满300减40"),
    ("future", "faq", "促销活动", (dt.date(2999, 1, 1), None), ["新年红包怎么领"], "明年再说"),
    ("policy", "passage", None, None, ["七天无理由退货 签收后七天内可申请退货 退货运费由买家承担"],
     "签收后七天内可申请退货"),
    ("policy2", "passage", None, None, ["耳机拆封后不支持无理由退货"], "拆封的耳机不支持退货"),
]
TAGS = {"invoice": ["learned", "declined"]}   # tags travel with their chunk (a declined entry's do)


def vector_for(text: str) -> np.ndarray:
    """A deterministic unit vector per text (texts sharing a doc are not made similar)."""
    rng = np.random.default_rng(zlib.crc32(text.encode("utf-8")))
    v = rng.normal(size=DIM).astype(np.float32)
    return v / np.linalg.norm(v)


def build(docs=DOCS, hashes: dict[str, str] | None = None,
          products: dict[str, list[str]] | None = None) -> EmbeddedIndex:
    chunks, rows, vectors, records = [], [], [], {}
    for doc_id, kind, category, validity, texts, text in docs:
        valid_from, valid_to = validity or (None, None)
        ordinal = len(chunks)
        chunks.append(Chunk(id=f"{doc_id}#0", doc_id=doc_id, kind=DocumentKind(kind), source=f"{doc_id}.src",
                            text=text, match_texts=texts, category=category, question=texts[0],
                            valid_from=valid_from, valid_to=valid_to, tags=TAGS.get(doc_id, []),
                            products=(products or {}).get(doc_id, [])))
        for t in texts:
            rows.append(Row(ordinal, f"key:{t}", TOKENIZER.tokenize(t)))
            vectors.append(vector_for(t))
        records[doc_id] = DocumentRecord(content_hash=(hashes or {}).get(doc_id, "h-" + "|".join(texts)),
                                         kind=DocumentKind(kind), source=f"{doc_id}.src", file=f"/k/{doc_id}",
                                         chunks=1)
    matrix = np.vstack(vectors) if vectors else np.zeros((0, DIM), np.float32)
    return EmbeddedIndex.build(chunks, rows, matrix, embedding_model="test-model",
                               tokenizer_fingerprint=TOKENIZER.fingerprint, documents=records)


def ids(index, scored) -> list[str]:
    return [index.chunk(s.ordinal).doc_id for s in scored]


EVERYTHING = SearchFilter(include_expired=True)


class IndexContract:
    """Behaviour every Index backend must show; subclasses provide the `load` fixture."""

    @pytest.fixture
    def index(self, load):
        return load(build())

    def test_length_and_chunks_round_trip(self, index):
        assert len(index) == len(DOCS)
        hit = index.dense_search(vector_for("怎么开发票"), 1)[0]
        chunk = index.chunk(hit.ordinal)
        assert chunk.doc_id == "invoice" and chunk.match_texts == ["怎么开发票", "发票在哪里申请"]
        assert chunk.category == "支付" and chunk.kind is DocumentKind.FAQ
        assert chunk.tags == TAGS["invoice"] and index.document_chunks("invoice")[0].tags == TAGS["invoice"]

    def test_dense_scores_a_chunk_by_its_best_match_text(self, index):
        query = vector_for("钱什么时候退回来")
        top = index.dense_search(query, 3)
        assert ids(index, top)[0] == "refund"
        assert top[0].matched == 1 and top[0].score == pytest.approx(1.0, abs=1e-5)
        assert [s.score for s in top] == sorted((s.score for s in top), reverse=True)
        assert len({s.ordinal for s in top}) == 3

    def test_dense_k_larger_than_the_index(self, index):
        assert len(index.dense_search(vector_for("x"), 50)) == len(DOCS) - 2  # two outside their dates
        assert len(index.dense_search(vector_for("x"), 50, EVERYTHING)) == len(DOCS)

    def test_keyword_scores_equal_the_reference_bm25(self, index):
        reference = build()
        tokens = TOKENIZER.tokenize("退款到账要几天")
        row_scores = BM25Index.build([r.tokens for r in reference.rows]).scores(tokens)
        expected = {}
        for r, row in enumerate(reference.rows):
            doc = reference.chunks[row.chunk].doc_id
            expected[doc] = max(expected.get(doc, 0.0), float(row_scores[r]))
        got = index.keyword_search(tokens, 10, EVERYTHING)
        assert got and all(s.score > 0 for s in got)
        assert {index.chunk(s.ordinal).doc_id: s.score for s in got} == pytest.approx(
            {d: v for d, v in expected.items() if v > 0}, rel=1e-4)
        assert ids(index, got)[0] == "refund"

    def test_vocabulary_is_every_token_of_the_match_texts(self, index):
        assert sorted(index.vocabulary()) == sorted({t for r in build().rows for t in r.tokens})

    def test_term_weights_are_the_reference_idf_of_known_terms(self, index):
        reference = BM25Index.build([r.tokens for r in build().rows])
        tokens = TOKENIZER.tokenize("退款发票火星探测器")
        weights = index.term_weights(tokens)
        assert weights == pytest.approx(reference.term_weights(tokens), rel=1e-4)
        assert "退款" in weights and "火星" not in weights
        assert index.keyword_ceiling(tokens) == pytest.approx(sum(weights[t] for t in tokens if t in weights),
                                                              rel=1e-4)

    def test_keyword_omits_chunks_without_a_query_term(self, index):
        got = index.keyword_search(TOKENIZER.tokenize("发票"), 10)
        assert ids(index, got) == ["invoice"]
        assert index.keyword_search(TOKENIZER.tokenize("火星探测器"), 10) == []
        assert index.keyword_search([], 10) == []

    def test_filters_by_category_and_kind(self, index):
        query = vector_for("退款多久到账")
        only = SearchFilter(categories={"支付", "物流配送"})
        assert set(ids(index, index.dense_search(query, 10, only))) == {"invoice", "ship"}
        passages = SearchFilter(kinds={DocumentKind.PASSAGE})
        assert set(ids(index, index.dense_search(query, 10, passages))) == {"policy", "policy2"}
        assert ids(index, index.keyword_search(TOKENIZER.tokenize("退货"), 10, only)) == []
        tokens = TOKENIZER.tokenize("退款 退货")
        assert set(ids(index, index.keyword_search(tokens, 10, passages))) == {"policy", "policy2"}

    def test_filters_by_product_keeping_knowledge_about_no_product(self, load):
        index = load(build(products={"ship": ["手机"], "invoice": ["iPhone 15", "耳机"]}))
        query = vector_for("退款多久到账")
        phone = SearchFilter(products={"手机"})
        dense = set(ids(index, index.dense_search(query, 10, phone)))
        assert {"ship", "refund", "policy"} <= dense and "invoice" not in dense
        # names compare case- and width-insensitively
        iphone = SearchFilter(products={"ＩＰＨＯＮＥ  15"})
        dense = set(ids(index, index.dense_search(query, 10, iphone)))
        assert "invoice" in dense and "ship" not in dense
        tokens = TOKENIZER.tokenize("发票 发货")
        assert ids(index, index.keyword_search(tokens, 10, phone)) == ["ship"]
        assert ids(index, index.keyword_search(tokens, 10, SearchFilter(products={"耳机", "手机"}))) \
            in (["ship", "invoice"], ["invoice", "ship"])
        assert ids(index, index.keyword_search(tokens, 10, SearchFilter(products={"冰箱"}))) == []
        pairs = index.candidates(vector_for("发票在哪里申请"), tokens, 10, phone)
        assert "invoice" not in {index.chunk(d.ordinal).doc_id for d, _ in pairs}
        assert index.chunk(index.keyword_search(tokens, 1, phone)[0].ordinal).products == ["手机"]

    def test_dense_scores_are_cosines_in_the_adapters_space(self, load):
        raw = build()
        rng = np.random.default_rng(1)
        adapter = Adapter(np.eye(DIM, dtype=np.float32) + 0.4 * rng.normal(size=(DIM, DIM)).astype(np.float32))
        index = load(raw.with_adapter(adapter))
        query = vector_for("钱什么时候退回来")
        row_scores = adapter.apply(raw.vectors) @ adapter.apply(query)
        best: dict[str, float] = {}
        for row, score in zip(raw.rows, row_scores):
            doc = raw.chunks[row.chunk].doc_id
            best[doc] = max(best.get(doc, -1.0), float(score))
        want = sorted(best.items(), key=lambda item: -item[1])
        got = index.dense_search(query, len(DOCS), EVERYTHING)
        assert [(index.chunk(s.ordinal).doc_id, s.score) for s in got] == [
            (doc, pytest.approx(score, abs=1e-5)) for doc, score in want]
        pairs = index.candidates(query, TOKENIZER.tokenize("退款"), len(DOCS), EVERYTHING)
        assert {index.chunk(d.ordinal).doc_id: d.score for d, _ in pairs} == pytest.approx(best, abs=1e-5)
        plain = load(raw)  # publishing without an adapter searches the model's own space again
        assert plain.dense_search(query, 1, EVERYTHING)[0].score == pytest.approx(
            float(max(raw.vectors @ query)), abs=1e-5)

    def test_entries_outside_their_dates_are_never_returned(self, index):
        tokens = TOKENIZER.tokenize("双11满减怎么算")
        assert "promo" not in ids(index, index.keyword_search(tokens, 10))
        assert "promo" not in ids(index, index.dense_search(vector_for("双11满减怎么算"), 10))
        assert ids(index, index.keyword_search(tokens, 1, EVERYTHING)) == ["promo"]
        back_then = SearchFilter(valid_on=dt.date(2020, 11, 1))
        assert ids(index, index.keyword_search(tokens, 1, back_then)) == ["promo"]
        promo = index.chunk(index.keyword_search(tokens, 1, back_then)[0].ordinal)
        assert promo.valid_to is not None and promo.valid_to >= dt.date(2020, 11, 1)  # the dates come back
        later = SearchFilter(valid_on=dt.date(2999, 6, 1))
        assert ids(index, index.keyword_search(TOKENIZER.tokenize("新年红包"), 1, later)) == ["future"]
        assert index.keyword_search(TOKENIZER.tokenize("新年红包"), 1) == []

    def test_candidates_carry_both_exact_scores(self, index):
        reference = build()
        query, tokens = vector_for("怎么开发票"), TOKENIZER.tokenize("退款多久到账")
        pairs = index.candidates(query, tokens, 2)
        dense_top = ids(index, index.dense_search(query, 2))
        keyword_top = ids(index, index.keyword_search(tokens, 2))
        got = [index.chunk(d.ordinal).doc_id for d, _ in pairs]
        assert got[:2] == dense_top and set(got) == set(dense_top) | set(keyword_top)
        expected = {c.doc_id: c for c in reference.chunks}
        scores = BM25Index.build([r.tokens for r in reference.rows]).scores(tokens)
        for dense, keyword in pairs:
            assert dense.ordinal == keyword.ordinal
            chunk = index.chunk(dense.ordinal)
            cosines = sorted((float(vector_for(t) @ query) for t in expected[chunk.doc_id].match_texts), reverse=True)
            assert dense.score == pytest.approx(cosines[0], abs=1e-5)
            if len(cosines) > 1:  # the runner-up match text, for the support signal
                assert dense.runner_up == pytest.approx(cosines[1], abs=1e-5)
            else:
                assert dense.runner_up is None
            rows = [r for r, row in enumerate(reference.rows) if reference.chunks[row.chunk].doc_id == chunk.doc_id]
            assert keyword.score == pytest.approx(max(float(scores[r]) for r in rows), rel=1e-4, abs=1e-6)

    def test_ceiling_and_known_share(self, index):
        reference = build()
        tokens = TOKENIZER.tokenize("退款多久到账 火星")
        assert index.keyword_ceiling(tokens) == pytest.approx(reference.keyword_ceiling(tokens), rel=1e-5)
        assert index.known_share(tokens) == pytest.approx(reference.known_share(tokens))
        assert index.known_share([]) == 0.0 and index.keyword_ceiling(["火星探测器"]) == 0.0

    def test_add_update_and_delete_by_document(self, load):
        load(build())
        changed = [d for d in DOCS if d[0] != "ship"]
        changed[1] = ("invoice", "faq", "支付", None, ["电子发票怎么开"], "在我的订单里申请电子发票")
        changed.append(("vip", "faq", "会员", None, ["How do I upgrade to gold membership"], "Spend more"))
        index = load(build(changed))
        assert len(index) == len(changed)
        tokens = TOKENIZER.tokenize("发货")
        assert index.keyword_search(tokens, 10) == []
        invoice = index.keyword_search(TOKENIZER.tokenize("电子发票"), 1)
        assert index.chunk(invoice[0].ordinal).text == "在我的订单里申请电子发票"
        assert ids(index, index.dense_search(vector_for("How do I upgrade to gold membership"), 1)) == ["vip"]
        assert ids(index, index.dense_search(vector_for("下单后多久发货"), 10)).count("ship") == 0
        reference = build(changed)
        tokens = TOKENIZER.tokenize("退款多久到账")
        assert index.keyword_ceiling(tokens) == pytest.approx(reference.keyword_ceiling(tokens), rel=1e-5)

    def test_empty_index(self, load):
        index = load(build([]))
        assert len(index) == 0
        assert index.dense_search(vector_for("x"), 5) == []
        assert index.keyword_search(TOKENIZER.tokenize("退款"), 5) == []
        assert index.candidates(vector_for("x"), TOKENIZER.tokenize("退款"), 5) == []
