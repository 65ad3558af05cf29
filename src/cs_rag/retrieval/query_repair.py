"""Customers' misspellings rewritten into the knowledge's own words before search.

Three repairs, all conservative (a question that needs none is returned unchanged):
- homophone typos (退宽 -> 退款, 运废 -> 运费, 发漂 -> 发票): a run of 2-4 Chinese characters
  that is neither a word of the knowledge nor a common Chinese word, but sounds exactly like one
  word of the knowledge (toneless pinyin), becomes that word;
- shop shorthand typed in Latin letters (zfb, kd, yhq, tk): a shipped list of pinyin
  abbreviations (`data/shorthand.txt`), case ignored, and only towards words the knowledge
  uses: each of the word's tokens is in its vocabulary (an English knowledge base keeps "th"
  and "dd");
- words typed in toneless pinyin (tousu -> 投诉, Tuikuan -> 退款): a Latin word of 4 or more
  letters, in a question with Chinese in it or alone, that is not a word of the knowledge and
  spells the sound of exactly one of its 2-4 character words (an English sentence is left alone:
  "name" spells 那么).
Latin words are repaired only standing alone: not touching a digit, "_", "@" or "-", nor a "."
inside a domain (qq.com).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from pypinyin import lazy_pinyin

from cs_rag.reading import shipped_lines
from cs_rag.text import Tokenizer, normalize

_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")
# a Latin word standing alone: not part of a number, an address, a domain or a code (8mm,
# dd@qq.com, qq.com, tk_123, USB-DC); a full stop or a slash between words is punctuation
_ALONE_BEFORE, _ALONE_AFTER = r"(?<![\w@-])(?<!\w\.)", r"(?![\w@-])(?!\.\w)"
_LATIN_WORD = re.compile(_ALONE_BEFORE + r"[A-Za-z]{2,5}" + _ALONE_AFTER, re.ASCII)
_PINYIN_WORD = re.compile(_ALONE_BEFORE + r"[A-Za-z]{4,}" + _ALONE_AFTER, re.ASCII)
COMMON_WORD_FREQUENCY = 10   # jieba's dictionary count above which a run is a real word, left alone
MIN_CHARS, MAX_CHARS = 2, 4


def _sound(text: str) -> str:
    return " ".join(lazy_pinyin(text))


@lru_cache(maxsize=1)
def shorthand() -> dict[str, str]:
    """The shipped Latin shorthand -> the words it stands for."""
    pairs = (line.split(maxsplit=1) for line in shipped_lines("shorthand.txt"))
    return {short.lower(): word.strip() for short, word in pairs}


def _uses(vocabulary: set[str], tokens: list[str]) -> bool:
    return bool(tokens) and all(token in vocabulary for token in tokens)


class QueryRepair:
    """Repairs questions against one knowledge base's vocabulary (its index's tokens)."""

    def __init__(self, vocabulary: Iterable[str], tokenizer: Tokenizer) -> None:
        vocabulary = set(vocabulary)
        self._shorthand = {short: word for short, word in shorthand().items()
                           if _uses(vocabulary, tokenizer.tokenize(normalize(word)))}
        self._words = {w for w in vocabulary if MIN_CHARS <= len(w) <= MAX_CHARS and _CJK_RUN.fullmatch(w)}
        by_sound: dict[str, set[str]] = {}
        for word in self._words:
            by_sound.setdefault(_sound(word), set()).add(word)
        # a sound shared by two words of the knowledge is no evidence for either
        self._by_sound = {sound: next(iter(words)) for sound, words in by_sound.items() if len(words) == 1}
        spelled: dict[str, set[str]] = {}
        for sound, words in by_sound.items():
            spelled.setdefault(sound.replace(" ", ""), set()).update(words)
        self._by_spelling = {letters: next(iter(words)) for letters, words in spelled.items()
                             if len(words) == 1 and len(letters) >= 4 and letters not in vocabulary}
        self._frequency = tokenizer.word_frequency

    def repair(self, question: str) -> str:
        """`question` with its homophone typos, shorthand and pinyin replaced (see the module doc)."""
        text = _LATIN_WORD.sub(lambda m: self._shorthand.get(m.group(0).lower(), m.group(0)), question)
        if _CJK_RUN.search(text) or _PINYIN_WORD.fullmatch(text.strip()):   # never inside English
            text = _PINYIN_WORD.sub(lambda m: self._by_spelling.get(m.group(0).lower(), m.group(0)), text)
        return _CJK_RUN.sub(lambda m: self._repair_run(m.group(0)), text)

    def _repair_run(self, run: str) -> str:
        out, i = [], 0
        while i < len(run):
            for size in range(min(MAX_CHARS, len(run) - i), MIN_CHARS - 1, -1):
                piece = run[i:i + size]
                if normalize(piece) in self._words or self._frequency(piece) >= COMMON_WORD_FREQUENCY:
                    out.append(piece)   # a word already: keep it whole
                    break
                word = self._by_sound.get(_sound(piece))
                if word is not None:
                    out.append(word)
                    break
            else:
                size = 1
                out.append(run[i])
            i += size
        return "".join(out)
