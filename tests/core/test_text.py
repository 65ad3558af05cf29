"""The shared tokenizer: normalisation, user dictionary, stopwords, determinism."""

from pathlib import Path

import pytest

from cs_rag.errors import InputError
from cs_rag.text import Tokenizer, budget_length, normalize, read_user_dict


@pytest.fixture(scope="module")
def plain() -> Tokenizer:
    return Tokenizer()


def test_mixed_product_question(plain):
    assert plain.tokenize("iPhone15 Pro的电池续航怎么样？") == ["iphone", "15", "pro", "电池", "续航", "怎么样"]


def test_refund_question_keeps_intent_words(plain):
    tokens = plain.tokenize("退款多久到账")
    assert tokens[:2] == ["退款", "多久"]
    assert "到" in tokens or "到账" in tokens


def test_full_width_is_folded(plain):
    assert plain.tokenize("ＶＩＰ会员") == ["vip", "会员"]
    assert normalize("ＶＩＰ１２３") == "vip123"


def test_traditional_becomes_simplified(plain):
    assert plain.tokenize("請問會員退貨") == plain.tokenize("请问会员退货")


def test_numbers_kept_punctuation_and_stopwords_dropped(plain):
    tokens = plain.tokenize("我的订单，3.5元运费？24小时内发货吗！")
    assert "3.5" in tokens and "24" in tokens
    assert not {"，", "？", "！", "我", "的", "吗"} & set(tokens)


def test_english_lowercased_and_stopwords_dropped(plain):
    assert plain.tokenize("How do I RESET my Password?") == ["how", "reset", "password"]


def test_user_dictionary_keeps_product_names_whole(tmp_path: Path):
    path = tmp_path / "userdict.txt"
    path.write_text("# terms\n闪电PLUS 10 nz\n以旧换新 20\n", encoding="utf-8")
    custom = Tokenizer.create(path)
    assert custom.tokenize("闪电plus会员能以旧换新吗") == ["闪电plus", "会员", "能", "以旧换新"]
    assert "闪电plus" not in Tokenizer().tokenize("闪电plus会员")


def test_fingerprint_follows_dictionaries(tmp_path: Path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("闪电PLUS\n", encoding="utf-8")
    b.write_text("闪电PLUS\n以旧换新\n", encoding="utf-8")
    assert Tokenizer.create(a).fingerprint != Tokenizer.create(b).fingerprint
    assert Tokenizer([("闪电PLUS", None, None)]).fingerprint == Tokenizer.create(a).fingerprint


def test_deterministic_across_instances(plain):
    text = "双11期间买的MacBook Air能价保吗？差价怎么退"
    assert plain.tokenize(text) == Tokenizer().tokenize(text) == plain.tokenize(text)


def test_bad_user_dictionary_line_is_named(tmp_path: Path):
    path = tmp_path / "userdict.txt"
    path.write_text("闪电PLUS 10\n以旧换新 many\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"userdict.txt:2.*whole number"):
        read_user_dict(path)


def test_budget_length_counts_cjk_chars_and_latin_runs():
    assert budget_length("退款多久到账") == 6
    assert budget_length("iPhone15 Pro 电池") == 4
    assert budget_length("，。！") == 0


def test_synonyms_map_colloquial_terms_to_the_canonical_one(tmp_path: Path):
    path = tmp_path / "synonyms.txt"
    path.write_text("# canonical first\n退款 退钱 把钱退回来\n物流 快递\n", encoding="utf-8")
    tokenizer = Tokenizer.create(synonyms=path)
    assert tokenizer.tokenize("快递到哪了，我要退钱") == tokenizer.tokenize("物流到哪了，我要退款")
    assert "退款" in tokenizer.tokenize("能不能把钱退回来")
    assert tokenizer.fingerprint != Tokenizer().fingerprint


def test_conflicting_synonym_is_named(tmp_path: Path):
    from cs_rag.text import read_synonyms

    path = tmp_path / "synonyms.txt"
    path.write_text("退款 退钱\n退货 退钱\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"synonyms.txt:2.*'退钱' is already a synonym of '退款'"):
        read_synonyms(path)
