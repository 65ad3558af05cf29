"""The shipped agent-reply models: they load without pickle, read clear replies as their
labels say, leave curt but neutral replies alone, and round-trip through save and load."""

from __future__ import annotations

import numpy as np
import pytest

from cs_rag.guard.classifier import FeatureConfig
from cs_rag.qa.reply_models import HEADS, ReplyModels, load_reply_models

# written for these tests, none of them in training/qa/
CLEAR = {
    "impolite": ["规则页面上写得明明白白，您下单前自己不看的吗？",
                 "Like I told you twice already, just read the FAQ."],
    "empathy": ["真的非常抱歉，让您白白等了这么多天，换作是我也会着急。",
                "I'm so sorry about the delay, I understand how frustrating this is."],
    "greeting": ["您好，我是售后客服小周，很高兴为您服务。"],
    "closing": ["请问还有其他可以帮您的吗？祝您生活愉快！", "Is there anything else I can help with? Have a great day!"],
}
# clear too, but below their heads' thresholds, which are set for few false alarms (impolite)
# or to add only what the phrase list cannot find (greeting: its list has hi)
RANKED = {"impolite": ["我都解释两遍了，你到底有没有在听？"], "greeting": ["Hi there, Jake here from the support team."]}
CURT = ["对。", "秒杀商品不支持。", "订单号发一下", "已退款。", "不支持。", "可以。"]


@pytest.fixture(scope="module")
def models() -> ReplyModels:
    shipped = load_reply_models()
    assert shipped is not None, "src/cs_rag/data/qa/replies.npz is missing"
    return shipped


def test_the_shipped_file_has_every_head_and_says_what_it_was_trained_on(models):
    assert models.heads == HEADS
    assert np.all((models.thresholds > 0) & (models.thresholds < 1))
    assert models.provenance["writers"] == {"replies.jsonl": "first", "curt.jsonl": "first",
                                            "replies2.jsonl": "second", "replies3.jsonl": "third",
                                            "replies4.jsonl": "fourth"}
    assert set(models.provenance["other_writer_precision_recall_f1"]) == {"first", "second", "third", "fourth"}
    assert set(models.provenance["heads"]) == set(HEADS)


@pytest.mark.parametrize("head", HEADS)
def test_clear_replies_are_read_as_their_head(models, head):
    for text in CLEAR[head]:
        assert head in models.read([text])[0], text


@pytest.mark.parametrize("head", sorted(RANKED))
def test_clear_replies_below_the_threshold_still_rank_above_curt_ones(models, head):
    column = models.heads.index(head)
    clear = models.predict_proba(CLEAR[head] + RANKED[head])[:, column]
    assert clear.min() > models.predict_proba(CURT)[:, column].max()


def test_curt_neutral_replies_are_not_impolite(models):
    assert [heads for heads in models.read(CURT) if "impolite" in heads] == []


def test_heads_fire_only_on_their_own_kind(models):
    readings = models.read(CLEAR["greeting"] + CLEAR["closing"])
    assert not any("impolite" in r for r in readings)
    assert not any("empathy" in r for r in models.read(CLEAR["impolite"]))


def test_an_empty_batch_reads_nothing(models):
    assert models.read([]) == [] and models.predict_proba([]).shape == (0, len(HEADS))


def test_weights_round_trip_without_pickle(models, tmp_path):
    path = tmp_path / "replies.npz"
    models.save(path)
    with np.load(path, allow_pickle=False) as data:    # raises on any object array
        assert {data[key].dtype.kind for key in data.files} <= {"i", "f", "U"}
    again = load_reply_models(path)
    texts = [t for group in CLEAR.values() for t in group] + CURT
    assert np.allclose(again.predict_proba(texts), models.predict_proba(texts), atol=1e-6)
    assert again.provenance == models.provenance
    assert load_reply_models(tmp_path / "absent.npz") is None


def test_another_format_version_is_refused_naming_the_file(models, tmp_path):
    path = tmp_path / "old.npz"
    models.save(path)
    with np.load(path, allow_pickle=False) as data:
        parts = {key: data[key] for key in data.files}
    np.savez(path, **{**parts, "format_version": np.int64(99)})
    with pytest.raises(ValueError, match="old.npz: reply model format 99"):
        load_reply_models(path)


def test_inconsistent_parts_are_refused():
    config = FeatureConfig(1, 2, 16)
    one = np.zeros(1)
    with pytest.raises(ValueError, match="heads must be distinct"):
        ReplyModels(["rude"], np.zeros((1, 16)), one, one + 0.5, np.ones(16), config, {})
    with pytest.raises(ValueError, match="weights must have shape"):
        ReplyModels(["impolite"], np.zeros((1, 8)), one, one + 0.5, np.ones(16), config, {})
    with pytest.raises(ValueError, match="thresholds must be in"):
        ReplyModels(["impolite"], np.zeros((1, 16)), one, one + 1.0, np.ones(16), config, {})
