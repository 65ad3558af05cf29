"""Request and response bodies of the HTTP API (the OpenAPI schema is built from these)."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any, Literal

from fastapi import Path as FastApiPath
from pydantic import BaseModel, ConfigDict, Field

from cs_rag.answering.assistant import MAX_QUESTION_CHARS
from cs_rag.answering.suggest import Suggestion
from cs_rag.index.base import SearchFilter
from cs_rag.learning.feedback import MAX_COMMENT_CHARS, Feedback, FeedbackReason
from cs_rag.learning.queue import Candidate, LearningAction, Wording
from cs_rag.qa import Conversation, Inspection
from cs_rag.service.jobs import Job
from cs_rag.service.reviews import Review, SavedAs
from cs_rag.types import Answer, Customer, DocumentKind, Flag, Hit, Turn

# ---- API models -----------------------------------------------------------------------------

_QuestionText = Annotated[str, Field(min_length=1, max_length=MAX_QUESTION_CHARS, pattern=r"\S")]


class _Scoped(BaseModel):
    """Filters a request may carry, each one name or a list: `category` keeps hits of those
    categories; `product` (e.g. the product page the chat was opened from) keeps hits about
    those products or about no product in particular. Blank names are ignored, so a client that
    sends "" when it has no product keeps every entry."""

    category: str | list[str] | None = None
    product: str | list[str] | None = None

    def search_filter(self) -> SearchFilter | None:
        categories, products = _names(self.category), _names(self.product)
        if not categories and not products:
            return None
        return SearchFilter(categories=categories or None, products=products or None)


def _names(value: str | list[str] | None) -> set[str]:
    values = [value] if isinstance(value, str) else value or []
    return {v.strip() for v in values if v.strip()}


def end_customer(**identities: str | None) -> str | None:
    """The end customer a request names, for the per-customer rate limit: the first identity
    given (non-blank), as "kind:value"; None when it names none (the client's address is used)."""
    return next((f"{kind}:{value}" for kind, value in identities.items() if value and value.strip()), None)


class AnswerRequest(_Scoped):
    """A customer's question; `session_id` continues a conversation kept by the service."""

    model_config = ConfigDict(extra="forbid")

    question: _QuestionText
    session_id: str | None = Field(default=None, max_length=64)
    customer: Customer | None = None   # replaces what the session knew of the customer
    stream: bool = False               # server-sent events: `delta` pieces, then `answer`
    # the `id` of an option a clarify reply offered, which the customer picked: it answers
    # directly (`question` is then what the customer saw, e.g. the option's title; no stream)
    option_id: str | None = Field(default=None, min_length=1, max_length=300)

    def end_customer(self) -> str | None:
        return end_customer(session=self.session_id, customer=self.customer.id if self.customer else None)


class AnswerResponse(Answer):
    """The Answer, field for field as `cs-rag ask --json` prints it, plus the session."""

    session_id: str
    new_session: bool                  # this question started a session
    expired_session: str | None = None  # the session asked for, if it had ended or is unknown
    review_id: int | None = None       # set when the answer was queued for review


class SearchRequest(_Scoped):
    model_config = ConfigDict(extra="forbid")

    query: _QuestionText
    k: int = Field(default=10, ge=1, le=50)


class SearchResponse(BaseModel):
    query: str
    hits: list[Hit]


class SuggestRequest(_Scoped):
    """The customer's last message: `question`, or the last user turn of `session_id`'s
    history or of `messages`; the turns before it are the history."""

    model_config = ConfigDict(extra="forbid")

    question: _QuestionText | None = None
    session_id: str | None = Field(default=None, max_length=64)
    messages: list[Turn] | None = None
    k: int = Field(default=3, ge=1, le=5)

    def end_customer(self) -> str | None:
        return end_customer(session=self.session_id)


class SuggestResponse(BaseModel):
    question: str                     # the customer's message, personal data masked
    search_query: str                 # what was searched (the follow-up rewritten, if it was)
    suggestions: list[Suggestion]
    flags: list[Flag]                 # what the guard found in the customer's message
    suggested_script: str | None = None


class ChatContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[ChatContentPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(p.text or "" for p in self.content if p.type == "text")
        return self.content or ""


class ChatCompletionRequest(_Scoped):
    """OpenAI chat completions: the last message (a user's) is the question, earlier user and
    assistant messages the history. Sampling parameters are accepted and ignored; `category`
    and `product` (cs_rag's own, like `customer`) filter what is searched."""

    model_config = ConfigDict(extra="allow")

    model: str | None = None
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    customer: Customer | None = None   # cs_rag's own field (openai client: extra_body)
    # OpenAI's id of the end user: the end customer the per-customer rate limit counts
    user: str | None = None

    def end_customer(self) -> str | None:
        return end_customer(user=self.user, customer=self.customer.id if self.customer else None)


class ChatChoiceMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class ChatChoice(BaseModel):
    index: int = 0
    message: ChatChoiceMessage
    finish_reason: str = "stop"
    logprobs: None = None


class ChatCompletion(BaseModel):
    """An OpenAI chat completion; `cs_rag` holds the Answer's other fields (citations, flags,
    outcome, routing, ...)."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[ChatChoice]
    cs_rag: dict[str, Any]


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = "cs_rag"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class ReviewAction(str, Enum):
    APPROVE = "approve"
    EDIT = "edit"
    REJECT = "reject"


class ReviewDecision(BaseModel):
    """A reviewer's decision. `edit` needs `text`. An approved or edited answer may be saved:
    `faq_answer` writes a new FAQ entry (`question`, default the standalone question, with the
    final text); `similar_question` teaches the FAQ entry `faq_id` (default: the first FAQ entry
    the answer cites) the customer's question as one more phrasing; `entry_answer` replaces that
    entry's answer with the final text (the old one stays in the learning audit log)."""

    model_config = ConfigDict(extra="forbid")

    action: ReviewAction
    text: str | None = Field(default=None, min_length=1, max_length=20000)
    note: str | None = Field(default=None, max_length=2000)
    save_as: SavedAs | None = None
    question: str | None = Field(default=None, min_length=1, max_length=MAX_QUESTION_CHARS)
    faq_id: str | None = Field(default=None, min_length=1, max_length=200)
    category: str | None = Field(default=None, max_length=200)




class FeedbackRequest(BaseModel):
    """A customer's rating of an answer: `answer_id` is the answer's `trace_id`; `reason` only
    with `helpful: false`."""

    model_config = ConfigDict(extra="forbid")

    answer_id: str = Field(min_length=1, max_length=64)
    helpful: bool
    reason: FeedbackReason | None = None
    comment: str | None = Field(default=None, max_length=MAX_COMMENT_CHARS)


class FeedbackResult(BaseModel):
    feedback: Feedback
    review_id: int | None = None   # a disliked answer that was sent joins the review queue


class LearningGroupView(BaseModel):
    id: str
    count: int
    wordings: list[Wording]
    sources: dict[str, int]
    candidates: list[Candidate]
    suggested: dict[str, int]   # entries customers picked from offered choices, with counts


class LearningGroups(BaseModel):
    groups: list[LearningGroupView]


_Wordings = Annotated[list[Annotated[str, Field(min_length=1, max_length=MAX_QUESTION_CHARS)]] | None,
                     Field(default=None, min_length=1, max_length=500,
                           description="only these wordings of the group (the others stay open); default all")]


class LinkAction(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["link"]
    entry_id: str = Field(min_length=1, max_length=200)
    wordings: _Wordings = None


class CreateAction(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["create"]
    wordings: _Wordings = None
    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS)
    answer: str = Field(min_length=1, max_length=20000)
    category: str | None = Field(default=None, max_length=200)


class IgnoreAction(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["ignore"]
    wordings: _Wordings = None
    reason: str = Field(min_length=1, max_length=2000)


class DeclineAction(BaseModel):
    """The wordings are not to be answered: the next ingest makes them a retrieval-only entry,
    and a question matching them best is refused, not answered from a neighbouring entry."""
    model_config = ConfigDict(extra="forbid")
    action: Literal["decline"]
    wordings: _Wordings = None
    reason: str = Field(min_length=1, max_length=2000)


class UndoAction(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["undo"]
    action_id: int = Field(ge=1, le=2**63 - 1)


LearningRequest = Annotated[LinkAction | CreateAction | IgnoreAction | DeclineAction | UndoAction,
                            Field(discriminator="action")]


class LearningResult(BaseModel):
    action: LearningAction
    job: Job | None = None    # the ingest that applies it (none for ignore)


class LearningLog(BaseModel):
    actions: list[LearningAction]


class ReviewList(BaseModel):
    total: int
    reviews: list[Review]


class ReviewResult(BaseModel):
    review: Review
    job: Job | None = None    # the ingest that adds a saved FAQ entry to the index


class UploadResult(BaseModel):
    file: str                 # where it is stored, relative to the service's knowledge folder
    documents: list[str]      # the document ids it holds
    replaced: bool            # an earlier upload with the same name was replaced
    job: Job


class DeleteResult(BaseModel):
    document: str
    job: Job


class DocumentInfo(BaseModel):
    id: str
    kind: DocumentKind
    source: str
    chunks: int
    owned: bool               # stored by the service (uploads, reviews), so DELETE can remove it


class DocumentList(BaseModel):
    index_version: str
    documents: list[DocumentInfo]


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    ready: bool               # the index is live and the models are loaded
    index_version: str | None = None
    documents: int | None = None
    chunks: int | None = None
    jobs: dict[str, int]


class ErrorBody(BaseModel):
    detail: str | list[dict[str, Any]]


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    text = {400: "the body is not valid JSON or multipart", 401: "missing or unknown key", 403: "the key may not call this route (a client key on an admin route, a widget key off its routes or origins)", 404: "not found",
            409: "conflicts with the current state", 413: "request body too large",
            415: "file type not accepted", 429: "rate limited; see Retry-After",
            503: "the index is not built yet, or the index or its database cannot be reached; "
                 "see Retry-After"}
    return {code: {"model": ErrorBody, "description": text[code]} for code in codes}


# 400: a body that is not JSON; 503: every route may read the index or the service's database
CLIENT_ERRORS = error_responses(400, 401, 403, 413, 429, 503)
ADMIN_ERRORS = error_responses(400, 401, 403, 413, 429, 503)
RowId = Annotated[int, FastApiPath(ge=1, le=2**63 - 1)]   # SQLite's INTEGER range


def event_stream_doc(description: str, events: list[str] | None) -> dict[str, Any]:
    """The OpenAPI 3.1 description of a server-sent event stream: `schema` is one event."""
    event: dict[str, Any] = {"type": "string", "enum": events} if events else {"type": "string"}
    properties = {"data": {"type": "string"}, **({"event": event} if events else {})}
    return {"text/event-stream": {"schema": {"type": "object", "properties": properties,
                                             "required": ["data"], "description": description}}}


# ---- quality inspection -----------------------------------------------------------------------

QA_BATCH = 1000   # conversations inspected in one request (the API's batch, a console upload)


class QaRequest(BaseModel):
    """Conversations to inspect, each in the shape of a `cs-rag qa` line (docs/qa.md)."""

    model_config = ConfigDict(extra="forbid")

    conversations: list[Conversation] = Field(min_length=1, max_length=QA_BATCH)
    keep: bool = False   # keep the run for the console's quality page (/console/qa)
    # the run's label there, printable (it is stored and shown)
    source: str = Field(default="POST /v1/qa", min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")


class QaTotals(BaseModel):
    """The batch in sum: findings by code and the mean scores."""

    conversations: int
    findings: dict[str, int]            # by code, every code listed
    scores: dict[str, float]            # mean per dimension and overall
    wrong_info_checked: bool            # false while the service has no index


class QaResponse(BaseModel):
    results: list[Inspection]
    totals: QaTotals
    run_id: int | None = None           # the kept run (`keep`), shown at /console/qa?run=<id>

