"""The service's own conversations in the quality inspector's input shape (docs/qa.md): what
`GET /v1/qa/export` writes, one conversation per session, so a helpdesk can add its agents'
turns after a hand-off and inspect the whole conversation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from cs_rag.learning.answers import AnswerLog, AnswerRecord
from cs_rag.qa import Conversation
from cs_rag.types import Routing

BOT_AGENT = "bot"          # the agent_id of a conversation only the bot served
HANDED_OFF = "转人工 · handed off to a person"
HELD = "转人工审核（草稿未发送）· held for a person's review, the draft not sent"
PART = 600                 # answers per exported conversation: a longer session is cut in parts


def exported_conversations(answers: AnswerLog, start: dt.datetime | None, end: dt.datetime | None,
                           tz: dt.tzinfo, *, handed_off_only: bool = False) -> Iterator[Conversation]:
    """Every conversation with an answer given in [start, end), whole (answers before or after
    the window included), oldest first: one per session, an answer outside any session one of
    its own (named by its trace id). Each answer is the customer's message (personal data
    masked, as the log keeps it) at the time it was asked (answered minus the pipeline's
    latency, else when answered), then the bot's reply when it was sent, a system turn when it
    was held for review (the draft was not sent) and one more at a hand-off. A session of more
    than PART answers comes in parts, `<session>~2` and on. `handed_off_only` keeps the
    conversations with a hand-off. Times are in `tz`."""
    keys = list(dict.fromkeys(r.session_id or r.trace_id for r in answers.between(start, end)))
    for key, records in answers.conversations(keys).items():
        if handed_off_only and not any(r.routing == Routing.HANDOFF.value for r, _ in records):
            continue
        for part in range(0, len(records), PART):
            name = key if part == 0 else f"{key}~{part // PART + 1}"
            yield _conversation(name, records[part:part + PART], tz)


def _conversation(name: str, records: list[tuple[AnswerRecord, str]], tz: dt.tzinfo) -> Conversation:
    turns: list[dict] = []
    for record, reply in records:
        answered = record.at.astimezone(tz)
        asked = answered - dt.timedelta(milliseconds=record.latency_ms or 0.0)
        if turns:
            asked = max(asked, turns[-1]["ts"])
        turns.append({"role": "customer", "text": record.question, "ts": asked})
        if record.routing == Routing.REVIEW.value:
            turns.append({"role": "system", "text": HELD, "ts": answered})
        else:
            turns.append({"role": "bot", "text": reply, "ts": answered})
        if record.routing == Routing.HANDOFF.value:
            turns.append({"role": "system", "text": HANDED_OFF, "ts": answered})
    return Conversation.model_validate({"id": name, "agent_id": BOT_AGENT, "channel": "bot",
                                        "started_at": turns[0]["ts"], "turns": turns})
