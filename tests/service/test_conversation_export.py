"""The service's own conversations in the inspector's shape (GET /v1/qa/export's contents), on
an answer log with a clock the test sets: whole sessions around the window's edges, the times
asked and answered, held drafts and hand-offs as system turns, long sessions in parts."""

from __future__ import annotations

import datetime as dt

import pytest

import cs_rag.service.conversation_export as export
from cs_rag.learning.answers import AnswerLog
from cs_rag.qa import Inspector
from cs_rag.service.conversation_export import HANDED_OFF, HELD, exported_conversations
from cs_rag.types import Answer, Outcome, Routing

TZ = dt.timezone(dt.timedelta(hours=8))
DAY = dt.datetime(2026, 11, 2, tzinfo=TZ)


@pytest.fixture
def log(state_db):
    now = {"t": 0.0}
    answers = AnswerLog(state_db, clock=lambda: now["t"])

    def say(at_hours: float, question: str, session: str | None, routing=Routing.SEND, latency=1500.0):
        now["t"] = (DAY + dt.timedelta(hours=at_hours)).timestamp()
        trace = {"timings_ms": {"total": latency}} if latency is not None else {}
        answers.remember(Answer(question=question, text=f"答：{question}", outcome=Outcome.ANSWERED, confidence=0.9,
                                routing=routing, trace_id=f"t-{question}", trace=trace), session)
    return answers, say


def _window(answers, hours: tuple[float, float], **kwargs):
    return {c.id: c for c in exported_conversations(answers, DAY + dt.timedelta(hours=hours[0]),
                                                    DAY + dt.timedelta(hours=hours[1]), TZ, **kwargs)}


def test_a_session_crossing_the_window_comes_whole_with_its_times(log):
    answers, say = log
    say(9.0, "退款多久到账", "s-1")                      # before the window
    say(11.0, "能快点吗", "s-1", latency=None)           # inside, no latency recorded
    say(11.5, "我要转人工", "s-1", routing=Routing.HANDOFF)
    say(10.5, "发票怎么开", None)                         # outside any session
    say(13.0, "运费多少", "s-2")                          # after the window only
    found = _window(answers, (10, 12))
    assert set(found) == {"s-1", "t-发票怎么开"}
    turns = found["s-1"].turns
    assert [t.role.value for t in turns] == ["customer", "bot", "customer", "bot", "customer", "bot", "system"]
    assert turns[0].text == "退款多久到账" and turns[1].text == "答：退款多久到账" and turns[-1].text == HANDED_OFF
    assert turns[1].ts - turns[0].ts == dt.timedelta(milliseconds=1500)      # asked = answered - latency
    assert turns[2].ts == turns[3].ts                                          # no latency: asked when answered
    assert turns[0].ts.utcoffset() == dt.timedelta(hours=8) and found["s-1"].agent_id == "bot"
    assert set(_window(answers, (10, 12), handed_off_only=True)) == {"s-1"}


def test_a_held_draft_is_not_shown_as_sent_and_long_sessions_come_in_parts(log, monkeypatch):
    answers, say = log
    say(10.0, "我要投诉", "s-3", routing=Routing.REVIEW)
    for n in range(4):
        say(10.1 + n / 10, f"第{n}问", "s-3")
    monkeypatch.setattr(export, "PART", 2)
    found = _window(answers, (9, 12))
    assert list(found) == ["s-3", "s-3~2", "s-3~3"]
    assert [t.text for t in found["s-3"].turns[:2]] == ["我要投诉", HELD]
    assert [len(c.turns) for c in found.values()] == [4, 4, 2]            # five answers, two a part
    # what the inspector makes of a bot-only conversation: nothing against an agent
    assert all(not i.findings for i in Inspector().inspect(list(found.values())))
