"""Each finding code on hand-made conversations, found where it should be and not elsewhere
(wrong_info, which needs knowledge, is in test_facts.py)."""

from __future__ import annotations

from conftest import chat

from cs_rag.config import QaSettings, Settings
from cs_rag.qa import Inspector, rules
from cs_rag.qa.phrases import PhraseLists, shipped_dir

HELLO = "您好，我是客服小李，很高兴为您服务"
BYE = "不客气，祝您生活愉快"


def test_a_clean_conversation_has_no_finding(codes):
    assert codes([("customer", 0, "退款多久到账"), ("agent", 12, HELLO + "，退款1-3个工作日到账"),
                  ("customer", 30, "好的，谢谢"), ("agent", 40, BYE)]) == {}


def test_slow_first_response_is_timed_from_the_first_unanswered_customer_message(codes):
    assert codes([("customer", 0, "在吗"), ("customer", 20, "我要退款"), ("agent", 35, HELLO),
                  ("customer", 40, "好的谢谢"), ("agent", 45, BYE)]) == {"slow_first_response": [2]}
    assert codes([("customer", 0, "在吗"), ("agent", 30, HELLO),
                  ("customer", 40, "好的谢谢"), ("agent", 45, BYE)]) == {}   # 30 s is not more than 30 s


def test_a_bot_hand_off_does_not_stop_the_clock_but_a_bot_answer_does(codes):
    handed = [("customer", 0, "转人工"), ("bot", 2, "正在为您转接人工客服，请稍候"), ("system", 3, "客服已接入会话"),
              ("agent", 33, HELLO), ("customer", 40, "好的谢谢"), ("agent", 45, BYE)]
    assert codes(handed) == {"slow_first_response": [3]}   # 33 s after the customer, 31 s after the bot
    answered = [("customer", 0, "退款多久到"), ("bot", 2, "1-3个工作日"), ("customer", 100, "还是转人工吧"),
                ("bot", 101, "正在为您转接人工客服"), ("agent", 120, HELLO), ("customer", 130, "好的谢谢"),
                ("agent", 135, BYE)]
    assert codes(answered) == {}


def test_after_a_hand_off_the_clock_starts_at_the_customers_next_message(codes):
    asked_again = [("customer", 0, "人工"), ("bot", 2, "正在为您转接人工客服，请稍候"),
                   ("customer", 14, "台灯灯罩碎了"), ("agent", 34, HELLO + "，请上传照片"),
                   ("customer", 40, "好的谢谢"), ("agent", 45, BYE)]
    assert codes(asked_again) == {}   # 20 s after the question; the hand-off answered "人工"
    slow = [*asked_again[:3], ("agent", 50, HELLO), ("customer", 55, "好的谢谢"), ("agent", 58, BYE)]
    assert codes(slow) == {"slow_first_response": [3]}


def test_slow_reply_needs_a_customer_message_waiting(codes):
    slow = [("customer", 0, "你好"), ("agent", 10, HELLO), ("customer", 20, "优惠券怎么用"),
            ("agent", 90, "结算时会自动使用"), ("customer", 100, "好的谢谢"), ("agent", 105, BYE)]
    assert codes(slow) == {"slow_reply": [3]}
    held = [("customer", 0, "我的退款呢"), ("agent", 10, HELLO + "，请稍等我查一下"),
            ("agent", 200, "已经退回了"), ("customer", 210, "好的谢谢"), ("agent", 215, BYE)]
    assert codes(held) == {}


def test_long_handling_is_first_to_last_turn(codes):
    turns = [("customer", 0, "你好"), ("agent", 10, HELLO), ("customer", 430, "好的谢谢"), ("agent", 481, BYE)]
    assert codes(turns) == {"long_handling": [3]}
    assert codes(turns[:3] + [("agent", 480, BYE)]) == {}


def test_thresholds_are_settings():
    strict = Inspector(Settings(qa=QaSettings(first_response_seconds=5)))
    found = strict.inspect([chat([("customer", 0, "你好"), ("agent", 10, HELLO)])])[0]
    assert [f.code.value for f in found.findings] == ["slow_first_response", "no_closing"]


def test_no_greeting_looks_at_the_agents_first_message_only(codes):
    assert codes([("customer", 0, "改地址"), ("agent", 10, "订单号发一下"), ("customer", 20, "123"),
                  ("agent", 30, "您好，已经改好了。" + BYE)]) == {"no_greeting": [1]}
    assert codes([("customer", 0, "改地址"), ("agent", 10, "亲，订单号发一下"), ("customer", 20, "好的谢谢"),
                  ("agent", 30, BYE)]) == {}


def test_no_closing_when_the_agent_ends_or_the_matter_is_settled(codes):
    assert codes([("customer", 0, "积分怎么用"), ("agent", 10, "您好，100积分抵1元")]) == {"no_closing": [1]}
    assert codes([("customer", 0, "积分怎么用"), ("agent", 10, "您好，100积分抵1元"),
                  ("customer", 20, "好的，谢谢")]) == {"no_closing": [1]}
    # the customer walks away with the problem open: no closing was due, the problem is unresolved
    assert codes([("customer", 0, "积分怎么用"), ("agent", 10, "您好，看页面"),
                  ("customer", 20, "算了，不问了")]) == {"unresolved": [2]}


def test_a_customer_who_takes_the_answer_without_thanks_was_still_owed_a_closing(codes):
    # 明白 / 那我凑个单吧 say neither thanks nor a complaint: the matter is not left open
    answered = [("customer", 0, "积分怎么用"), ("agent", 10, "您好，100积分抵1元")]
    for last in ("明白", "那我凑个单吧"):
        assert codes([*answered, ("customer", 20, last)]) == {"no_closing": [1]}
        assert codes([*answered, ("customer", 20, last), ("agent", 25, BYE)]) == {}


def test_impolite_and_banned_phrases_are_found_per_agent_turn(codes):
    found = codes([("customer", 0, "明天能到吗"), ("agent", 10, "您好，保证明天到"), ("customer", 20, "真的吗"),
                   ("agent", 30, "不是跟你说了吗，绝对没问题"), ("customer", 40, "好的谢谢"), ("agent", 45, BYE)])
    assert found == {"banned_phrase": [1, 3], "impolite": [3]}


def test_allow_phrases_and_customers_words_are_not_held_against_the_agent(codes):
    assert codes([("customer", 0, "你能保证明天到吗？我也没办法等了"),
                  ("agent", 10, "您好，具体时间无法保证，一般1-5天送达"),
                  ("customer", 20, "好的谢谢"), ("agent", 30, BYE)]) == {}


def test_inspection_evidence_is_the_phrase_and_its_span(inspector):
    result = inspector.inspect([chat([("customer", 0, "在吗"), ("agent", 5, "您好，这个你自己看")])])[0]
    impolite = next(f for f in result.findings if f.code == "impolite")
    text = "您好，这个你自己看"
    assert impolite.evidence == "你自己看" and text[slice(*impolite.span)] == "你自己看"


def test_no_empathy_needs_a_clearly_upset_customer(codes):
    angry = [("customer", 0, "气死我了！！退款十天了还没到"), ("agent", 10, "您好，请提供订单号"),
             ("customer", 20, "123"), ("agent", 30, "已经退了，今天到账。" + BYE), ("customer", 40, "好的")]
    assert codes(angry) == {"no_empathy": [0]}
    soothed = [angry[0], ("agent", 10, "您好，非常抱歉让您久等了，请提供订单号"), *angry[2:]]
    assert codes(soothed) == {}
    mild = [("customer", 0, "怎么还没到"), ("agent", 10, "您好，今天派送。" + BYE), ("customer", 20, "好的")]
    assert codes(mild) == {}


def test_unresolved_whatever_the_input_says(codes):
    said_no = [("customer", 0, "优惠券不见了"), ("agent", 10, "您好，过期了无法补发"),
               ("customer", 20, "那我怎么办，还是没解决啊"), ("agent", 30, BYE)]
    assert codes(said_no, resolved=True) == {"unresolved": [2]}
    put_off = [("customer", 0, "账号被锁了"), ("agent", 10, "您好，这个目前无法处理，后续会有专人联系您，" + BYE)]
    assert codes(put_off) == {"unresolved": [1]}
    unanswered = [("customer", 0, "分期能退吗"), ("agent", 10, "您好，可以。" + BYE), ("customer", 20, "手续费退吗？")]
    assert codes(unanswered) == {"unresolved": [2]}
    thanked = [("customer", 0, "分期能退吗"), ("agent", 10, "您好，可以。" + BYE), ("customer", 20, "好的谢谢")]
    assert codes(thanked, resolved=False) == {}


def test_a_conversation_no_agent_joined_has_no_finding(codes):
    assert codes([("customer", 0, "发票"), ("bot", 1, "在订单页下载"), ("customer", 600, "算了")]) == {}


def test_a_customer_nobody_answered_is_left_unresolved(codes):
    assert codes([("customer", 0, "有人吗"), ("customer", 40, "有人吗？？")]) == {"unresolved": [1]}
    assert codes([("customer", 0, "有人吗"), ("system", 40, "转人工 · handed off to a person")]) == {"unresolved": [0]}


def test_measures_feed_the_report(inspector):
    result = inspector.inspect([chat([("customer", 0, "气死我了！！"), ("agent", 20, "您好，抱歉"),
                                      ("customer", 80, "好的谢谢"), ("agent", 90, BYE)], satisfaction=4)])[0]
    measures = result.measures
    assert measures.first_response_seconds == 20 and measures.handling_seconds == 90
    assert measures.emotion_start == "angry" and measures.emotion_end == "neutral" and measures.upset_level == 3
    assert measures.resolved and measures.satisfaction == 4 and not measures.wrong_info_checked
    assert "measures" not in result.model_dump()


def test_operator_phrases_are_added_to_the_shipped_ones(tmp_path):
    (tmp_path / "banned.txt").write_text("# ours\n亲自\n", encoding="utf-8")
    mine = Inspector(Settings(qa=QaSettings(lexicon_dir=tmp_path)))
    result = mine.inspect([chat([("customer", 0, "在吗"), ("agent", 5, "您好，我亲自帮您看，保证没事。" + BYE)])])[0]
    assert [(f.code.value, f.evidence) for f in result.findings] == [("banned_phrase", "亲自、保证")]


def test_declining_more_help_ends_the_matter_unless_the_agent_admits_failing(codes):
    asked = [("customer", 0, "付款提示超出限额"), ("agent", 10, HELLO + "，需要联系发卡银行提高限额"),
             ("customer", 20, "那只能明天再说了")]
    # the grumble before "没了" was answered by the offer of more help, which the customer declined
    assert codes([*asked, ("agent", 30, "好的，还有其他可以帮您的吗？"), ("customer", 40, "没了")]) == {}
    # the agent's own last word says the problem stays open
    failed = [*asked, ("agent", 30, "抱歉今天没能帮您解决，还有其他可以帮您的吗？"), ("customer", 40, "没了")]
    assert codes(failed) == {"unresolved": [3]}
    # without the offer, the grumble is the customer's last word on the matter
    assert codes([*asked, ("agent", 30, "好的。"), ("customer", 40, "嗯")]) == {"unresolved": [2]}


RUDE = "规则页面上写得明明白白，您下单前自己不看的吗？"   # no listed phrase: the impolite model finds it


def test_the_impolite_model_adds_what_the_phrase_list_misses(inspector):
    turns = [("customer", 0, "优惠券怎么用不了"), ("agent", 10, "您好，" + RUDE),
             ("customer", 20, "好的谢谢"), ("agent", 30, BYE)]
    found = [f for f in inspector.inspect([chat(turns)])[0].findings]
    assert [(f.code.value, f.turn, f.evidence) for f in found] == [("impolite", 1, "您好，" + RUDE)]
    rules_only = Inspector(Settings(qa=QaSettings(reply_models=False)))
    assert rules_only.inspect([chat(turns)])[0].findings == []


def test_an_apology_in_a_rude_reply_acknowledges_nothing(codes):
    angry = [("customer", 0, "气死我了！！优惠券用不了"), ("agent", 10, "您好，不好意思，" + RUDE),
             ("customer", 20, "好的"), ("agent", 30, BYE)]
    assert codes(angry) == {"impolite": [1], "no_empathy": [0]}


def test_a_mildly_negative_last_word_leaves_the_matter_unresolved(codes):
    waiting = [("customer", 0, "快递到哪了"), ("agent", 10, HELLO + "，在路上了，明天到"),
               ("customer", 20, "等了好久了，怎么还没到")]
    assert codes(waiting) == {"unresolved": [2]}
    assert codes([*waiting[:2], ("customer", 20, "好的，谢谢，就是等了好久")]) == {"no_closing": [1]}


def test_a_short_answer_to_an_offer_of_more_help_is_no_complaint():
    offered = [("customer", 0, "发票怎么开"), ("agent", 10, HELLO + "，在订单详情里申请"),
               ("customer", 20, "好"), ("agent", 30, "还有其他问题吗？"), ("customer", 35, "没了")]
    phrases = PhraseLists.load([shipped_dir()])

    def unresolved_turns(turns) -> list[int]:
        conversation = chat(turns)
        mild = {i: rules.Mood(emotion="dissatisfied", level=1) if i == len(turns) - 1 else rules.Mood()
                for i, t in enumerate(turns) if t[0] == "customer"}   # the last word read as a mild complaint
        read = rules.Read(conversation, [phrases.find(t.text) for t in conversation.turns], mild)
        return [f.turn for f in rules.unresolved(read)]

    assert unresolved_turns(offered) == []
    # after anything but an offer of more help, the same reading leaves the matter open
    assert unresolved_turns([*offered[:2], offered[4]]) == [2]


def test_a_customer_taking_the_next_step_has_accepted_the_answer(codes):
    told = [("customer", 0, "卫衣颜色不喜欢能换吗"), ("agent", 10, HELLO + "，颜色不在换货范围，可以先退货再重新下单")]
    assert codes([*told, ("customer", 20, "那怎么办？"), ("customer", 25, "好吧，我去退")]) == {"no_closing": [1]}
    assert codes([*told, ("customer", 20, "我去投诉你们")]) == {"unresolved": [2]}


def _unresolved_with_a_mild_last_word(turns) -> list[int]:
    """`rules.unresolved` with the customer's last message read as mildly dissatisfied."""
    phrases = PhraseLists.load([shipped_dir()])
    conversation = chat(turns)
    mild = {i: rules.Mood(emotion="dissatisfied", level=1) if i == len(turns) - 1 else rules.Mood()
            for i, t in enumerate(turns) if t[0] == "customer"}
    read = rules.Read(conversation, [phrases.find(t.text) for t in conversation.turns], mild)
    return [f.turn for f in rules.unresolved(read)]


def test_a_grudging_yes_accepts_the_answer_but_trailing_off_is_resignation():
    refused = [("customer", 0, "拒收的运费能退吗"), ("agent", 10, HELLO + "，不是商品问题拒收的，运费不退")]
    assert _unresolved_with_a_mild_last_word([*refused, ("customer", 20, "好吧")]) == []
    assert _unresolved_with_a_mild_last_word([*refused, ("customer", 20, "行吧，那我自己另外买")]) == []
    assert _unresolved_with_a_mild_last_word([*refused, ("customer", 20, "……行吧")]) == [2]
    assert _unresolved_with_a_mild_last_word([*refused, ("customer", 20, "好吧...")]) == [2]


def test_a_matter_put_off_stays_open_when_the_customer_only_accepts_the_wait(codes):
    asked = [("customer", 0, "退款怎么还没到"), ("agent", 10, HELLO + "，我去问一下财务同事，今天下班前给您回复")]
    waiting = [*asked, ("customer", 20, "好吧，那我等你消息"), ("agent", 30, "好嘞，感谢您的耐心")]
    assert codes(waiting)["unresolved"] == [1]
    # said settled (谢谢, 解决了) after the agent came back, it is not open
    answered = [*asked, ("customer", 20, "好"), ("agent", 30, "查到了，已经到账了"), ("customer", 40, "看到了，谢谢")]
    assert "unresolved" not in codes(answered)


def test_an_english_reassurance_acknowledges_the_feeling(codes):
    angry = [("customer", 0, "This is ridiculous!! My refund is 10 days late and nobody answers!!"),
             ("agent", 10, "Hello, this is Amy. The refund was issued today. Have a nice day!"),
             ("customer", 20, "ok")]
    assert "no_empathy" in codes(angry)
    for words in ("Don't worry,", "I understand your concern."):
        reassured = [angry[0], ("agent", 10, f"Hello, this is Amy. {words} The refund was issued today. "
                                             "Have a nice day!"), angry[2]]
        assert "no_empathy" not in codes(reassured)
