"""Pydantic models for the public data: knowledge in, hits, answers and flags out."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

# how one text cell or string lists several names: "手机、平板", "手机, 平板", "手机|平板"
NAME_SEPARATORS = re.compile(r"[,，、;；|]")


class DocumentKind(str, Enum):
    """What a unit of knowledge is; it decides how it is matched."""

    FAQ = "faq"          # matched on its standard and similar questions
    POLICY = "policy"    # a chunk of a policy document, matched on heading path + text
    PASSAGE = "passage"  # a passage from a passage set, matched on title + text


class FaqEntry(BaseModel):
    """One FAQ entry as a customer-service team maintains it; never split."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    question: str = Field(min_length=1)
    similar_questions: list[str] = Field(default_factory=list)
    answer: str | None = None
    category: str | None = None
    tags: list[str] = Field(default_factory=list)
    # the products (or product lines) the entry is about; none: it applies to every product
    products: list[str] = Field(default_factory=list)
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None

    _one_product = field_validator("products", mode="before")(lambda value: _names_as_list(value))
    _drop_blank = field_validator("similar_questions", "tags", "products")(
        lambda values: _without_blanks(values))
    _dates_in_order = field_validator("valid_to")(lambda value, info: _not_before_start(value, info))


# The tag of an FAQ entry whose wordings the team declines to answer (it has no answer text): a
# question it matches best, with the confidence an answer would need, is refused (Assistant).
DECLINED_TAG = "declined"


class DocumentMeta(BaseModel):
    """What a document says about itself for filters: Markdown front matter, or a passage
    record's keys. Other keys (author, tags, ...) are ignored; `products` may be one string
    ("手机、平板": names split as in a spreadsheet cell)."""

    model_config = ConfigDict(extra="ignore")

    category: str | None = None
    products: list[str] = Field(default_factory=list)  # empty: about every product
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None

    _one_product = field_validator("products", mode="before")(lambda value: _names_as_list(value))
    _drop_blank = field_validator("products")(lambda values: _without_blanks(values))
    _dates_in_order = field_validator("valid_to")(lambda value, info: _not_before_start(value, info))


def _names_as_list(value: Any) -> Any:
    return NAME_SEPARATORS.split(value) if isinstance(value, str) else value


def _not_before_start(valid_to: dt.date | None, info: ValidationInfo) -> dt.date | None:
    valid_from = info.data.get("valid_from")
    if valid_to is not None and valid_from is not None and valid_to < valid_from:
        raise ValueError(f"valid_to {valid_to} is before valid_from {valid_from}: the entry could never "
                         "be returned")
    return valid_to


def _without_blanks(values: list[str]) -> list[str]:
    return [v.strip() for v in values if v and v.strip()]


class Section(BaseModel):
    """A run of text under one heading path inside a document, before chunking."""

    heading_path: list[str] = Field(default_factory=list)
    text: str


class Document(BaseModel):
    """One ingestible unit from one source file: an FAQ entry, a policy document or a passage.

    `content_hash` covers everything that affects the index, so an unchanged document is
    recognised on re-ingest and never re-embedded.
    """

    id: str
    kind: DocumentKind
    source: str                   # the file it came from, as shown to users
    file: str | None = None       # that file's resolved path (decides re-ingest scope)
    title: str = ""
    faq: FaqEntry | None = None
    sections: list[Section] = Field(default_factory=list)
    category: str | None = None
    products: list[str] = Field(default_factory=list)
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None

    @property
    def content_hash(self) -> str:
        payload = self.model_dump(mode="json", exclude={"source", "file"})
        blob = json.dumps(payload, ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class _Titled:
    """A unit's title, shared by stored chunks and the hits made of them."""

    question: str | None
    heading_path: list[str]
    source: str

    @property
    def title(self) -> str:
        """The FAQ standard question, else the heading path, else the source."""
        return self.question or " > ".join(self.heading_path) or self.source


class Chunk(_Titled, BaseModel):
    """The unit the index stores and returns: a whole FAQ entry or a piece of a document.

    `match_texts` are what retrieval compares a query with; the chunk's score is the best
    over them (an FAQ entry's standard question and each similar question).
    """

    id: str
    doc_id: str
    kind: DocumentKind
    source: str
    text: str                     # what a reader sees: the answer for FAQ, the chunk text otherwise
    match_texts: list[str]
    heading_path: list[str] = Field(default_factory=list)
    position: int = 0             # order of the chunk inside its document
    question: str | None = None   # FAQ standard question
    category: str | None = None
    tags: list[str] = Field(default_factory=list)
    products: list[str] = Field(default_factory=list)  # empty: about every product
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    answer_field: bool = False    # an FAQ entry's answer as a match text of its own (index.faq_answers)

    @property
    def citation(self) -> str:
        """Human-readable origin, e.g. '退换货政策 > 七天无理由退货'."""
        if self.heading_path:
            return " > ".join(self.heading_path)
        return self.question or self.source


class Decision(str, Enum):
    """What retrieval says to do with a question."""

    ANSWER = "answer"    # the top hit is confidently right
    CLARIFY = "clarify"  # one of the top few is likely right, but they are too close to choose
    NONE = "none"        # the knowledge does not cover the question


class Hit(_Titled, BaseModel):
    """One ranked search result."""

    id: str
    doc_id: str
    score: float
    source: str
    kind: DocumentKind
    text: str
    question: str | None = None
    heading_path: list[str] = Field(default_factory=list)
    category: str | None = None
    products: list[str] = Field(default_factory=list)  # empty: about every product
    valid_from: dt.date | None = None  # the validity its entry or document declares (days included)
    valid_to: dt.date | None = None
    matched_text: str | None = None   # the match text that scored best
    scores: dict[str, float] = Field(default_factory=dict)  # per-retriever scores
    confidence: float | None = None   # calibrated P(this hit answers the question)


class Retrieval(BaseModel):
    """Hits for a question with the decision they support."""

    query: str
    hits: list[Hit]
    confidence: float = 0.0           # the first hit's calibrated confidence
    decision: Decision = Decision.NONE
    options: list[Hit] = Field(default_factory=list)  # 2-3 distinct candidates when clarifying
    timings_ms: dict[str, float] = Field(default_factory=dict)
    unknown_names: list[str] = Field(default_factory=list)  # listed names the knowledge never mentions
    evidence_score: float | None = None   # the evidence reader's 0-1 score that the first hit answers, when it read
    evidence_verdict: str | None = None   # what reading did to the decision (retrieval/evidence.py), when on


class SkippedInput(BaseModel):
    """Something `--skip-bad` left out, and why."""

    source: str
    reason: str


class IngestReport(BaseModel):
    """What an ingest changed in the index."""

    added: list[str] = Field(default_factory=list)
    updated: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)
    unchanged: list[str] = Field(default_factory=list)
    skipped: list[SkippedInput] = Field(default_factory=list)
    chunks: int = 0
    texts_embedded: int = 0
    seconds: float = 0.0
    tuning: str | None = None   # what happened to the embedding model's fine-tune, if it has one
    generated: str | None = None   # what the chat model wrote (index.generated_questions), if asked

    def summary(self) -> str:
        return (f"added {len(self.added)}, updated {len(self.updated)}, removed {len(self.removed)}, "
                f"unchanged {len(self.unchanged)}, skipped {len(self.skipped)}; "
                f"{self.chunks} chunks in index, {self.texts_embedded} texts embedded, "
                f"{self.seconds:.1f} s" + "".join(f"; {part}" for part in (self.tuning, self.generated) if part))


class Outcome(str, Enum):
    """What kind of reply an answer is."""

    ANSWERED = "answered"   # the knowledge covers the question; `text` answers it
    CLARIFY = "clarify"     # the top candidates are too close to choose; `options` lists them
    REFUSED = "refused"     # the knowledge does not cover it; `text` says so and offers a human
    HANDOFF = "handoff"     # a person takes over (the customer asked, or the guard decided)
    SMALLTALK = "smalltalk"  # only a greeting, thanks, goodbye...: `text` replies in kind, nothing retrieved
    NOTED = "noted"         # a suggestion: thanked and logged for the product team, no FAQ answer


class Routing(str, Enum):
    """Where a drafted reply goes next; ordered from least to most human involvement."""

    SEND = "send"           # straight to the customer
    REVIEW = "review"       # a person approves it first
    HANDOFF = "handoff"     # a person takes over the conversation

    @classmethod
    def strictest(cls, routings: "list[Routing]") -> "Routing":
        """The routing that involves a person most; SEND for an empty list."""
        order = list(cls)
        return max(routings, key=order.index, default=cls.SEND)


class FlagKind(str, Enum):
    """Everything the guard or the answer pipeline can flag.

    On the customer's message: negative_emotion (with `level` 1-3), offensive, human_request,
    escalation_threat, injection, pii; over a conversation's customer turns:
    emotion_escalation (the level rose to 2 or more, or stayed at 2 for three turns). On a drafted answer: hedging, risky_promise, ungrounded,
    sensitive_topic, banned_word, pii. From the pipeline itself: llm_error (the configured LLM
    failed and the embedded default answered), bad_citation (an LLM cited evidence that was
    not given).
    """

    NEGATIVE_EMOTION = "negative_emotion"
    OFFENSIVE = "offensive"
    HUMAN_REQUEST = "human_request"
    ESCALATION_THREAT = "escalation_threat"
    INJECTION = "injection"
    PII = "pii"
    HEDGING = "hedging"
    RISKY_PROMISE = "risky_promise"
    UNGROUNDED = "ungrounded"
    SENSITIVE_TOPIC = "sensitive_topic"
    BANNED_WORD = "banned_word"
    LLM_ERROR = "llm_error"
    BAD_CITATION = "bad_citation"
    EMOTION_ESCALATION = "emotion_escalation"


class Emotion(str, Enum):
    """The customer's emotion as the guard reads it: none, or one of three negative kinds."""

    NONE = "none"
    DISSATISFIED = "dissatisfied"   # 不满: a grievance the customer wants put right
    ANGRY = "angry"                 # 愤怒: hostility, accusations, threats
    DISAPPOINTED = "disappointed"   # 失望: let down, resigned, trust lost


class EmotionReading(BaseModel):
    """The emotion of one customer message and its warning level.

    Level 0 goes with `none`; 1 mild (轻度不满: a note for the agent), 2 clear (明显不满: a
    soothing script, a person checks the reply), 3 strong (强烈负面: hand over to a supervisor).
    """

    label: Emotion = Emotion.NONE
    level: int = Field(default=0, ge=0, le=3)


class QuestionType(str, Enum):
    """What a customer's message is for (咨询/操作/故障/投诉/建议)."""

    INQUIRY = "inquiry"         # asks for information: a rule, a price, a delivery time
    HOWTO = "howto"             # asks how to do something
    FAULT = "fault"             # something does not work: a defect, a missing item, an error
    COMPLAINT = "complaint"     # accuses the shop or its people, demands redress
    SUGGESTION = "suggestion"   # proposes an improvement

    @property
    def chinese(self) -> str:
        """The type's Chinese name, as reports show it."""
        return _QUESTION_TYPE_ZH[self]


_QUESTION_TYPE_ZH = {QuestionType.INQUIRY: "咨询", QuestionType.HOWTO: "操作",
                     QuestionType.FAULT: "故障", QuestionType.COMPLAINT: "投诉",
                     QuestionType.SUGGESTION: "建议"}


class Flag(BaseModel):
    """One reason a message or reply needs care, with where and why."""

    kind: FlagKind
    severity: int = Field(default=1, ge=1, le=3)    # 1 note, 2 a person should look, 3 urgent
    span: tuple[int, int] | None = None              # character offsets in the checked text
    evidence: str = ""                               # the matched words, PII already masked
    reason: str = ""                                 # a sentence a reviewer can read
    level: int | None = Field(default=None, ge=1, le=3)  # intensity, for negative_emotion
    routing: Routing = Routing.REVIEW                # what this flag alone asks for


class Citation(BaseModel):
    """A FAQ entry or document chunk an answer used."""

    marker: int                      # the n in an [n] marker in the answer text
    id: str
    doc_id: str
    source: str
    kind: DocumentKind
    title: str                       # FAQ standard question, or heading path, or source
    heading_path: list[str] = Field(default_factory=list)
    score: float
    confidence: float | None = None

    @classmethod
    def from_hit(cls, marker: int, hit: "Hit") -> "Citation":
        """The citation `[marker]` of a retrieved hit, titled by its question or heading path."""
        return cls(marker=marker, id=hit.id, doc_id=hit.doc_id, source=hit.source, kind=hit.kind,
                   title=hit.title, heading_path=hit.heading_path, score=round(hit.score, 4),
                   confidence=None if hit.confidence is None else round(hit.confidence, 4))


class Turn(BaseModel):
    """One turn of a conversation."""

    role: str = Field(pattern="^(user|assistant)$")
    content: str


class Customer(BaseModel):
    """What is known about the customer; every field optional."""

    id: str | None = None
    name: str | None = None
    level: str | None = None         # e.g. "VIP"; matched against prompts/<lang>/phrases.toml
    tags: list[str] = Field(default_factory=list)
    open_orders: list[str] = Field(default_factory=list)


class Answer(BaseModel):
    """The reply to one question: what the helpdesk, CLI and HTTP service all return."""

    question: str
    text: str
    outcome: Outcome
    confidence: float
    citations: list[Citation] = Field(default_factory=list)
    options: list[Citation] = Field(default_factory=list)   # the candidates offered to clarify
    flags: list[Flag] = Field(default_factory=list)
    routing: Routing = Routing.SEND
    reasons: list[str] = Field(default_factory=list)         # reason codes for the routing
    language: str = "zh"
    generator: str = "extractive"                            # "extractive" or "llm:<model>"
    trace_id: str = ""
    trace: dict[str, Any] = Field(default_factory=dict)      # rewrite, timings_ms, scores
    emotion: EmotionReading = Field(default_factory=EmotionReading)   # of the customer's message
    question_type: QuestionType | None = None                # of the customer's message
    priority: bool = False      # a fault or complaint from an upset customer: review it first
