"""The shipped offensive-language classifier: loads without pickle, deterministic, sensible."""

from __future__ import annotations

import importlib.resources

import numpy as np
import pytest

from cs_rag.guard.classifier import (
    FeatureConfig,
    OffensiveClassifier,
    hashed_counts,
    load_offensive_classifier,
    tfidf_values,
    threshold_for_share,
)

OFFENSIVE = ["你们这帮骗子客服都是废物，滚你妈的，脑子被狗吃了吧"]
POLITE = ["请问我上周五下的订单什么时候能发货？谢谢", "Hello, could you tell me when my order will ship?"]


@pytest.fixture(scope="module")
def classifier() -> OffensiveClassifier:
    loaded = load_offensive_classifier()
    assert loaded is not None, "src/cs_rag/data/guard/offensive.npz is missing"
    return loaded


def test_shipped_file_loads_without_pickle() -> None:
    ref = importlib.resources.files("cs_rag") / "data" / "guard" / "offensive.npz"
    with importlib.resources.as_file(ref) as path:
        assert path.stat().st_size < 5_000_000
        with np.load(path, allow_pickle=False) as data:
            assert {"weights", "idf", "bias", "threshold", "provenance"} <= set(data.files)


def test_declares_provenance_and_threshold(classifier: OffensiveClassifier) -> None:
    assert "Apache-2.0 (COLD)" in classifier.provenance["licence"]
    assert "own writing" in classifier.provenance["licence"]
    assert "COLD" in classifier.provenance["data"] and "training/emotion" in classifier.provenance["data"]
    assert 0.0 < classifier.threshold < 1.0
    assert classifier.config == FeatureConfig()


def test_a_customer_reporting_a_scammer_is_not_abusing_anyone(classifier: OffensiveClassifier) -> None:
    """COLD alone scored the first at 0.93: to it, 骗子 was abuse. The shop's own messages
    teach the model who the word is aimed at."""
    report, insult = classifier.predict_proba(["有人冒充你们客服打电话说要给我理赔，这是骗子吧？",
                                               "你们就是一群骗子，垃圾平台"])
    assert report < classifier.threshold <= insult


def test_deterministic(classifier: OffensiveClassifier) -> None:
    texts = OFFENSIVE + POLITE
    first = classifier.predict_proba(texts)
    assert first.shape == (3,)
    assert np.array_equal(first, classifier.predict_proba(texts))
    assert np.array_equal(first, np.concatenate([classifier.predict_proba([t]) for t in texts]))


def test_offensive_above_and_polite_below_threshold(classifier: OffensiveClassifier) -> None:
    offensive, *polite = classifier.predict_proba(OFFENSIVE + POLITE)
    assert offensive >= classifier.threshold
    assert all(p < classifier.threshold for p in polite)


def test_traditional_and_full_width_score_like_simplified(classifier: OffensiveClassifier) -> None:
    simplified, traditional = classifier.predict_proba(["请问订单什么时候发货", "請問訂單什麼時候發貨"])
    assert simplified == pytest.approx(traditional)


def test_empty_inputs(classifier: OffensiveClassifier) -> None:
    assert classifier.predict_proba([]).shape == (0,)
    empty = classifier.predict_proba([""])
    assert empty.shape == (1,) and 0.0 < empty[0] < 1.0


def test_features_are_stable_hashes() -> None:
    """The shipped weights are indexed by these buckets: changing the hash invalidates them."""
    config = FeatureConfig(n_features=2 ** 18)
    indptr, indices, counts = hashed_counts(["啊啊", ""], config)
    # CRC-32 % 2**18: "啊啊" -> 250759 once, "啊" -> 253752 twice; the empty text has no row entries
    assert indptr.tolist() == [0, 2, 2]
    assert indices.tolist() == [250759, 253752]
    assert counts.tolist() == [1.0, 2.0]
    values = tfidf_values(indptr, indices, counts, np.ones(config.n_features))
    assert np.linalg.norm(values) == pytest.approx(1.0)


def test_save_load_round_trip(tmp_path, classifier: OffensiveClassifier) -> None:
    path = tmp_path / "offensive.npz"
    classifier.save(path)
    again = load_offensive_classifier(path)
    assert again is not None
    texts = OFFENSIVE + POLITE
    assert np.allclose(again.predict_proba(texts), classifier.predict_proba(texts))
    assert again.provenance == classifier.provenance


def test_missing_file_gives_none(tmp_path) -> None:
    assert load_offensive_classifier(tmp_path / "absent.npz") is None


def test_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="shape"):
        OffensiveClassifier(np.zeros(3), np.zeros(4), 0.0, 0.5, FeatureConfig(n_features=4), {})


def test_threshold_for_share_flags_at_most_that_share() -> None:
    scores = [i / 100 for i in range(100)]          # 0.00 .. 0.99
    threshold = threshold_for_share(scores, 0.05)
    assert sum(s >= threshold for s in scores) == 5 and threshold > 0.94
    assert sum(s >= threshold_for_share(scores, 0.0) for s in scores) == 0
    with pytest.raises(ValueError):
        threshold_for_share([], 0.01)


def test_operating_threshold_is_the_customer_service_one(classifier: OffensiveClassifier) -> None:
    carve = classifier.provenance["carve_threshold"]
    assert carve <= classifier.threshold == pytest.approx(classifier.provenance["service_threshold"])
    assert "FAQ" in classifier.provenance["threshold_rule"]
    assert classifier.predict_proba(["退货要怎么操作"])[0] < classifier.threshold
