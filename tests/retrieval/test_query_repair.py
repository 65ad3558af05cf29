"""Query repair: homophone typos by sound against the knowledge's words, Latin shorthand."""

from __future__ import annotations

import pytest

from cs_rag.retrieval.query_repair import QueryRepair, shorthand
from cs_rag.text import Tokenizer

VOCABULARY = ["退款", "运费", "发票", "到账", "包邮", "实时", "快递", "优惠券", "支付宝", "密码", "收货", "地址",
              "保修", "退货", "订单", "微信", "投诉"]


@pytest.fixture(scope="module")
def repair() -> QueryRepair:
    return QueryRepair(VOCABULARY, Tokenizer())


@pytest.mark.parametrize("typed, meant", [
    ("退宽多久到帐", "退款多久到账"),     # two homophone typos in one question
    ("运废谁出", "运费谁出"),
    ("发漂怎么开", "发票怎么开"),
    ("zfb能付吗 KD到哪了", "支付宝能付吗 快递到哪了"),   # shorthand, case ignored
    ("yhq咋用", "优惠券咋用"),
    ("手机过保了能走bx吗", "手机过保了能走保修吗"),
    ("支持zfb/wx吗", "支持支付宝/微信吗"),          # a slash between words is punctuation
    ("shdz填错了", "收货地址填错了"),   # a word the knowledge uses as two tokens
    ("tuikuan多久到帐", "退款多久到账"),   # a word typed in pinyin
    ("Tuikuan多久到帐", "退款多久到账"),   # capitalised by the phone's keyboard
    ("fapiao", "发票"),                    # alone
])
def test_misspellings_become_the_knowledges_words(repair, typed, meant):
    assert repair.repair(typed) == meant


@pytest.mark.parametrize("text", [
    "事实上我想问一下",          # a common word that sounds like 实时 stays
    "我的包裹丢了",              # nothing to repair
    "please check my zfbx order",  # shorthand only as a whole word
    "退款多久到账",              # already the knowledge's words
    "厚度8mm 5th floor",         # letters touching a digit are a unit or an ordinal (th: 退货)
    "邮箱dd@qq.com tk_123 sh-01",  # an address, a code
    "where is my fapiao",        # pinyin inside an English sentence stays
    "tuikuan2号到账吗",          # a pinyin word touching a digit stays
    "zfmm忘了",                  # 支付密码: 支付 is not a word of this knowledge
])
def test_what_needs_no_repair_is_left_alone(repair, text):
    assert repair.repair(text) == text


def test_a_sound_shared_by_two_words_of_the_knowledge_repairs_nothing():
    ambiguous = QueryRepair(["实时", "事实"], Tokenizer())
    assert ambiguous.repair("时实") == "时实"


def test_shorthand_only_becomes_words_the_knowledge_uses():
    english = QueryRepair(["refund", "card"], Tokenizer())
    assert english.repair("th card dd refund") == "th card dd refund"


def test_pinyin_that_is_a_word_of_the_knowledge_or_fits_two_of_its_words_stays():
    assert QueryRepair(["shishi", "实时"], Tokenizer()).repair("shishi") == "shishi"
    assert QueryRepair(["实时", "事实"], Tokenizer()).repair("shishi") == "shishi"


def test_shorthand_for_a_word_the_knowledge_lacks_is_left_alone(repair):
    assert repair.repair("tb上买的 pdd也行") == "tb上买的 pdd也行"   # 淘宝 and 拼多多 are not its words


def test_the_shipped_shorthand_maps_letters_to_words():
    table = shorthand()
    assert table["zfb"] == "支付宝" and table["tk"] == "退款"
    assert all(key == key.lower() and key.isascii() for key in table)
