"""Near misses: the `uncovered` feature and the swapped-term probes calibration fits it on."""

from __future__ import annotations

import random

import pytest

from cs_rag.retrieval.near_miss import (
    names_in,
    near_miss_names,
    near_miss_terms,
    swap_salient_term,
    terms_unknown_to,
    uncovered_share,
)
from cs_rag.text import Tokenizer

TOKENIZER = Tokenizer()


def test_uncovered_share_weighs_missing_words_by_idf():
    weights = {"双11": 3.0, "满减": 2.0, "规则": 1.0}
    covered = frozenset({"双11", "满减", "规则"})
    assert uncovered_share(["双11", "满减", "规则"], covered, weights) == 0.0
    # 双12 is unknown to the knowledge: it weighs as much as the rarest known word (3.0)
    assert uncovered_share(["双12", "满减", "规则"], covered, weights) == pytest.approx(3 / 6)
    assert uncovered_share(["满减", "规则"], frozenset({"规则"}), weights) == pytest.approx(2 / 3)
    assert uncovered_share([], covered, weights) == 0.0


def test_the_most_telling_word_is_swapped_for_one_the_knowledge_lacks():
    weights = {"退款": 5.0, "到账": 3.0, "多久": 0.5}
    swapped = swap_salient_term("退款多久到账", TOKENIZER, weights, ["话费充值"], random.Random(0))
    assert swapped == "话费充值多久到账"
    assert swap_salient_term("你好", TOKENIZER, {}, ["话费充值"], random.Random(0)) is None


def test_only_terms_the_knowledge_never_uses_are_swapped_in():
    known = {"淘宝": 2.0}

    def weights_of(tokens):
        return {t: known[t] for t in tokens if t in known}

    unknown = terms_unknown_to(weights_of, TOKENIZER, ["淘宝", "拼多多", "Amazon"])
    assert "淘宝" not in unknown and "拼多多" in unknown and "Amazon" in unknown
    assert len(near_miss_terms()) > 50 and all(t.strip() == t for t in near_miss_terms())


def test_names_are_the_platforms_events_and_services_not_the_probe_only_terms():
    names = near_miss_names()
    assert {"京东", "双12", "话费充值", "Black Friday"} <= set(names)
    assert not {"冰箱", "十二月", "香港"} & set(names)      # products, months, places: probes only
    assert set(names) < set(near_miss_terms())


def test_a_name_is_found_whole():
    names = ["618", "双12", "Black Friday"]
    assert names_in("618有什么活动", names) == ["618"]
    assert names_in("这个6180元的电视", names) == []          # not a word of its own
    assert names_in("双12还有满减吗", names) == ["双12"]
    assert names_in("is there a BLACK FRIDAY sale", names) == ["Black Friday"]
