"""Cues the lexicons and the text's shape give about a customer's feeling: dense model features.

`cues(text, normal, hits)` is the one place they are computed, for training
(scripts/train_understanding.py) and at run time alike; CUE_NAMES names the columns, and a
model persists the names it was trained with, so a change here cannot go unnoticed.
"""

from __future__ import annotations

import math
import re

import numpy as np

from cs_rag.guard.lexicon import Hit
from cs_rag.types import FlagKind

CUE_NAMES = ("angry_word", "dissatisfied_word", "disappointed_word", "threat", "abuse",
             "wants_person", "exclamations", "exasperated_marks", "question_mark", "shouting",
             "length", "negated_feeling", "quoted_praise")
_EMOTION_COLUMN = {"angry": 0, "dissatisfied": 1, "disappointed": 2}
_BANGS = re.compile(r"!+")
_MARKS = re.compile(r"[!?]{3,}")
_LATIN_LETTER = re.compile(r"[A-Za-z]")
# a negation just before a feeling word: 没生气, 不着急, 并不失望, not angry
_NEGATION = re.compile(r"(?:没|没有|不|并不|别|不是|not|no|n't)\s?$")
_NEGATION_REACH = 4   # characters before a feeling word searched for a negation
# a word of praise in quotation marks, the written sneer: 服务可真“好”啊, the "express" delivery
_QUOTED = re.compile(r"[“\"「『‘]([^“”\"「」『』‘’]{1,8})[”\"」』’]")
_PRAISE = re.compile(r"好|棒|快|及时|专业|贴心|用心|优质|靠谱|负责|高效|闪电|极速|满意|放心|省心|良心|优惠|福利|保障|"
                     r"great|fast|express|quick|best|excellent|amazing|perfect|helpful|service|care", re.IGNORECASE)


def cues(text: str, normal: str, folded: str, hits: list[Hit]) -> np.ndarray:
    """The cue vector (len(CUE_NAMES),) of one message, every value in [0, 1].

    `normal` and `folded` are the texts of `cs_rag.guard.fold`'s normal and folded views of
    `text`; `hits` the message lexicons' hits on `folded`."""
    vector = np.zeros(len(CUE_NAMES), dtype=np.float64)
    for hit in hits:
        spec = hit.spec
        if spec.emotion:
            column = _EMOTION_COLUMN[spec.emotion]
            vector[column] = max(vector[column], hit.level / 3)
        elif spec.kind is FlagKind.ESCALATION_THREAT:
            vector[3] = 1.0
        elif spec.kind is FlagKind.OFFENSIVE:
            vector[4] = max(vector[4], hit.level / 3)
        elif spec.kind is FlagKind.HUMAN_REQUEST:
            vector[5] = 1.0
    vector[6] = min(max((len(m.group()) for m in _BANGS.finditer(normal)), default=0), 3) / 3
    vector[7] = float(_MARKS.search(normal) is not None)
    vector[8] = float("?" in normal)
    letters = _LATIN_LETTER.findall(text)
    vector[9] = float(len(letters) >= 5 and sum(c.isupper() for c in letters) / len(letters) > 0.6)
    vector[10] = min(math.log1p(len(normal)) / 5, 1.0)
    vector[11] = float(any(h.spec.emotion and _negated(folded, h) for h in hits))
    vector[12] = float(any(_PRAISE.search(m.group(1)) for m in _QUOTED.finditer(text)))
    return vector


def _negated(folded: str, hit: Hit) -> bool:
    before = folded[max(0, hit.start - _NEGATION_REACH):hit.start]
    return _NEGATION.search(before) is not None
