"""The embedded extractive default: FAQ answers verbatim, policy sentences that answer."""

from cs_rag.answering.extractive import extract_answer
from cs_rag.text import Tokenizer
from cs_rag.types import DocumentKind, Hit

TOKENIZER = Tokenizer()
POLICY = ("退换货政策适用于闪电优选自营商品。签收之日起7天内可申请七天无理由退货。"
          "因质量问题退货的，运费由闪电优选承担。非质量问题退货的运费由顾客承担，每单最高补贴10元。"
          "定制商品不支持无理由退货。")
WEIGHTS = {"运费": 3.0, "质量": 2.0, "问题": 0.5, "退货": 1.0, "谁": 0.2, "承担": 1.5}


def _hit(hit_id: str, kind: DocumentKind, text: str, score: float = 1.0, question: str | None = None) -> Hit:
    return Hit(id=hit_id, doc_id=hit_id.split("#")[0], score=score, source="knowledge/x", kind=kind,
               text=text, question=question)


def _weight(token: str) -> float:
    return WEIGHTS.get(token, 0.0)


def test_faq_hit_answers_verbatim():
    faq = _hit("faq-1", DocumentKind.FAQ, "订单实付满99元免运费。", question="订单满多少包邮")
    extract = extract_answer(TOKENIZER.tokenize("满多少包邮"), [faq], _weight)
    assert extract.text == "订单实付满99元免运费。" and extract.used == [0]


def test_policy_passage_gives_the_answering_sentences_in_order_with_a_marker():
    passage = _hit("退换货政策#3", DocumentKind.POLICY, POLICY)
    extract = extract_answer(TOKENIZER.tokenize("质量问题退货运费谁承担"), [passage], _weight)
    assert extract.used == [0]
    assert extract.text.startswith("因质量问题退货的，运费由闪电优选承担。")
    assert "定制商品" not in extract.text and "适用于" not in extract.text
    assert extract.text.endswith("[1]")


def test_second_close_passage_is_cited_as_two():
    first = _hit("a#1", DocumentKind.POLICY, "因质量问题退货的，运费由闪电优选承担。", score=1.0)
    second = _hit("b#2", DocumentKind.POLICY, "运费补贴最高10元，由顾客先行承担运费。", score=0.95)
    extract = extract_answer(TOKENIZER.tokenize("退货运费谁承担"), [first, second], _weight)
    assert extract.used == [0, 1] and "[1]" in extract.text and extract.text.endswith("[2]")


def test_far_second_passage_is_not_used():
    first = _hit("a#1", DocumentKind.POLICY, "因质量问题退货的，运费由闪电优选承担。", score=1.0)
    second = _hit("b#2", DocumentKind.POLICY, "运费补贴最高10元，由顾客先行承担运费。", score=0.5)
    assert extract_answer(TOKENIZER.tokenize("退货运费谁承担"), [first, second], _weight).used == [0]


def test_no_matching_sentence_falls_back_to_the_opening_and_is_deterministic():
    passage = _hit("p#1", DocumentKind.POLICY, POLICY)
    extract = extract_answer(TOKENIZER.tokenize("发票抬头"), [passage], _weight)
    assert extract.text.startswith("退换货政策适用于闪电优选自营商品。")
    assert extract == extract_answer(TOKENIZER.tokenize("发票抬头"), [passage], _weight)


def test_nothing_to_extract():
    assert extract_answer(["运费"], [], _weight) is None
    assert extract_answer(["运费"], [_hit("f", DocumentKind.FAQ, "  ")], _weight) is None


def test_list_numbers_and_bullets_are_dropped_from_lifted_sentences():
    passage = _hit("积分规则#2", DocumentKind.POLICY,
                   "1. 积分有效期至次年12月31日。\n2. 运费券不参与。\n（3）质量问题退货运费由平台承担。\n- 2.5倍积分活动除外。")
    extract = extract_answer(TOKENIZER.tokenize("质量问题退货运费谁承担"), [passage], _weight)
    assert extract.text.startswith("质量问题退货运费由平台承担。")
    extract = extract_answer(["积分", "有效期"], [passage], lambda t: 1.0)
    assert extract.text == "积分有效期至次年12月31日。 2.5倍积分活动除外。[1]"
    numbers = _hit("价格#1", DocumentKind.POLICY, "2.5倍积分于周末发放。")
    assert extract_answer(["积分"], [numbers], lambda t: 1.0).text.startswith("2.5倍积分")  # a number, not a list
