"""The guard: checks a customer's message and a drafted answer, and routes them with reasons.

Routing is the strictest of the flags' routings (send < review < handoff). What each check
raises, and what it asks for:

On a message (`Guard.check_message`):
  negative_emotion  the learned model's reading with the lexicon's evidence (cs_rag.guard.emotion):
                    label dissatisfied, angry or disappointed and level 1 mild -> send (a note
                    for the agent); 2 clear -> review, with a suggested soothing script; 3
                    strong -> handoff to a supervisor
  human_request     the customer asks for a person -> handoff
  escalation_threat regulator, media, lawyer, police, a threat to complain (我要投诉你们; asking
                    how to complain is no threat, nor a question about the channel that the
                    message model reads as calm and that states no intent) -> handoff (severity 3)
  injection         an attempt to override the assistant's instructions -> review (severity 3)
  offensive         abusive words (lexicon: level 3 -> handoff, else review), or only the learned
                    classifier's P(offensive) >= its threshold (the customer-service one,
                    see cs_rag.guard.classifier) -> review
  pii               personal data, masked in `masked_text` and every flag's evidence -> send
Every message also gets `emotion` (label and level, level 0 for none) and `question_type`
(None without the model). A fault or complaint at emotion level 2 or more is `priority`: at
least review, first in the queue.
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
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
from pydantic import BaseModel, Field

from cs_rag.config import GuardSettings, default_prompts_dir
from cs_rag.errors import ConfigError
from cs_rag.guard import lexicon, scripts
from cs_rag.guard.claims import Claim, extract_claims
from cs_rag.guard.emotion import Reading, Seen, read_messages
from cs_rag.guard.fold import View, fold, fold_view, normal_view
from cs_rag.guard.lexicon import Hit, Lexicons
from cs_rag.guard.pii import LABELS, PiiMatch, find_pii, mask
from cs_rag.guard.reload import Reloading
from cs_rag.guard.trajectory import HELD_TURNS, escalation_flag, trajectory
from cs_rag.guard.understanding import MessageModel, load_message_model
from cs_rag.text import detect_language, normalize
from cs_rag.types import EmotionReading, Flag, FlagKind, QuestionType, Routing

_WORD_UNITS = re.compile(r"[\u3400-\u9fff]|[^\W\d_\u3400-\u9fff]{2,}")   # a Chinese character or a word
_CLASSIFIER_MIN_WORDS = 3   # of those: 人呢？ and 喂？ are too short to read

_QUOTED = re.compile(r"「[^」]*」|『[^』]*』|“[^”]*”|\"[^\"]*\"|《[^》]*》|‘[^’]*’")
_UNIT = re.compile(r"[a-z0-9]+|[^\W_]")
_PRIORITY_TYPES = frozenset({QuestionType.FAULT, QuestionType.COMPLAINT})
# a question about a complaint channel (12315的电话是多少, 维权流程是怎样的) and a statement of
# intent (我要报警, 我会打12315, 我是不是只能去消协了, I will sue): only the first is no threat
_ASKS = re.compile(r"[?？]|吗|多少|怎么|怎样|如何|哪|什么|能不能|可不可以|是不是|有没有|"
                   r"\b(?:how|what|where|which|when|can|could|is|are|do|does)\b", re.IGNORECASE)
_INTENT = re.compile(r"我.{0,5}(?:要|会|就|去|得|准备|打算|只能|已经|已)|再不|不然|否则|"
                     r"\b(?:i will|i'll|i'm going to|i am going to|i have|i've|i'd)\b", re.IGNORECASE)
_HEDGE_CONTEXT = 2   # units of context around a hedge compared with the evidence
_MESSAGE_FLAGS = {
    FlagKind.HUMAN_REQUEST: (Routing.HANDOFF, "the customer asks for a person"),
    FlagKind.ESCALATION_THREAT: (Routing.HANDOFF, ("the customer threatens to take this outside "
                                                   "(regulator, media, lawyer or police)")),
    FlagKind.INJECTION: (Routing.REVIEW, "the message tries to override the assistant's instructions"),
}
_ANSWER_REASONS = {
    FlagKind.HEDGING: "hedging word: state it plainly or say what the evidence says",
    FlagKind.RISKY_PROMISE: "promise the evidence does not make",
    FlagKind.BANNED_WORD: "word the operator's list bans from answers",
    FlagKind.SENSITIVE_TOPIC: "sensitive topic the operator's list keeps out of answers",
}


class GuardResult(BaseModel):
    """What the guard found in one text and where the text goes next."""

    flags: list[Flag] = Field(default_factory=list)
    routing: Routing = Routing.SEND                 # strictest routing of the flags
    reasons: list[str] = Field(default_factory=list)  # flag kinds behind the routing, in order
    masked_text: str = ""                           # the checked text with personal data masked
    emotion: EmotionReading = Field(default_factory=EmotionReading)   # level 0 for none
    question_type: QuestionType | None = None       # a message's; None for an answer or no model
    priority: bool = False                          # a fault or complaint at emotion level >= 2
    suggested_script: str | None = None             # soothing script for an upset customer


class OffensiveModel(Protocol):
    """A learned offensive-language classifier (see cs_rag.guard.classifier)."""

    threshold: float   # a text is offensive when its probability is at least this

    def predict_proba(self, texts: list[str]) -> Sequence[float]:
        """P(offensive) for each text, in order."""
        ...


class TextEncoder(Protocol):
    """Sentence embeddings in the query role (cs_rag.models.embedding.Embedder is one)."""

    @property
    def name(self) -> str:
        """The embedding model's name."""
        ...

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dimension) normalised vectors."""
        ...


class Guard:
    """Checks messages and drafted answers against operator-editable lexicons and rules.

    `settings.lexicon_dir` names an operator folder whose lexicon files (see
    cs_rag.guard.lexicon) are added to the shipped ones; lexicon and script files are re-read
    when they change, checked at most every `settings.reload_seconds`. Soothing scripts come
    from `prompts_dir/<language>/soothing.txt` (default: the shipped prompts/). The offensive
    check also uses `offensive_model`: "shipped" loads `cs_rag.guard.classifier`'s model on
    first use when that module is installed, None uses the lexicon alone. `message_model` reads
    emotion, level and question type ("shipped": `cs_rag.guard.understanding`'s model, loaded
    on first use; None: the lexicon alone reads emotion, question type unknown). With an
    `encoder` whose model is the one the shipped embedding model was trained with (the
    embedded default e5), "shipped" is that model, which also reads the message's vector;
    with none, or another embedding model, the n-gram model. `public_contacts`
    (the company's service addresses and numbers, CompanySettings.contacts) are never masked as
    personal data. Nothing is read before the first check. Thread-safe.
    """

    def __init__(self, settings: GuardSettings | None = None, *, prompts_dir: Path | None = None,
                 offensive_model: OffensiveModel | None | Literal["shipped"] = "shipped",
                 message_model: MessageModel | None | Literal["shipped"] = "shipped",
                 encoder: TextEncoder | None = None, public_contacts: Sequence[str] = ()) -> None:
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
        for name, given in (("offensive_model", offensive_model), ("message_model", message_model)):
            if isinstance(given, str) and given != "shipped":
                raise ValueError(f'{name} must be "shipped", None or a model, got {given!r}')
        self._offensive = _Shipped(offensive_model, _load_shipped_model)
        self._encoder = encoder
        self._understanding = _Shipped(message_model, self._shipped_message_model)

    # -- messages -----------------------------------------------------------------------

    def check_message(self, text: str, language: str | None = None,
                      earlier: Sequence[str] = ()) -> GuardResult:
        """Check a customer's message; `language` ("zh" or "en") picks the soothing script
        and defaults to zh when the text has Chinese characters, else en. `earlier` are the
        customer's earlier messages in the conversation, oldest first: when the levels
        escalate (cs_rag.guard.trajectory) at this message, an emotion_escalation flag hands
        the conversation off even if no message is level 3."""
        # an escalation at this message depends on the newest HELD_TURNS levels only, so only
        # the messages before it among those are read again
        earlier = list(earlier)[-(HELD_TURNS - 1):]
        if not earlier:
            return self.check_messages([text], language)[0]
        *before, result = self.check_messages([*earlier, text], language)
        flag = escalation_flag(trajectory([r.emotion.level for r in [*before, result]]))
        if flag is None:
            return result
        return _result([*result.flags, flag], result.masked_text, result.emotion,
                       result.suggested_script, result.question_type, result.priority)

    def check_messages(self, texts: Sequence[str], language: str | None = None) -> list[GuardResult]:
        """`check_message` for many texts; the learned classifier scores them in one batch."""
        if language is not None and language not in scripts.LANGUAGES:
            raise ValueError(f"language must be one of {', '.join(scripts.LANGUAGES)}, got {language!r}")
        data = self._lexicons.get()
        model = self._offensive.get()
        scores = list(model.predict_proba(list(texts))) if model is not None and texts else []
        seen, pii = [], []
        for text in texts:
            normal = normal_view(text)
            folded = fold_view(normal)
            seen.append(Seen(text, normal, folded, data.message.find(folded.text)))
            pii.append(find_pii(text, normal, data.pii_allow))
        reader = self._understanding.get()
        vectors = None
        if reader is not None and reader.embedding_model is not None and seen:
            if self._encoder is None:
                raise ValueError(f"the message model reads {reader.embedding_model} embeddings: "
                                 "give the Guard an encoder")
            # masked, as the retriever embeds the question: one pass then serves both, a
            # fine-tuned knowledge base's vector included (cs_rag.answering.guard_encoder)
            vectors = self._encoder.encode_queries([mask(s.text, p) for s, p in zip(seen, pii)])
        readings = read_messages(reader, seen, vectors)
        results = []
        for index, item in enumerate(seen):
            # the classifier has learned nothing about text without words ("？？？", "!!"), and
            # reads too little in two (人呢？ at P .89); the lexicon still finds 滚, sb, 傻逼
            readable = len(_WORD_UNITS.findall(item.text)) >= _CLASSIFIER_MIN_WORDS
            score = float(scores[index]) if scores and readable else None
            results.append(self._check_message(item, pii[index], readings[index], language, data,
                                               model, score))
        return results

    def _check_message(self, item: Seen, pii: list[PiiMatch], reading: Reading, language: str | None,
                       data: Lexicons, model: OffensiveModel | None, score: float | None) -> GuardResult:
        text, hits = item.text, item.hits
        flags: list[Flag] = []
        seen: set[tuple[FlagKind, str]] = set()
        for hit in hits:
            kind = hit.spec.kind
            if kind is FlagKind.NEGATIVE_EMOTION or (kind, hit.term) in seen:
                continue
            if kind is FlagKind.ESCALATION_THREAT and _calm_channel_question(text, reading):
                continue
            seen.add((kind, hit.term))
            span = item.folded.original_span(hit.start, hit.end)
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
        script = None
        emotion = reading.emotion
        if reading.flag is not None:
            flags.insert(0, reading.flag)
            if emotion.level >= 2:
                lang = language or detect_language(item.normal.text)
                script = scripts.pick_script(self._scripts.get()[lang], emotion.label.value, emotion.level)
        priority = reading.question_type in _PRIORITY_TYPES and emotion.level >= 2
        flags.extend(_pii_flags(pii, severity=1, routing=Routing.SEND))
        return _result(flags, mask(text, pii), emotion, script, reading.question_type, priority)

    def _shipped_message_model(self) -> MessageModel | None:
        if self._encoder is not None:
            model = load_message_model(embeddings=True)
            if model is not None and model.embedding_model == self._encoder.name:
                return model
        return load_message_model()

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
        return _result(flags, mask(text, pii))

    # -- personal data ------------------------------------------------------------------

    def mask_pii(self, text: str) -> str:
        """`text` with personal data masked (pii.allow.txt entries stay as they are)."""
        return mask(text, find_pii(text, allow=self._lexicons.get().pii_allow))


class _Shipped:
    """A model given to the Guard, or the shipped one loaded on first use ("shipped"). Thread-safe."""

    def __init__(self, given, load) -> None:
        self._shipped = isinstance(given, str)
        self._value = None if self._shipped else given
        self._load = load
        self._lock = threading.Lock()

    def get(self):
        if self._shipped:
            with self._lock:
                if self._shipped:
                    self._value = self._load()
                    self._shipped = False
        return self._value


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


def _result(flags: list[Flag], masked: str, emotion: EmotionReading | None = None,
            script: str | None = None, question_type: QuestionType | None = None,
            priority: bool = False) -> GuardResult:
    """The result of these flags: the strictest routing, at least review when `priority`."""
    routings = [f.routing for f in flags] + ([Routing.REVIEW] if priority else [])
    return GuardResult(flags=flags, routing=Routing.strictest(routings),
                       reasons=list(dict.fromkeys(f.kind.value for f in flags)),
                       masked_text=masked, emotion=emotion or EmotionReading(),
                       question_type=question_type, priority=priority, suggested_script=script)


_default: Guard | None = None
_default_lock = threading.Lock()


def default_guard() -> Guard:
    """The Guard with default settings that the module-level functions share."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Guard()
        return _default


def _calm_channel_question(text: str, reading: Reading) -> bool:
    """Whether a message with a threat word asks about the channel rather than threatens: the
    message model (which reads the threat word as one of its cues) reads it as calm, it asks
    something, and it states no intent."""
    return (reading.p_negative is not None and reading.emotion.level == 0
            and _ASKS.search(text) is not None and _INTENT.search(text) is None)


def check_message(text: str, language: str | None = None) -> GuardResult:
    """`Guard.check_message` with default settings."""
    return default_guard().check_message(text, language)


def check_answer(text: str, evidence: Sequence[str]) -> GuardResult:
    """`Guard.check_answer` with default settings."""
    return default_guard().check_answer(text, evidence)


def mask_pii(text: str) -> str:
    """`Guard.mask_pii` with default settings: 138****5678, 110105********1234, a***@x.com."""
    return default_guard().mask_pii(text)
