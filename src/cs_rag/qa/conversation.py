"""Conversations between customers and human agents, as quality inspection reads them: the
JSONL format and its checks.

One conversation per line:

    {"id": "t-001", "agent_id": "a-03", "channel": "chat",
     "started_at": "2026-11-02T10:15:00+08:00",
     "turns": [{"role": "customer", "text": "...", "ts": "2026-11-02T10:15:00+08:00"}, ...],
     "resolved": true, "satisfaction": 5}

`role` is customer, agent, bot or system; `ts` is ISO 8601, never earlier than the turn
before, and either every turn's `ts` has a UTC offset or none has. `channel`, `started_at`,
`resolved` and `satisfaction` (1-5) are optional; other keys (an evaluation set's `labels`)
are ignored. A bad line is an InputError naming the file, the line and the field.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from cs_rag.errors import InputError
from cs_rag.reading import jsonl_records

_TURN_ORDER = "turn_order"
_NAME = r"^[^\x00-\x1f\x7f]+$"   # an id or agent id: printable (it names a page and a database row)


class Role(StrEnum):
    """Who wrote a turn."""

    CUSTOMER = "customer"
    AGENT = "agent"
    BOT = "bot"
    SYSTEM = "system"


class QaTurn(BaseModel):
    """One message of a conversation."""

    model_config = ConfigDict(extra="ignore")

    role: Role
    text: str = Field(max_length=20000)
    ts: dt.datetime


class Conversation(BaseModel):
    """One conversation handled (at least in part) by a human agent."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1, max_length=200, pattern=_NAME)
    agent_id: str = Field(min_length=1, max_length=200, pattern=_NAME)
    channel: str | None = Field(default=None, max_length=200)
    started_at: dt.datetime | None = None
    turns: list[QaTurn] = Field(min_length=1, max_length=2000)
    resolved: bool | None = None
    satisfaction: int | None = Field(default=None, ge=1, le=5)

    @field_validator("turns")
    @classmethod
    def _times_in_order(cls, turns: list[QaTurn]) -> list[QaTurn]:
        aware = turns[0].ts.tzinfo is not None
        for index, turn in enumerate(turns[1:], start=1):
            problem = None
            if (turn.ts.tzinfo is not None) != aware:
                problem = "either every ts has a UTC offset or none has"
            elif turn.ts < turns[index - 1].ts:
                problem = "earlier than the turn before"
            if problem:
                raise PydanticCustomError(_TURN_ORDER, "turn {index}: {problem}",
                                          {"index": index, "problem": problem})
        return turns

    @property
    def day(self) -> dt.date:
        """The day the conversation took place: its start, else its first turn's."""
        return (self.started_at or self.turns[0].ts).date()


def parse_conversation(record: dict, source: str, line: int | None = None) -> Conversation:
    """A Conversation from a decoded JSON object; InputError naming `source`, line and field."""
    try:
        return Conversation.model_validate(record)
    except ValidationError as exc:
        first = exc.errors()[0]
        if first["type"] == _TURN_ORDER:
            raise InputError(source, first["ctx"]["problem"], line=line,
                             field=f"turns.{first['ctx']['index']}.ts") from None
        raise InputError.from_validation(exc, source, line=line) from None


def read_conversations(path: Path, *, skip_bad: bool = False) -> tuple[list[Conversation], list[InputError]]:
    """The conversations of a JSONL file and, with `skip_bad`, the errors of the lines left
    out; without it the first bad line raises its InputError. A file without any
    conversation is an error either way."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(str(path), f"cannot read: {exc.strerror}") from None
    return parse_conversations(data, str(path), skip_bad=skip_bad)


def parse_conversations(data: bytes, source: str, *, skip_bad: bool = False) -> tuple[list[Conversation], list[InputError]]:
    """`read_conversations` over a file's bytes (an upload), errors naming `source`."""
    items = list(jsonl_records(data, source))
    conversations: list[Conversation] = []
    errors: list[InputError] = []
    seen: dict[str, int] = {}
    for item in items:
        try:
            if isinstance(item, InputError):
                raise item
            number, record = item
            conversation = parse_conversation(record, source, number)
            if conversation.id in seen:
                raise InputError(source, f"id {conversation.id!r} already used on line "
                                 f"{seen[conversation.id]}", line=number, field="id")
            seen[conversation.id] = number
            conversations.append(conversation)
        except InputError as exc:
            if not skip_bad:
                raise
            errors.append(exc)
    if not conversations:
        raise InputError(source, "no conversation to inspect"
                         + (f" ({len(errors)} bad lines skipped)" if errors else ""))
    return conversations, errors
