"""What an inspection says about one conversation: findings (their codes are part of the
interface), the 0-100 scores and the measures the report aggregates."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field


class FindingCode(StrEnum):
    """A problem an inspection can find; docs/qa.md defines each."""

    SLOW_FIRST_RESPONSE = "slow_first_response"
    SLOW_REPLY = "slow_reply"
    LONG_HANDLING = "long_handling"
    NO_GREETING = "no_greeting"
    NO_CLOSING = "no_closing"
    IMPOLITE = "impolite"
    BANNED_PHRASE = "banned_phrase"
    NO_EMPATHY = "no_empathy"
    WRONG_INFO = "wrong_info"
    UNRESOLVED = "unresolved"


class Finding(BaseModel):
    """One problem at one turn (0-based index into `turns`). `evidence` is the text that shows
    it (a phrase, an excerpt, or for timing codes the measured time); `span` is the evidence's
    [start, end) in that turn's text when it is a piece of it."""

    code: FindingCode
    turn: int = Field(ge=0)
    evidence: str
    span: tuple[int, int] | None = None


class Scores(BaseModel):
    """0-100 per dimension (100: no finding); `overall` weighs the four (cs_rag.qa.scores)."""

    attitude: int = Field(ge=0, le=100)
    competence: int = Field(ge=0, le=100)
    communication: int = Field(ge=0, le=100)
    efficiency: int = Field(ge=0, le=100)
    overall: int = Field(ge=0, le=100)


class Measures(BaseModel):
    """The figures behind the findings, for the report's per-agent standards."""

    first_response_seconds: float | None = None   # None: no agent reply to a customer message
    handling_seconds: float = 0.0
    agent_turns: int = 0
    resolved: bool = True                          # the inspection's judgement, not the input's
    satisfaction: int | None = None                # the customer's rating, 1-5
    emotion_start: str = "neutral"                 # the customer's emotion in their first message
    emotion_end: str = "neutral"                   # ... and in their last
    upset_level: int = 0                           # the customer's highest guard emotion level
    wrong_info_checked: bool = False               # an index was there to check facts against


class Inspection(BaseModel):
    """One conversation's result. `measures` stays out of the JSON (model_dump excludes it)."""

    id: str
    agent_id: str
    findings: list[Finding] = Field(default_factory=list)
    scores: Scores
    measures: Measures = Field(default_factory=Measures, exclude=True)
