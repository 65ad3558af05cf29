"""A knowledge base's fine-tune of the embedding model: its training pairs, persistence without
pickle, the tuned model, and when an ingest fits, keeps or drops it (on both backends)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import write_jsonl

from cs_rag import KnowledgeBase
from cs_rag.answering.guard_encoder import GuardEncoder
from cs_rag.config import Settings
from cs_rag.errors import IndexMismatchError
from cs_rag.index.store import TUNED_FILE
from cs_rag.models import embedding, query_pass, tuning
from cs_rag.models.embedding import Embedder
from cs_rag.models.tuning import TunedLayers, eligible, group_hash, training_pairs
from cs_rag.types import Chunk, DocumentKind

PRODUCTS = ["手机", "耳机", "电脑", "键盘", "鼠标", "音箱", "手表", "相机", "平板", "台灯", "冰箱",
            "空调", "洗衣机", "电视", "风扇", "热水器", "微波炉", "烤箱", "吸尘器", "路由器",
            "充电宝", "显示器", "打印机", "投影仪", "剃须刀", "吹风机", "电饭煲", "榨汁机", "净水器",
            "加湿器", "电暖器", "扫地机"]


def entries(products: list[str], answer: str = "享受一年保修，在订单页申请售后即可。") -> list[dict]:
    return [{"id": f"e{i}", "question": f"{p}坏了怎么保修",
             "similar_questions": [f"{p}出故障了能修吗", f"{p}保修期多久"], "answer": p + answer}
            for i, p in enumerate(products)]


def faq_chunk(doc_id: str, questions: list[str], answer: str) -> Chunk:
    return Chunk(id=doc_id, doc_id=doc_id, kind=DocumentKind.FAQ, source="faq.jsonl", text=answer,
                 match_texts=questions, question=questions[0])


POLICY = "# 保修政策\n\n## 保修期\n所有电器自签收之日起保修一年，人为损坏不在保修范围内。\n"


def write_faq(folder, products: list[str]) -> None:
    """An FAQ of `products` and a policy document beside it (what the fine-tune is for)."""
    folder.mkdir(exist_ok=True)
    write_jsonl(folder / "faq.jsonl", entries(products))
    (folder / "policy.md").write_text(POLICY, encoding="utf-8")


@pytest.fixture
def quick_fit(monkeypatch):
    """One short epoch: the tests check the plumbing, benchmarks/decisions.py the quality."""
    monkeypatch.setattr(tuning, "EPOCHS", 1)
    monkeypatch.setattr(tuning, "MAX_PAIRS", 64)


def test_training_pairs_are_each_questions_siblings_and_its_answer():
    chunks = [faq_chunk("a", ["退款多久到账", "钱什么时候退回来", "退款多久到账"], "三个工作日内原路退回。"),
              faq_chunk("b", ["怎么开发票"], "在订单页申请电子发票。"),
              Chunk(id="p#0", doc_id="p", kind=DocumentKind.POLICY, source="p.md", text="政策",
                    match_texts=["政策"])]
    pairs = training_pairs(chunks)
    assert {(p.anchor, p.positive, p.positive_role) for p in pairs if p.entry == "a"} == {
        ("退款多久到账", "钱什么时候退回来", "query"), ("钱什么时候退回来", "退款多久到账", "query"),
        ("退款多久到账", "三个工作日内原路退回。", "passage"),
        ("钱什么时候退回来", "三个工作日内原路退回。", "passage")}
    assert [(p.anchor, p.positive_role) for p in pairs if p.entry == "b"] == [("怎么开发票", "passage")]
    assert all(p.entry != "p" for p in pairs)   # documents have no question groups
    declined = faq_chunk("d", ["拼多多退款多久到账", "拼多多的钱几天退回"], "").model_copy(
        update={"tags": ["learned", "declined"]})
    assert training_pairs([*chunks, declined]) == pairs   # wordings the team does not answer


def test_only_an_faq_with_enough_similar_questions_beside_documents_is_eligible():
    grouped = [faq_chunk(f"e{i}", [f"问题{i}", f"说法{i}"], "答") for i in range(tuning.MIN_GROUPS)]
    single = [faq_chunk(f"s{i}", [f"单{i}"], "答") for i in range(tuning.MIN_GROUPS + 1)]
    policy = [Chunk(id="p#0", doc_id="p", kind=DocumentKind.POLICY, source="p.md", text="政策",
                    match_texts=["政策"])]
    assert eligible(grouped + policy)
    assert not eligible(grouped)              # FAQ-only knowledge is the adapter's
    assert not eligible(grouped[:-1] + policy)
    assert not eligible(grouped + single + policy)   # under half of the entries have similar questions
    declined = [c.model_copy(update={"tags": ["declined"]}) for c in grouped]
    assert not eligible(declined + policy)           # declined entries are not the knowledge's


def test_tuned_layers_round_trip_as_text_and_say_what_changed():
    rng = np.random.default_rng(0)
    layers = TunedLayers("e5", {"encoder.layer.11.output.dense.weight": rng.normal(size=(4, 3)).astype(np.float32)},
                         groups=["g1", "g2", "g3", "g4"], seconds=2.5)
    back = TunedLayers.from_text(layers.to_text())
    assert back.digest == layers.digest and back.groups == layers.groups and back.base_model == "e5"
    np.testing.assert_allclose(back.tensors["encoder.layer.11.output.dense.weight"],
                               layers.tensors["encoder.layer.11.output.dense.weight"], atol=1e-3)
    assert layers.changed_share(["g1", "g2", "g3", "new"]) == 0.25
    with pytest.raises(ValueError, match="not tuned layers"):
        TunedLayers.from_text(json.dumps({"base_model": "e5", "groups": [], "safetensors": "!!"}))


def test_a_fit_changes_only_the_top_layers_and_shares_the_embeddings(quick_fit):
    embedder = Embedder()
    chunks = [faq_chunk(f"e{i}", [f"{p}坏了怎么保修", f"{p}出故障了能修吗"], f"{p}保修一年。")
              for i, p in enumerate(PRODUCTS)]
    layers = tuning.fine_tune(embedder._base.get(), embedder.name, chunks)
    assert layers.base_model == embedder.name
    assert layers.groups == sorted(group_hash(c) for c in chunks)
    n = len(embedder._base.get()[0].auto_model.encoder.layer)
    top = {f"encoder.layer.{i}." for i in range(n - tuning.TOP_LAYERS, n)}
    assert layers.tensors and all(any(k.startswith(t) for t in top) for k in layers.tensors)
    tuned = embedder.with_tuned(layers)
    base_model, tuned_model = embedder._base.get(), tuned._load()
    assert tuned_model[0].auto_model.embeddings is base_model[0].auto_model.embeddings
    question = "扫地机不转了"
    before, after = embedder.encode([question], "query")[0], tuned.encode_query(question)
    assert float(before @ after) < 0.9999           # the tuned model embeds differently
    assert tuned.text_key(question, "query") != embedder.text_key(question, "query")
    np.testing.assert_allclose(tuned.encode([question], "query")[0], after, atol=1e-5)


def test_ingest_fits_keeps_refits_and_drops_the_fine_tune(tmp_path, quick_fit, settings):
    folder = tmp_path / "k"
    write_faq(folder, PRODUCTS)
    kb = KnowledgeBase(tmp_path / "idx", settings)
    first = kb.ingest([folder])
    assert first.tuning.startswith(f"fine-tuned the embedding model on {len(PRODUCTS)} FAQ entries")
    assert (kb.store.live().folder / TUNED_FILE).is_file()
    digest = kb.retriever().embedder.tuned_layers.digest
    reopened = KnowledgeBase(tmp_path / "idx", settings)
    assert reopened.retriever().embedder.tuned_layers.digest == digest
    assert reopened.search("扫地机出故障了")[0].doc_id == f"e{PRODUCTS.index('扫地机')}"
    second = KnowledgeBase(tmp_path / "idx2", settings).ingest([folder])   # the same FAQ again
    assert second.tuning.endswith("from the cache)")
    assert KnowledgeBase(tmp_path / "idx2", settings).retriever().embedder.tuned_layers.digest == digest

    changed = entries(PRODUCTS)
    changed[0]["similar_questions"][0] = "手机屏幕碎了保修吗"   # 1 of 32 entries: under REFIT_SHARE
    write_jsonl(folder / "faq.jsonl", changed)
    kept = kb.ingest([folder])
    assert kept.tuning.startswith("kept the fine-tune") and kept.texts_embedded == 1
    assert kb.retriever().embedder.tuned_layers.digest == digest

    refit = kb.ingest([folder], refit=True)
    policy_texts = sum(len(c.match_texts) for c in kb.content().chunks if c.kind is DocumentKind.POLICY)
    assert refit.tuning.startswith("fine-tuned")
    assert refit.texts_embedded == 3 * len(PRODUCTS) + policy_texts   # every text, under new weights
    assert kb.retriever().embedder.tuned_layers.digest != digest

    write_faq(folder, PRODUCTS[:tuning.MIN_GROUPS - 1])
    dropped = kb.ingest([folder])
    assert dropped.tuning is None and not (kb.store.live().folder / TUNED_FILE).exists()
    assert kb.retriever().embedder.tuned_layers is None


def test_fine_tune_off_embeds_with_the_model_itself(tmp_path, quick_fit):
    folder = tmp_path / "k"
    write_faq(folder, PRODUCTS)
    kb = KnowledgeBase(tmp_path / "idx", Settings.model_validate({"index": {"fine_tune": False}}))
    assert kb.ingest([folder]).tuning is None
    assert kb.retriever().embedder.tuned_layers is None
    question = ["扫地机出故障了能修吗"]
    assert np.array_equal(GuardEncoder(kb).encode_queries(question),   # the guard shares its vectors
                          kb.retriever().embedder.encode_queries(question))


def test_an_unreadable_fine_tune_names_its_file(tmp_path, quick_fit, settings):
    folder = tmp_path / "k"
    write_faq(folder, PRODUCTS)
    KnowledgeBase(tmp_path / "idx", settings).ingest([folder])
    path = KnowledgeBase(tmp_path / "idx", settings).store.live().folder / TUNED_FILE
    path.write_text("{}", encoding="utf-8")
    with pytest.raises(IndexMismatchError, match=TUNED_FILE):
        KnowledgeBase(tmp_path / "idx", settings).search("手机坏了")
    with pytest.raises(IndexMismatchError, match="--refit"):
        KnowledgeBase(tmp_path / "idx", settings).ingest([folder])
    assert KnowledgeBase(tmp_path / "idx", settings).ingest([folder], refit=True).tuning.startswith("fine-tuned")
    assert KnowledgeBase(tmp_path / "idx", settings).search("手机坏了")[0].doc_id == "e0"


def test_a_fine_tuned_copy_is_shared_while_used_and_freed_after():
    import gc

    layers = TunedLayers(Embedder().name, {}, ["g"])
    first, second = Embedder().with_tuned(layers), Embedder().with_tuned(layers)
    assert first._model is second._model                  # two knowledge bases, one copy
    held = [k for k in list(embedding._TUNED) if k[-1] == layers.digest]
    assert len(held) == 1
    del first, second
    gc.collect()
    assert not [k for k in list(embedding._TUNED) if k[-1] == layers.digest]


def test_the_guard_of_a_fine_tuned_knowledge_base_reads_the_base_models_vectors(tmp_path, quick_fit, settings):
    """The guard's message model was trained on the base model's vectors; a fine-tuned knowledge
    base's question vectors are another model's and misread calm questions (as level 3)."""
    folder = tmp_path / "k"
    write_faq(folder, PRODUCTS)
    kb = KnowledgeBase(tmp_path / "idx", settings)
    kb.ingest([folder])
    assert kb.retriever().embedder.tuned_layers is not None
    question = ["扫地机出故障了能修吗"]
    base = Embedder(settings.embedding).encode(question, "query")
    tuned = kb.retriever().embedder.encode(question, "query")
    assert not np.allclose(tuned, base, atol=1e-3)
    encoder = GuardEncoder(kb)
    assert encoder.name == kb.retriever().embedder.name
    assert np.allclose(encoder.encode_queries(question), base, atol=1e-5)
    kb.ingest([folder], refit=True)   # a refit: another fine-tune, the same base
    assert np.allclose(encoder.encode_queries(question), base, atol=1e-5)


@pytest.fixture
def tuned_embedder(tmp_path, quick_fit, settings) -> Embedder:
    """The fine-tuned embedder of a small FAQ's knowledge base."""
    folder = tmp_path / "k"
    write_faq(folder, PRODUCTS)
    kb = KnowledgeBase(tmp_path / "idx", settings)
    kb.ingest([folder])
    return kb.retriever().embedder


QUESTIONS = ["扫地机出故障了能修吗", "耳机左边没声了怎么报修"]


def test_one_pass_gives_the_guard_its_base_vector_and_retrieval_its_tuned_one(tuned_embedder, monkeypatch):
    """The layers below the tuned ones run once a question for both vectors (models.query_pass);
    each equals its model's own, and retrieval then finds its vector cached."""
    embedder = tuned_embedder
    tuned = embedder.encode(QUESTIONS, "query")
    base = embedder.with_tuned(None).encode(QUESTIONS, "query")
    assert embedder._split_at.get() == 12 - tuning.TOP_LAYERS   # the probe check passed
    lowest = embedder._base.get()[0].auto_model.encoder.layer[0]
    runs = []
    hook = lowest.register_forward_hook(lambda *args: runs.append(1))
    try:
        assert np.allclose(embedder.base_query_vectors(QUESTIONS), base, atol=1e-5)
    finally:
        hook.remove()
    assert len(runs) == len(QUESTIONS)

    def embedded_apart(*args, **kwargs):
        raise AssertionError("the one pass should have left the tuned vector in the cache")

    monkeypatch.setattr(embedder, "encode", embedded_apart)
    assert np.allclose(np.stack([embedder.encode_query(q) for q in QUESTIONS]), tuned, atol=1e-5)


@pytest.mark.parametrize("split", ["wrong vectors", "layers that need more"])
def test_a_model_one_pass_cannot_reproduce_is_embedded_twice(tuned_embedder, settings, monkeypatch, split):
    """The split is proved on a probe first: vectors that differ from encode's, or layers that
    cannot be called alone, leave each question embedded by the untuned model apart."""
    def wrong(base_model, tuned_model, first, text, prompt):
        return np.zeros(384, dtype=np.float32), np.zeros(384, dtype=np.float32)

    def refuses(*args):
        raise TypeError("forward() missing 1 required positional argument: 'attention_mask'")

    monkeypatch.setattr(query_pass, "vectors_after_split", wrong if split == "wrong vectors" else refuses)
    fresh = tuned_embedder.with_tuned(tuned_embedder.tuned_layers)   # its split not yet found
    untuned = Embedder(settings.embedding).encode_queries(QUESTIONS)
    assert np.array_equal(fresh.base_query_vectors(QUESTIONS), untuned)
    assert fresh._split_at.get() is None


def test_many_texts_get_base_vectors_in_one_batch(tuned_embedder, settings):
    texts = [f"{q}{i}" for i in range(5) for q in QUESTIONS]   # more than SINGLE_QUERIES
    assert len(texts) > embedding.SINGLE_QUERIES
    assert np.allclose(tuned_embedder.base_query_vectors(texts),
                       Embedder(settings.embedding).encode(texts, "query"), atol=1e-5)


class Transformer:
    pass


class Pooling:
    def __init__(self, mode="mean", include_prompt=True):
        self.pooling_mode, self.include_prompt = mode, include_prompt


class Normalize:
    pass


class Dense:
    pass


def test_only_a_transformer_with_mean_pooling_over_every_token_is_split():
    layers = {"encoder.layer.8.output.dense.weight": np.zeros(1), "encoder.layer.11.attention.w": np.zeros(1)}
    assert query_pass.structural_split_point(layers, [Transformer(), Pooling(), Normalize()]) == 8
    assert query_pass.structural_split_point(layers, [Transformer(), Pooling()]) == 8
    for model in ([Transformer(), Pooling("cls"), Normalize()],
                  [Transformer(), Pooling(include_prompt=False), Normalize()],
                  [Transformer(), Pooling(), Dense(), Normalize()],
                  [Transformer(), Normalize()]):
        assert query_pass.structural_split_point(layers, model) is None
    model = [Transformer(), Pooling(), Normalize()]
    assert query_pass.structural_split_point({"embeddings.word_embeddings.weight": np.zeros(1)}, model) is None
    assert query_pass.structural_split_point({}, model) is None
