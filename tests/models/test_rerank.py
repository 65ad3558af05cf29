"""Rerank stage: ordering contract, copies, text per kind, loading errors, a real (random-head) cross-encoder."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cs_rag.errors import EmbeddingError
from cs_rag.models.rerank import CrossEncoderReranker, Reranker
from cs_rag.types import DocumentKind, Hit

QUERY = "退款多久能到账"


def _faq(i: int, matched: str) -> Hit:
    return Hit(id=f"faq-{i}", doc_id=f"faq-{i}", score=1.0 - i / 10, source="faq.jsonl", kind=DocumentKind.FAQ,
               text=f"答案{i}", question=f"标准问题{i}", matched_text=matched,
               scores={"bm25": 1.0 + i, "dense": 0.5 - i / 100})


def _policy(i: int, heading: list[str], text: str) -> Hit:
    return Hit(id=f"pol-{i}", doc_id="policy", score=0.5 - i / 100, source="退换货政策.md",
               kind=DocumentKind.POLICY, text=text, heading_path=heading, matched_text="\n".join([*heading, text]),
               scores={"bm25": 2.0, "dense": 0.4})


HITS = [
    _faq(0, "退款多久到账"),
    _faq(1, "怎么开发票"),
    _policy(2, ["退换货政策", "七天无理由退货"], "签收后七天内，商品完好且不影响二次销售的，可申请无理由退货。"),
    _faq(3, "下单后多久发货"),
    # Far beyond the model's 512 positions: proves the pair is truncated to max_length.
    _policy(4, ["退换货政策", "不支持退货的商品"], "定制商品、已激活的软件和拆封的耳机不支持无理由退货。" * 200),
    _faq(5, "How do I upgrade to gold membership?"),
    _faq(6, "钱什么时候退回来"),
]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """e5-small's encoder with a randomly initialised one-label head: real plumbing, meaningless scores."""
    import torch
    from sentence_transformers import CrossEncoder

    from cs_rag.models.e5_convert import e5_model_dir

    folder = tmp_path_factory.mktemp("cross-encoder")
    with torch.random.fork_rng():  # seed the head without disturbing other tests' RNG
        torch.manual_seed(0)
        CrossEncoder(str(e5_model_dir()), num_labels=1).save(str(folder))
    return folder


@pytest.fixture(scope="module")
def reranker(model_dir: Path) -> CrossEncoderReranker:
    return CrossEncoderReranker(model_dir, batch_size=4)


class ScriptedReranker:
    """Stand-in backend: ranks by a fixed score per hit id."""

    def __init__(self, scores: dict[str, float]) -> None:
        self.scores = scores

    def rerank(self, query: str, hits: list[Hit], top_n: int) -> list[Hit]:
        head = [h.model_copy(update={"scores": {**h.scores, "rerank": self.scores[h.id]}}) for h in hits[:top_n]]
        return sorted(head, key=lambda h: -h.scores["rerank"]) + hits[top_n:]


def _scripted_scores(reranker: CrossEncoderReranker, scores: list[float], seen: list[str]) -> None:
    """Replace model scoring on one instance, recording the texts it would have scored."""
    def score(query: str, texts: list[str]) -> list[float]:
        seen.extend(texts)
        return scores[:len(texts)]
    reranker._score = score  # type: ignore[method-assign]


def test_protocol_is_structural() -> None:
    assert isinstance(ScriptedReranker({}), Reranker)
    assert isinstance(CrossEncoderReranker("/nonexistent"), Reranker)
    assert not isinstance(object(), Reranker)


def test_scripted_backend_meets_contract() -> None:
    backend: Reranker = ScriptedReranker({h.id: float(i % 3) for i, h in enumerate(HITS)})
    out = backend.rerank(QUERY, HITS, top_n=4)
    assert sorted(h.id for h in out[:4]) == sorted(h.id for h in HITS[:4])
    assert [h.scores["rerank"] for h in out[:4]] == sorted((h.scores["rerank"] for h in out[:4]), reverse=True)


def test_head_permuted_tail_untouched(reranker: CrossEncoderReranker) -> None:
    out = reranker.rerank(QUERY, HITS, top_n=5)
    assert len(out) == len(HITS)
    assert sorted(h.id for h in out[:5]) == sorted(h.id for h in HITS[:5])
    assert out[5:] == HITS[5:]
    assert all("rerank" not in h.scores for h in out[5:])


def test_scores_are_floats_and_order_is_stable_descending(reranker: CrossEncoderReranker) -> None:
    out = reranker.rerank(QUERY, HITS, top_n=5)
    rerank = {h.id: h.scores["rerank"] for h in out[:5]}
    assert all(type(s) is float for s in rerank.values())
    expected = sorted(HITS[:5], key=lambda h: -rerank[h.id])  # stable against the input order
    assert [h.id for h in out[:5]] == [h.id for h in expected]


def test_only_scores_change_and_inputs_are_not_mutated(reranker: CrossEncoderReranker) -> None:
    before = [h.model_dump() for h in HITS]
    out = reranker.rerank(QUERY, HITS, top_n=len(HITS))
    assert [h.model_dump() for h in HITS] == before
    by_id = {h.id: h for h in HITS}
    for hit in out:
        original = by_id[hit.id]
        assert hit is not original
        assert hit.score == original.score  # the fused score is the retriever's to combine
        assert hit.scores == {**original.scores, "rerank": hit.scores["rerank"]}
        assert hit.model_dump(exclude={"scores"}) == original.model_dump(exclude={"scores"})


def test_deterministic(reranker: CrossEncoderReranker, model_dir: Path) -> None:
    first = reranker.rerank(QUERY, HITS, top_n=6)
    assert reranker.rerank(QUERY, HITS, top_n=6) == first
    assert CrossEncoderReranker(model_dir, batch_size=32).rerank(QUERY, HITS, top_n=6) == first


def test_top_n_beyond_hits(reranker: CrossEncoderReranker) -> None:
    out = reranker.rerank(QUERY, HITS[:3], top_n=50)
    assert sorted(h.id for h in out) == sorted(h.id for h in HITS[:3])
    assert all("rerank" in h.scores for h in out)


def test_empty_and_non_positive_top_n_need_no_model() -> None:
    unloadable = CrossEncoderReranker("/nonexistent/cross-encoder")
    assert unloadable.rerank(QUERY, [], top_n=20) == []
    assert unloadable.rerank(QUERY, HITS, top_n=0) == HITS
    assert unloadable.rerank(QUERY, HITS, top_n=-3) == HITS


def test_ties_keep_input_order() -> None:
    reranker = CrossEncoderReranker("/nonexistent")
    _scripted_scores(reranker, [0.5, 0.9, 0.5, 0.9, 0.1], [])
    out = reranker.rerank(QUERY, HITS, top_n=5)
    assert [h.id for h in out] == ["faq-1", "faq-3", "faq-0", "pol-2", "pol-4", "faq-5", "faq-6"]


def test_text_scored_per_kind() -> None:
    reranker = CrossEncoderReranker("/nonexistent")
    seen: list[str] = []
    _scripted_scores(reranker, [0.0] * 3, seen)
    no_match = _faq(9, "ignored").model_copy(update={"matched_text": None})
    reranker.rerank(QUERY, [HITS[0], HITS[2], no_match], top_n=3)
    assert seen == ["退款多久到账",
                    "退换货政策\n七天无理由退货\n签收后七天内，商品完好且不影响二次销售的，可申请无理由退货。",
                    "标准问题9"]


@pytest.mark.parametrize("make", [lambda p: p / "missing", lambda p: p], ids=["missing", "not-a-model"])
def test_unloadable_folder_names_it(tmp_path: Path, make) -> None:
    (tmp_path / "notes.txt").write_text("not a model", encoding="utf-8")
    folder = make(tmp_path)
    with pytest.raises(EmbeddingError, match=re.escape(str(folder))):
        CrossEncoderReranker(folder).rerank(QUERY, HITS, top_n=3)
