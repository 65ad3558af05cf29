"""Rule-based rewrite of elliptical follow-ups."""

import pytest

from cs_rag.answering.rewrite import find_ellipsis, rewrite_followup
from cs_rag.types import Turn

HISTORY = [Turn(role="user", content="我想退货怎么办？"),
           Turn(role="assistant", content="您可以在订单详情页申请退货。")]


@pytest.mark.parametrize("question, rule", [
    ("那运费呢？", "leading:那"),
    ("还有，换货要多久", "leading:还有"),
    ("换货呢？", "tail:呢"),
    ("这个能退吗", "reference:这个"),
    ("运费？", "short"),
])
def test_elliptical_follow_ups_are_joined_to_the_previous_question(question, rule):
    rewrite = rewrite_followup(question, HISTORY)
    assert rewrite.rewritten and rewrite.rule == rule
    assert rewrite.question.startswith("我想退货怎么办，")
    assert rewrite.original == question


def test_leading_word_is_dropped_from_the_joined_question():
    assert rewrite_followup("那运费呢？", HISTORY).question == "我想退货怎么办，运费呢？"


@pytest.mark.parametrize("question", ["怎么开发票", "闪电PLUS会员有什么权益", "订单满多少包邮"])
def test_standalone_questions_are_left_alone(question):
    rewrite = rewrite_followup(question, HISTORY)
    assert not rewrite.rewritten and rewrite.question == question


def test_no_history_means_no_rewrite():
    assert not rewrite_followup("那运费呢？", None).rewritten
    assert not rewrite_followup("那运费呢？", [Turn(role="assistant", content="您好")]).rewritten


def test_english_follow_ups():
    history = [Turn(role="user", content="How do I return a jacket?")]
    rewrite = rewrite_followup("What about shipping costs?", history)
    assert rewrite.rule == "leading:what about"
    assert rewrite.question == "How do I return a jacket, shipping costs?"
    assert find_ellipsis("Can I pay with a credit card at checkout?") is None


def test_traditional_and_full_width_input_is_recognised():
    assert find_ellipsis("那運費呢？")[0] == "leading:那"
