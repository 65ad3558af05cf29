"""BM25 parity with rank-bm25's BM25Okapi, and the traps rank-bm25 falls into."""

import random

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from cs_rag.index.bm25 import BM25Index
from cs_rag.text import Tokenizer

SENTENCES = [
    "七天无理由退货需要商品完好", "退款一般三到五个工作日原路退回", "金卡会员享受免运费",
    "订单发货后可以在物流详情查看快递单号", "以旧换新可以抵扣新机货款", "花呗分期免息活动说明",
    "保修期内非人为损坏免费维修", "双11定金不退", "发票可以在订单详情页申请", "iPhone 15 Pro 电池续航",
    "How do I return an item", "refund to the original payment method", "收货地址可以修改吗",
]


def test_scores_equal_rank_bm25_on_real_tokens():
    tokenizer = Tokenizer()
    corpus = [tokenizer.tokenize(s) for s in SENTENCES * 3]
    reference, ours = BM25Okapi(corpus), BM25Index.build(corpus)
    for query in ("退款多久到账", "金卡会员运费", "return refund", "双11定金能退吗", "iphone电池"):
        tokens = tokenizer.tokenize(query)
        np.testing.assert_allclose(ours.scores(tokens), reference.get_scores(tokens), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_scores_equal_rank_bm25_on_random_corpora(seed):
    rng = random.Random(seed)
    vocabulary = [f"w{i}" for i in range(80)]
    corpus = [[rng.choice(vocabulary) for _ in range(rng.randint(1, 15))] for _ in range(257)]
    reference, ours = BM25Okapi(corpus), BM25Index.build(corpus)
    for _ in range(10):
        query = [rng.choice(vocabulary) for _ in range(rng.randint(1, 4))] + ["unseen"]
        np.testing.assert_allclose(ours.scores(query), reference.get_scores(query), rtol=1e-5, atol=1e-5)


def test_empty_corpus_scores_nothing():
    index = BM25Index.build([])
    assert index.scores(["退款"]).shape == (0,)


def test_tiny_corpus_never_scores_a_match_at_or_below_a_non_match():
    # rank-bm25 gives the matching document 0 here (IDF log(1.5/1.5) = 0)
    assert BM25Okapi([["退款"], ["发票"]]).get_scores(["退款"])[0] == 0
    scores = BM25Index.build([["退款"], ["发票"]]).scores(["退款"])
    assert scores[0] > scores[1] == 0
    # a term in every document: rank-bm25's IDF is negative
    scores = BM25Index.build([["退款", "多久"], ["退款"], ["退款", "发票"]]).scores(["退款", "多久"])
    assert scores[0] > scores[1] > 0


def test_documents_without_tokens_and_unknown_terms():
    index = BM25Index.build([[], ["退款"], []])
    assert index.scores(["发票"]).tolist() == [0.0, 0.0, 0.0]
    assert index.scores([]).tolist() == [0.0, 0.0, 0.0]
    assert index.scores(["退款"])[1] > 0
