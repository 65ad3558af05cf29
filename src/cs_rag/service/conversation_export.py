"""The service's own conversations in the quality inspector's input shape (docs/qa.md): what
`GET /v1/qa/export` writes, one conversation per session, so a helpdesk can add its agents'
turns after a hand-off and inspect the whole conversation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from cs_rag.learning.answers import AnswerLog, AnswerRecord
from cs_rag.qa import Conversation
from cs_rag.types import Routing

BOT_AGENT = "bot"   # the agent_id of a conversation only the bot served
HANDED_OFF = "转人工 · handed off to a person"


def exported_conversations(answers: AnswerLog, start: dt.datetime | None, end: dt.datetime | None,
                           tz: dt.tzinfo, *, handed_off_only: bool = False) -> Iterator[Conversation]:
    """The answers given in [start, end) as conversations, oldest first: one per session (an
    answer without a session is a conversation of its own, named by its trace id). Each answer
    is the customer's message (as the log keeps it: personal data masked), at the time it was
    asked (answered minus the pipeline's latency), and the bot's reply at the time it was
    answered; a hand-off adds a system turn. `handed_off_only` keeps the conversations with
    one, those a person went on with. Times are in `tz`."""
    sessions: dict[str, list[AnswerRecord]] = {}
    for record in answers.between(start, end):
        sessions.setdefault(record.session_id or record.trace_id, []).append(record)
    for conversation_id, records in sessions.items():
        handed_off = any(r.routing == Routing.HANDOFF.value for r in records)
        if handed_off_only and not handed_off:
            continue
        yield _conversation(conversation_id, records, answers, tz)


def _conversation(conversation_id: str, records: list[AnswerRecord], answers: AnswerLog,
                  tz: dt.tzinfo) -> Conversation:
    turns: list[dict] = []
    previous: dt.datetime | None = None
    for record in records:
        answered = record.at.astimezone(tz)
        asked = answered - dt.timedelta(milliseconds=record.latency_ms or 0.0)
        asked = max(asked, previous) if previous is not None else asked
        reply = record.answer(answers.database)
        turns.append({"role": "customer", "text": record.question, "ts": asked})
        turns.append({"role": "bot", "text": reply.text, "ts": answered})
        if record.routing == Routing.HANDOFF.value:
            turns.append({"role": "system", "text": HANDED_OFF, "ts": answered})
        previous = answered
    return Conversation.model_validate({"id": conversation_id, "agent_id": BOT_AGENT, "channel": "bot",
                                        "started_at": turns[0]["ts"], "turns": turns})
