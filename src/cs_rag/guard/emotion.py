"""The customer's emotion, its warning level and the question type of a batch of messages.

With the learned model (`cs_rag.guard.understanding`), P(negative) is the mean of the emotion
head's and the level head's P(not none); the level is the level head's likeliest of 1-3 (each
probability times the model's `level_weights`). A message is negative when P(negative) reaches
the model's `negative_threshold` and that level is 2-3, or reaches its `mild_threshold` when the
level is 1 (a mild reading is the usual false alarm on an ordinary question, so it needs more
evidence; both chosen in training). The level is then raised to 3 by a threat to go outside or
a level-3 insult (the guide the training data follows calls both 强烈负面); the kind is the
emotion head's likeliest negative class. A negated feeling word
(没生气) or a fault stated calmly is the model's to judge, not the lexicon's. The evidence is
the strongest non-negated lexicon word of that feeling, else the stretch of text whose
n-grams push hardest towards the kind (a maximum-sum run of per-character scores).

Without the model (`Guard(message_model=None)`) the lexicon alone decides, as before the model:
a feeling word's level, raised by !!, ??? or a second strong word, set to 3 by !!! or a threat;
the question type is then unknown (None).

Each level's action: 1 a note for the agent (send), 2 a soothing script and a person checks
the reply (review), 3 a red alert, hand over to a supervisor (handoff).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from cs_rag.guard.cues import CUE_NAMES, cues
from cs_rag.guard.fold import View, is_latin
from cs_rag.guard.lexicon import Hit
from cs_rag.guard.pii import find_pii, mask
from cs_rag.guard.understanding import MessageModel
from cs_rag.types import Emotion, EmotionReading, Flag, FlagKind, QuestionType, Routing

LEVEL_NAMES = {1: "mild", 2: "clear", 3: "strong"}
LEVEL_ACTIONS = {1: "note for the agent: reply with extra care",
                 2: "a soothing script is suggested and a person checks the reply",
                 3: "red alert: hand over to a supervisor"}
LEVEL_ROUTING = {1: Routing.SEND, 2: Routing.REVIEW, 3: Routing.HANDOFF}
_EMOTION_ORDER = ("dissatisfied", "disappointed", "angry")   # lexicon ties go to the later one
_BANGS = re.compile(r"!{2,}")
_MARKS = re.compile(r"[!?]{3,}")
_THREAT = CUE_NAMES.index("threat")
_ABUSE = CUE_NAMES.index("abuse")
_NEGATED = CUE_NAMES.index("negated_feeling")


@dataclass(frozen=True)
class Seen:
    """One message as the lexicons saw it: the text, its views and the message lexicons' hits."""

    text: str
    normal: View
    folded: View
    hits: list[Hit]

    def cues(self) -> np.ndarray:
        return cues(self.text, self.normal.text, self.folded.text, self.hits)


@dataclass(frozen=True)
class Reading:
    """What one message says about the customer."""

    emotion: EmotionReading
    question_type: QuestionType | None
    flag: Flag | None          # the negative_emotion flag, None for a calm message
    p_negative: float | None   # the model's P(negative); None without the model


def read_messages(model: MessageModel | None, seen: list[Seen],
                  vectors: np.ndarray | None = None) -> list[Reading]:
    """A Reading per message, the model's probabilities computed in one batch; `vectors` are
    the messages' embeddings when the model reads them."""
    if model is None:
        return [_lexicon_reading(s) for s in seen]
    if not seen:
        return []
    cue_rows = np.stack([s.cues() for s in seen])
    probabilities = model.probabilities([s.normal.text for s in seen], cue_rows, vectors)
    threshold = float(model.params.get("negative_threshold", 0.5))
    mild_threshold = float(model.params.get("mild_threshold", threshold))
    level_weights = np.asarray(model.params.get("level_weights", (1.0, 1.0, 1.0)))
    readings = []
    for index, item in enumerate(seen):
        p_emotion, p_level = probabilities["emotion"][index], probabilities["level"][index]
        p_type = probabilities["question_type"][index]
        question_type = QuestionType(model.heads["question_type"].classes[int(np.argmax(p_type))])
        p_negative = 1.0 - (float(p_emotion[0]) + float(p_level[0])) / 2
        level = 1 + int(np.argmax(p_level[1:] * level_weights))
        if p_negative < (threshold if level >= 2 else mild_threshold):
            readings.append(Reading(EmotionReading(), question_type, None, p_negative))
            continue
        notes = [f"P(negative)={p_negative:.2f}"]
        cue_row = cue_rows[index]
        if cue_row[_THREAT] or cue_row[_ABUSE] == 1.0:
            level = 3
            notes.append("a threat" if cue_row[_THREAT] else "an insult")
        label = model.heads["emotion"].classes[1 + int(np.argmax(p_emotion[1:]))]
        span = _lexicon_span(item, label, negated=bool(cue_row[_NEGATED]))
        if span is None:
            span = _model_span(model, item, label)
        flag = emotion_flag(item.text, label, level, span, notes)
        readings.append(Reading(EmotionReading(label=Emotion(label), level=level), question_type,
                                flag, p_negative))
    return readings


def emotion_flag(text: str, label: str, level: int, span: tuple[int, int] | None,
                 signals: list[str]) -> Flag:
    """The negative_emotion flag of a message: level, evidence span, action and routing."""
    snippet = text[span[0]:span[1]] if span else ""
    evidence = mask(snippet, find_pii(snippet))
    shown = [f"“{evidence}”"] if evidence else []
    signals = [s for s in signals if s != snippet]
    reason = (f"{label} customer, level {level} ({LEVEL_NAMES[level]}): {LEVEL_ACTIONS[level]}; "
              f"signals: {', '.join([*shown, *signals])}")
    return Flag(kind=FlagKind.NEGATIVE_EMOTION, severity=level, level=level, span=span,
                evidence=evidence, reason=reason, routing=LEVEL_ROUTING[level])


def _feeling_hits(item: Seen) -> list[tuple[Hit, str]]:
    signals = [(h, h.spec.emotion) for h in item.hits if h.spec.emotion]
    signals += [(h, "angry") for h in item.hits if h.spec.kind is FlagKind.OFFENSIVE and h.level == 3]
    return signals


def _lexicon_span(item: Seen, label: str, negated: bool) -> tuple[int, int] | None:
    """The original span of the strongest lexicon word of `label` (else of any feeling);
    None when there is none or a feeling word is negated (the model decided without it)."""
    if negated:
        return None
    signals = _feeling_hits(item)
    if not signals:
        return None
    own = [s for s in signals if s[1] == label] or signals
    top = max(own, key=lambda s: s[0].level)[0]
    return item.folded.original_span(top.start, top.end)


def _model_span(model: MessageModel, item: Seen, label: str) -> tuple[int, int] | None:
    """The original span of the maximum-sum run of the emotion head's per-character scores
    towards `label` rather than none; None when no character pushes that way."""
    scores = model.char_scores(item.normal.text, "emotion", label, "none")
    best, best_span, total, start = 0.0, None, 0.0, 0
    for index, score in enumerate(scores):
        if total <= 0:
            total, start = 0.0, index
        total += score
        if total > best:
            best, best_span = total, (start, index + 1)
    if best_span is None:
        return None
    start, end = best_span
    text = item.normal.text
    while start > 0 and is_latin(text[start - 1]) and is_latin(text[start]):   # whole words
        start -= 1
    while end < len(text) and is_latin(text[end]) and is_latin(text[end - 1]):
        end += 1
    return item.normal.original_span(start, end)


def _lexicon_reading(item: Seen) -> Reading:
    """The lexicon-only reading: feeling words and punctuation decide; question type unknown."""
    signals = _feeling_hits(item)
    if not signals:
        return Reading(EmotionReading(), None, None, None)
    top, label = max(signals, key=lambda s: (s[0].level, _EMOTION_ORDER.index(s[1])))
    level = top.level
    normal = item.normal.text
    bangs = max((len(m.group()) for m in _BANGS.finditer(normal)), default=0)
    threat = any(h.spec.kind is FlagKind.ESCALATION_THREAT for h in item.hits)
    strong_places = _separate_places([h for h, _ in signals if h.level >= 2])
    notes = [item.text[slice(*item.folded.original_span(h.start, h.end))] for h, _ in signals]
    notes = list(dict.fromkeys(notes))
    if bangs >= 3 or threat:
        level = 3
        notes.append("repeated exclamation marks" if bangs >= 3 else "a threat")
    elif bangs == 2 or _MARKS.search(normal) or strong_places >= 2:
        level = min(3, level + 1)
        notes.append("several negative words" if strong_places >= 2 else "repeated ! or ?")
    span = item.folded.original_span(top.start, top.end)
    flag = emotion_flag(item.text, label, level, span, notes)
    return Reading(EmotionReading(label=Emotion(label), level=level), None, flag, None)


def _separate_places(hits: list[Hit]) -> int:
    """How many non-overlapping places the hits cover (差劲 inside 太差劲 is one place)."""
    places, end = 0, -1
    for hit in sorted(hits, key=lambda h: h.start):
        if hit.start >= end:
            places += 1
        end = max(end, hit.end)
    return places
