"""The guard: checks a customer's message and a drafted answer, and routes them with reasons.

Routing is the strictest of the flags' routings (send < review < handoff). What each check
raises, and what it asks for:

On a message (`Guard.check_message`):
  negative_emotion  level 1 mild -> send (the reason tells the agent to take care); level 2
                    clear -> review, with a suggested soothing script; level 3 strong (an
                    insult, a lexicon term of level 3, a run of 3+ exclamation marks or a threat
                    on top of a negative word) -> handoff to a supervisor. A negative word's
                    level goes up by one with !!, ??? or a second strong negative word
  human_request     the customer asks for a person -> handoff
  escalation_threat regulator, media, lawyer, police, a threat to complain (我要投诉你们; asking
                    how to complain is no threat) -> handoff (severity 3)
  injection         an attempt to override the assistant's instructions -> review (severity 3)
  offensive         abusive words (lexicon: level 3 -> handoff, else review), or only the learned
                    classifier's P(offensive) >= its threshold (the customer-service one,
                    see cs_rag.guard.classifier) -> review
  pii               personal data, masked in `masked_text` and every flag's evidence -> send
On a drafted answer (`Guard.check_answer`), each -> review:
  hedging           a hedge word outside quotes whose phrase is not in the evidence
  risky_promise     a promise word the evidence does not contain
  ungrounded        an amount, date, time, duration or percentage stated by no evidence text
  banned_word, sensitive_topic   operator lists (competitors, internal terms; politics,
                    medical or legal advice)
  pii               personal data of anyone
"""

from __future__ import annotations

import importlib
import re
import threading
from collections.abc import Sequence
from enum import Enum
from pathlib import Path
from typing import Literal, Protocol

from pydantic import BaseModel, Field

from cs_rag.config import GuardSettings, default_prompts_dir
from cs_rag.errors import ConfigError
from cs_rag.guard import lexicon, scripts
from cs_rag.guard.claims import Claim, extract_claims
from cs_rag.guard.fold import View, fold, fold_view, normal_view
from cs_rag.guard.lexicon import Hit, Lexicons
from cs_rag.guard.pii import LABELS, PiiMatch, find_pii, mask
from cs_rag.guard.reload import Reloading
from cs_rag.text import detect_language, normalize
from cs_rag.types import Flag, FlagKind, Routing

_WORDS = re.compile(r"[^\W\d_]{2,}|[\u3400-\u9fff]")

_QUOTED = re.compile(r"「[^」]*」|『[^』]*』|“[^”]*”|\"[^\"]*\"|《[^》]*》|‘[^’]*’")
_BANGS = re.compile(r"!{2,}")
_MARKS = re.compile(r"[!?]{3,}")
_UNIT = re.compile(r"[a-z0-9]+|[^\W_]")
_LEVEL_NAMES = {1: "mild", 2: "clear", 3: "strong"}
_EMOTION_ROUTING = {1: Routing.SEND, 2: Routing.REVIEW, 3: Routing.HANDOFF}
_EMOTION_ORDER = ("dissatisfied", "disappointed", "angry")   # ties go to the later one
_HEDGE_CONTEXT = 2   # units of context around a hedge compared with the evidence
_MESSAGE_FLAGS = {
    FlagKind.HUMAN_REQUEST: (Routing.HANDOFF, "the customer asks for a person"),
    FlagKind.ESCALATION_THREAT: (Routing.HANDOFF, "the customer threatens to take this outside "
                                 "(regulator, media, lawyer or police)"),
    FlagKind.INJECTION: (Routing.REVIEW, "the message tries to override the assistant's "
                         "instructions"),
}
_ANSWER_REASONS = {
    FlagKind.HEDGING: "hedging word: state it plainly or say what the evidence says",
    FlagKind.RISKY_PROMISE: "promise the evidence does not make",
    FlagKind.BANNED_WORD: "word the operator's list bans from answers",
    FlagKind.SENSITIVE_TOPIC: "sensitive topic the operator's list keeps out of answers",
}


class Emotion(str, Enum):
    """The customer's emotion as the guard reads it."""

    NEUTRAL = "neutral"
    DISSATISFIED = "dissatisfied"
    ANGRY = "angry"
    DISAPPOINTED = "disappointed"


class GuardResult(BaseModel):
    """What the guard found in one text and where the text goes next."""

    flags: list[Flag] = Field(default_factory=list)
    routing: Routing = Routing.SEND                 # strictest routing of the flags
    reasons: list[str] = Field(default_factory=list)  # flag kinds behind the routing, in order
    masked_text: str = ""                           # the checked text with personal data masked
    emotion: Emotion = Emotion.NEUTRAL
    suggested_script: str | None = None             # soothing script for an upset customer


class OffensiveModel(Protocol):
    """A learned offensive-language classifier (see cs_rag.guard.classifier)."""

    threshold: float   # a text is offensive when its probability is at least this

    def predict_proba(self, texts: list[str]) -> Sequence[float]:
        """P(offensive) for each text, in order."""
        ...


class Guard:
    """Checks messages and drafted answers against operator-editable lexicons and rules.

    `settings.lexicon_dir` names an operator folder whose lexicon files (see
    cs_rag.guard.lexicon) are added to the shipped ones; lexicon and script files are re-read
    when they change, checked at most every `settings.reload_seconds`. Soothing scripts come
    from `prompts_dir/<language>/soothing.txt` (default: the shipped prompts/). The offensive
    check also uses `offensive_model`: "shipped" loads `cs_rag.guard.classifier`'s model on
    first use when that module is installed, None uses the lexicon alone. `public_contacts`
    (the company's service addresses and numbers, CompanySettings.contacts) are never masked as
    personal data. Nothing is read before the first check. Thread-safe.
    """

    def __init__(self, settings: GuardSettings | None = None, *, prompts_dir: Path | None = None,
                 offensive_model: OffensiveModel | None | Literal["shipped"] = "shipped",
                 public_contacts: Sequence[str] = ()) -> None:
        self.settings = settings or GuardSettings()
        operator_dir = self.settings.lexicon_dir
        if operator_dir is not None and not operator_dir.is_dir():
            raise ConfigError("guard.lexicon_dir", f"not a folder: {operator_dir}")
        folders = [lexicon.shipped_dir(), *([operator_dir] if operator_dir else [])]
        contacts = tuple(public_contacts)
        self._lexicons = Reloading(lambda: lexicon.build_lexicons(folders, contacts),
                                   lambda: [f for d in folders for f in lexicon.lexicon_files(d)],
                                   self.settings.reload_seconds)
        prompts = Path(prompts_dir) if prompts_dir else default_prompts_dir()
        self._scripts = Reloading(lambda: scripts.load_scripts(prompts),
                                  lambda: scripts.script_files(prompts),
                                  self.settings.reload_seconds)
        if isinstance(offensive_model, str) and offensive_model != "shipped":
            raise ValueError(f'offensive_model must be "shipped", None or a model, got {offensive_model!r}')
        shipped = isinstance(offensive_model, str)
        self._model = None if shipped else offensive_model
        self._model_ready = not shipped
        self._model_lock = threading.Lock()

    # -- messages -----------------------------------------------------------------------

    def check_message(self, text: str, language: str | None = None) -> GuardResult:
        """Check a customer's message; `language` ("zh" or "en") picks the soothing script
        and defaults to zh when the text has Chinese characters, else en."""
        return self.check_messages([text], language)[0]

    def check_messages(self, texts: Sequence[str], language: str | None = None) -> list[GuardResult]:
        """`check_message` for many texts; the learned classifier scores them in one batch."""
        if language is not None and language not in scripts.LANGUAGES:
            raise ValueError(f"language must be one of {', '.join(scripts.LANGUAGES)}, got {language!r}")
        data = self._lexicons.get()
        model = self._offensive_model()
        scores = list(model.predict_proba(list(texts))) if model is not None and texts else []
        results = []
        for index, text in enumerate(texts):
            # the classifier has learned nothing about text without words ("？？？", "!!")
            score = float(scores[index]) if scores and _WORDS.search(text) else None
            results.append(self._check_message(text, language, data, model, score))
        return results

    def _check_message(self, text: str, language: str | None, data: Lexicons,
                       model: OffensiveModel | None, score: float | None) -> GuardResult:
        normal = normal_view(text)
        folded = fold_view(normal)
        hits = data.message.find(folded.text)
        pii = find_pii(text, normal, data.pii_allow)
        flags: list[Flag] = []
        seen: set[tuple[FlagKind, str]] = set()
        for hit in hits:
            kind = hit.spec.kind
            if kind is FlagKind.NEGATIVE_EMOTION or (kind, hit.term) in seen:
                continue
            seen.add((kind, hit.term))
            span = folded.original_span(hit.start, hit.end)
            if kind is FlagKind.OFFENSIVE:
                routing = Routing.HANDOFF if hit.level == 3 else Routing.REVIEW
                reason = "abusive language"
            else:
                routing, reason = _MESSAGE_FLAGS[kind]
            flags.append(Flag(kind=kind, severity=hit.level, span=span,
                              evidence=_evidence(text, span), reason=reason, routing=routing))
        if (model is not None and score is not None and score >= model.threshold
                and not any(h.spec.kind is FlagKind.OFFENSIVE for h in hits)):
            flags.append(Flag(kind=FlagKind.OFFENSIVE, severity=2, routing=Routing.REVIEW,
                              reason=f"the offensive-language classifier gives P={score:.2f} "
                                     f"(threshold {model.threshold:.2f})"))
        emotion, script = Emotion.NEUTRAL, None
        emotion_flag = self._emotion(text, normal, folded, hits)
        if emotion_flag is not None:
            flag, emotion = emotion_flag
            flags.insert(0, flag)
            if flag.level and flag.level >= 2:
                lang = language or detect_language(normal.text)
                script = scripts.pick_script(self._scripts.get()[lang], emotion.value, flag.level)
        flags.extend(_pii_flags(pii, severity=1, routing=Routing.SEND))
        return _result(flags, mask(text, pii), emotion, script)

    @staticmethod
    def _emotion(text: str, normal: View, folded: View,
                 hits: list[Hit]) -> tuple[Flag, Emotion] | None:
        signals = [(h, h.spec.emotion) for h in hits if h.spec.emotion]
        signals += [(h, "angry") for h in hits if h.spec.kind is FlagKind.OFFENSIVE and h.level == 3]
        if not signals:
            return None
        top, emotion = max(signals, key=lambda s: (s[0].level, _EMOTION_ORDER.index(s[1])))
        level = top.level
        bangs = max((len(m.group()) for m in _BANGS.finditer(normal.text)), default=0)
        marks = _MARKS.search(normal.text) is not None   # ??? or ?!? in exasperation
        threat = any(h.spec.kind is FlagKind.ESCALATION_THREAT for h in hits)
        strong_places = _separate_places([h for h, _ in signals if h.level >= 2])
        notes = []
        if bangs >= 3 or threat:
            level = 3
            notes.append("repeated exclamation marks" if bangs >= 3 else "a threat")
        elif bangs == 2 or marks or strong_places >= 2:
            level = min(3, level + 1)
            notes.append("several negative words" if strong_places >= 2 else "repeated ! or ?")
        if level == 1:
            advice = "reply with extra care"
        elif level == 2:
            advice = "a person checks the reply; a soothing script is suggested"
        else:
            advice = "red alert: hand over to a supervisor"
        words = list(dict.fromkeys(text[slice(*folded.original_span(h.start, h.end))]
                                   for h, _ in signals))
        reason = (f"{emotion} customer, level {level} ({_LEVEL_NAMES[level]}): {advice}; "
                  f"signals: {', '.join([*words, *notes])}")
        span = folded.original_span(top.start, top.end)
        flag = Flag(kind=FlagKind.NEGATIVE_EMOTION, severity=level, level=level, span=span,
                    evidence=_evidence(text, span), reason=reason,
                    routing=_EMOTION_ROUTING[level])
        return flag, Emotion(emotion)

    def _offensive_model(self) -> OffensiveModel | None:
        if not self._model_ready:
            with self._model_lock:
                if not self._model_ready:
                    self._model = _load_shipped_model()
                    self._model_ready = True
        return self._model

    # -- answers ------------------------------------------------------------------------

    def check_answer(self, text: str, evidence: Sequence[str]) -> GuardResult:
        """Check a drafted answer against the evidence texts it was written from."""
        data = self._lexicons.get()
        normal = normal_view(text)
        folded = fold_view(normal)
        evidence_folded = [fold(e) for e in evidence]
        quotes = [normal.original_span(*m.span()) for m in _QUOTED.finditer(normal.text)]
        flags: list[Flag] = []
        for hit in data.answer.find(folded.text):
            kind = hit.spec.kind
            span = folded.original_span(hit.start, hit.end)
            if kind is FlagKind.HEDGING and (
                    any(s <= span[0] and span[1] <= e for s, e in quotes)
                    or _hedge_in_evidence(folded.text, hit, evidence_folded)):
                continue
            if kind is FlagKind.RISKY_PROMISE and any(hit.term in e for e in evidence_folded):
                continue
            flags.append(Flag(kind=kind, severity=hit.level, span=span, routing=Routing.REVIEW,
                              evidence=_evidence(text, span), reason=_ANSWER_REASONS[kind]))
        flags.extend(_ungrounded(text, normal, evidence))
        pii = find_pii(text, normal, data.pii_allow)
        flags.extend(_pii_flags(pii, severity=2, routing=Routing.REVIEW))
        return _result(flags, mask(text, pii), Emotion.NEUTRAL, None)

    # -- personal data ------------------------------------------------------------------

    def mask_pii(self, text: str) -> str:
        """`text` with personal data masked (pii.allow.txt entries stay as they are)."""
        return mask(text, find_pii(text, allow=self._lexicons.get().pii_allow))


def _separate_places(hits: list[Hit]) -> int:
    """How many non-overlapping places the hits cover (差劲 inside 太差劲 is one place)."""
    places, end = 0, -1
    for hit in sorted(hits, key=lambda h: h.start):
        if hit.start >= end:
            places += 1
        end = max(end, hit.end)
    return places


def _load_shipped_model() -> OffensiveModel | None:
    try:
        module = importlib.import_module("cs_rag.guard.classifier")
    except ImportError:
        return None
    return module.load_offensive_classifier()


def _evidence(text: str, span: tuple[int, int]) -> str:
    snippet = text[span[0]:span[1]]
    return mask(snippet, find_pii(snippet))


def _pii_flags(matches: list[PiiMatch], severity: int, routing: Routing) -> list[Flag]:
    return [Flag(kind=FlagKind.PII, severity=severity, span=(m.start, m.end), evidence=m.masked,
                 reason=f"personal data: {LABELS[m.kind]}", routing=routing) for m in matches]


def _hedge_in_evidence(folded: str, hit: Hit, evidence: list[str]) -> bool:
    """True when the hedge with up to two neighbouring words on one side (可能影响) occurs in
    an evidence text: the answer quotes a policy's own wording."""
    units = [(m.start(), m.end()) for m in _UNIT.finditer(folded)]
    after = [u for u in units if u[0] >= hit.end][:_HEDGE_CONTEXT]
    before = [u for u in units if u[1] <= hit.start][-_HEDGE_CONTEXT:]
    phrases = []
    if after:
        phrases.append(folded[hit.start:after[-1][1]])
    if before:
        phrases.append(folded[before[0][0]:hit.end])
    return any(p in e for p in phrases for e in evidence)


def _ungrounded(text: str, normal: View, evidence: Sequence[str]) -> list[Flag]:
    stated = [c for e in evidence for c in extract_claims(normalize(e))]
    by_span: dict[tuple[int, int], list[Claim]] = {}
    for claim in extract_claims(normal.text):
        by_span.setdefault((claim.start, claim.end), []).append(claim)
    flags = []
    for (start, end), claims in by_span.items():
        if all(any(c.grounded_by(s) for s in stated) for c in claims):
            continue
        span = normal.original_span(start, end)
        flags.append(Flag(kind=FlagKind.UNGROUNDED, severity=2, span=span, routing=Routing.REVIEW,
                          evidence=_evidence(text, span),
                          reason=f"{claims[0].kind} stated in no evidence text"))
    return flags


def _result(flags: list[Flag], masked: str, emotion: Emotion, script: str | None) -> GuardResult:
    return GuardResult(flags=flags, routing=Routing.strictest([f.routing for f in flags]),
                       reasons=list(dict.fromkeys(f.kind.value for f in flags)),
                       masked_text=masked, emotion=emotion, suggested_script=script)


_default: Guard | None = None
_default_lock = threading.Lock()


def default_guard() -> Guard:
    """The Guard with default settings that the module-level functions share."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Guard()
        return _default


def check_message(text: str, language: str | None = None) -> GuardResult:
    """`Guard.check_message` with default settings."""
    return default_guard().check_message(text, language)


def check_answer(text: str, evidence: Sequence[str]) -> GuardResult:
    """`Guard.check_answer` with default settings."""
    return default_guard().check_answer(text, evidence)


def mask_pii(text: str) -> str:
    """`Guard.mask_pii` with default settings: 138****5678, 110105********1234, a***@x.com."""
    return default_guard().mask_pii(text)
