"""Rule-based rewrite of elliptical follow-ups ("那运费呢？") into standalone questions.

A follow-up is elliptical when it opens with a continuation word (那, 还有, what about ...),
leans on a reference to something said before (这个, 它, that one ...), asks "X呢？", or is
too short to stand alone. Its standalone form is the customer's previous question followed by the
follow-up without its continuation word: "我想退货，运费呢？". Both retrievers match that well
and the customer's words are kept, so nothing is invented. The LLM rewrite (opt-in, in the
pipeline) runs only where these rules say a rewrite is needed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cs_rag.answering.smalltalk import small_talk
from cs_rag.text import has_cjk, normalize
from cs_rag.types import Turn

_LEADING_ZH = ("那如果", "那要是", "那么", "那个", "那", "还有", "另外", "如果是", "要是", "假如",
               "再问一下", "再问下", "顺便问下", "顺便问一下", "然后")
_LEADING_EN = ("and what about", "what about", "how about", "and if", "what if", "and", "also",
               "then")
_REFERENCES_ZH = ("这个", "那个", "它", "这件", "那件", "这单", "那单", "这款", "那款", "上面",
                  "刚才", "刚刚", "同样", "一样")
_REFERENCES_EN = re.compile(r"\b(it|that|this one|that one|the same|them|those)\b")
_QUESTION_TAIL = re.compile(r"[?？。!！\s]+$")
_STANDALONE_CHARS = 5   # a Chinese question shorter than this does not stand alone ("运费？")
_STANDALONE_WORDS = 3   # nor does an English one with fewer words ("shipping costs?")


@dataclass(frozen=True)
class Rewrite:
    """What the rules did with a question."""

    original: str
    question: str            # what retrieval should search for
    rule: str | None = None  # why it was rewritten ("leading:那", "reference:它", "short"), or None

    @property
    def rewritten(self) -> bool:
        return self.rule is not None

    @property
    def merged_by_rules(self) -> bool:
        """The rules joined the follow-up to the previous question ("下单后多久发货，发票呢"):
        two questions in one, not a standalone question a chat model wrote."""
        return self.rule is not None and not self.rule.endswith("+llm")


def find_ellipsis(question: str) -> tuple[str, str] | None:
    """(rule, the follow-up without its continuation word) when `question` needs context."""
    text = normalize(question).strip()
    for word in _LEADING_ZH:
        if text.startswith(word) and len(text) > len(word):
            return f"leading:{word}", question.strip()[len(word):].lstrip("，, ")
    for phrase in _LEADING_EN:
        if text.startswith(phrase + " "):
            return f"leading:{phrase}", question.strip()[len(phrase):].lstrip(" ,")
    for word in _REFERENCES_ZH:
        if word in text:
            return f"reference:{word}", question.strip()
    match = _REFERENCES_EN.search(text)
    if match and len(text.split()) <= 8:
        return f"reference:{match.group(1)}", question.strip()
    core = _QUESTION_TAIL.sub("", text)
    if has_cjk(core):
        if core.endswith("呢"):
            return "tail:呢", question.strip()
        if len(core) < _STANDALONE_CHARS:
            return "short", question.strip()
    elif len(core.split()) < _STANDALONE_WORDS:
        return "short", question.strip()
    return None


def previous_question(history: list[Turn]) -> str | None:
    """The customer's last question before this one (small talk is no question), or None."""
    for turn in reversed(history):
        if turn.role == "user" and turn.content.strip() and small_talk(turn.content) is None:
            return turn.content.strip()
    return None


def rewrite_followup(question: str, history: list[Turn] | None) -> Rewrite:
    """The standalone form of `question` given the conversation so far (rules only)."""
    previous = previous_question(history or [])
    found = find_ellipsis(question) if previous else None
    if previous is None or found is None:
        return Rewrite(question, question)
    rule, rest = found
    separator = "，" if has_cjk(previous + rest) else ", "
    joined = _QUESTION_TAIL.sub("", previous) + separator + rest
    return Rewrite(question, joined, rule)
