"""Small talk: a message that is only courtesy gets a reply in kind, without retrieval."""

import pytest

from cs_rag.answering.smalltalk import SmallTalk, small_talk


@pytest.mark.parametrize("text, kind", [
    ("你好", SmallTalk.GREETING), ("您好～", SmallTalk.GREETING), ("hi there", SmallTalk.GREETING),
    ("谢谢", SmallTalk.THANKS), ("Thank you so much!", SmallTalk.THANKS), ("好的谢谢～", SmallTalk.THANKS),
    ("再见", SmallTalk.FAREWELL), ("没事了", SmallTalk.FAREWELL), ("bye", SmallTalk.FAREWELL),
    ("在吗", SmallTalk.PRESENCE), ("你好，在吗？", SmallTalk.PRESENCE), ("亲 在不在", SmallTalk.PRESENCE),
    ("好的", SmallTalk.ACKNOWLEDGEMENT), ("嗯嗯", SmallTalk.ACKNOWLEDGEMENT), ("OK", SmallTalk.ACKNOWLEDGEMENT),
    ("ok thanks, bye", SmallTalk.THANKS),  # mixed kinds: thanks first
])
def test_courtesy_only_messages(text, kind):
    assert small_talk(text) is kind


@pytest.mark.parametrize("text", [
    "你好，我想退货", "好评返现吗", "早点发货", "可以开发票吗", "谢谢你们的服务太差了", "hiking boots",
    "今天北京天气怎么样", "", "？？？", "你好" * 30,
])
def test_anything_with_content_is_not_small_talk(text):
    assert small_talk(text) is None
