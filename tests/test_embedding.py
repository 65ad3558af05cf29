"""The embedder: roles, normalisation, order, the single-query fast path (real model)."""

import numpy as np
import pytest

from cs_rag.embedding import Embedder

pytestmark = pytest.mark.slow

TEXTS = ["退款多久到账", "iPhone15 Pro的电池续航怎么样？", "How do I reset my password?",
         "金卡会员每月有几次免费退货上门取件", "好的～谢谢亲"]


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder()


def test_vectors_are_normalised_and_keep_input_order(embedder):
    batch = embedder.encode(TEXTS, "query")
    assert batch.shape == (len(TEXTS), embedder.dimension) and batch.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-4)
    for i, text in enumerate(TEXTS):  # length-sorted batching must not permute the rows
        np.testing.assert_allclose(embedder.encode([text], "query")[0], batch[i], atol=1e-4)


def test_roles_differ_for_e5(embedder):
    query, passage = embedder.encode(["退款多久到账"], "query"), embedder.encode(["退款多久到账"], "passage")
    assert float(query[0] @ passage[0]) < 0.999


def test_single_query_fast_path_matches_the_batch_model(embedder):
    batch = embedder.encode(TEXTS, "query")
    for i, text in enumerate(TEXTS):
        assert float(embedder.encode_query(text) @ batch[i]) > 0.999


def test_text_keys_follow_model_role_and_text(embedder):
    keys = {embedder.text_key("退款", "query"), embedder.text_key("退款", "passage"),
            embedder.text_key("退货", "query")}
    assert len(keys) == 3 and embedder.text_key("退款", "query") == embedder.text_key("退款", "query")
