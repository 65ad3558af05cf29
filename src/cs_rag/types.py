"""Pydantic models for the public data: knowledge in, hits out."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from enum import Enum

from pydantic import BaseModel, ConfigDict, Field, field_validator


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
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None

    @field_validator("similar_questions", "tags")
    @classmethod
    def _drop_blank(cls, values: list[str]) -> list[str]:
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

    @property
    def content_hash(self) -> str:
        payload = self.model_dump(mode="json", exclude={"source", "file"})
        blob = json.dumps(payload, ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class Chunk(BaseModel):
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
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None

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


class Hit(BaseModel):
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

    def summary(self) -> str:
        return (f"added {len(self.added)}, updated {len(self.updated)}, removed {len(self.removed)}, "
                f"unchanged {len(self.unchanged)}, skipped {len(self.skipped)}; "
                f"{self.chunks} chunks in index, {self.texts_embedded} texts embedded, "
                f"{self.seconds:.1f} s")
