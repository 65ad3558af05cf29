"""Messages that are only courtesy: greetings, thanks, goodbyes, "are you there?", "OK".

Such a message has nothing to look up: searching the knowledge for "你好" finds some entry
with a similar-looking question and answers it, or refuses with "I can't confirm that". The
pipeline replies in kind instead. A message is small talk only when every word of it is
courtesy ("你好，在吗？", "好的谢谢～", "thanks a lot"); "你好，我想退货" is a question.
"""

from __future__ import annotations

import re
from enum import Enum

from cs_rag.text import normalize


class SmallTalk(str, Enum):
    """What kind of courtesy a message is; when a message mixes kinds, the first listed wins."""

    THANKS = "thanks"
    FAREWELL = "farewell"
    PRESENCE = "presence"            # "在吗", "anyone there?"
    GREETING = "greeting"
    ACKNOWLEDGEMENT = "acknowledgement"  # "好的", "OK"


# Written as they are after normalize() with spaces and punctuation removed.
_TERMS: dict[SmallTalk, tuple[str, ...]] = {
    SmallTalk.THANKS: ("谢谢", "多谢", "感谢", "谢啦", "谢了", "辛苦了", "辛苦啦", "麻烦你了", "thankyou",
                       "thanks", "thx", "thanksalot", "thankyousomuch", "cheers", "appreciateit"),
    SmallTalk.FAREWELL: ("再见", "拜拜", "没事了", "没有了", "没别的了", "没问题了", "晚安", "88", "bye",
                         "goodbye", "byebye", "seeyou", "thatsall"),
    SmallTalk.PRESENCE: ("在吗", "在不在", "有人吗", "有人在吗", "人呢", "客服在吗", "anyonethere",
                         "areyouthere", "isanyonethere"),
    SmallTalk.GREETING: ("你好", "您好", "你们好", "嗨", "哈喽", "哈啰", "早上好", "上午好", "中午好",
                         "下午好", "晚上好", "早安", "早", "亲", "亲亲", "客服", "hello", "hi", "hey",
                         "goodmorning", "goodafternoon", "goodevening", "there"),
    SmallTalk.ACKNOWLEDGEMENT: ("好的", "好滴", "好嘞", "好", "嗯", "嗯嗯", "行", "可以", "知道了", "明白了",
                                "收到", "了解", "ok", "okay", "okey", "alright", "gotit", "sure", "great",
                                "alot", "verymuch", "somuch"),
}
# Particles and punctuation that carry no content ("好的呀～", "在吗?").
_FILLER = re.compile(r"[\W_啊呀哈呢吧哦噢喔嘛啦哇咯]+", re.UNICODE)
_BY_LENGTH = sorted(((term, kind) for kind, terms in _TERMS.items() for term in terms),
                    key=lambda pair: -len(pair[0]))
_MAX_CHARS = 40  # longer messages say something


def small_talk(text: str) -> SmallTalk | None:
    """The kind of courtesy when the whole message is courtesy, else None."""
    if len(text) > _MAX_CHARS:
        return None
    rest = _FILLER.sub("", normalize(text))
    if not rest:
        return None
    found: set[SmallTalk] = set()
    while rest:
        match = next(((term, kind) for term, kind in _BY_LENGTH if rest.startswith(term)), None)
        if match is None:
            return None
        found.add(match[1])
        rest = rest[len(match[0]):]
    return next(kind for kind in SmallTalk if kind in found)
