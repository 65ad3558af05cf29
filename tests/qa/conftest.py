"""What the QA tests share: conversations written as (role, seconds, text) tuples, and one
Inspector (its guard loads the offensive classifier once). The inspector reads customers'
moods with the guard's lexicon alone, so these rule tests do not move when the learned message
model is retrained (tests/guard/test_understanding.py tests that model's reading)."""

from __future__ import annotations

import datetime as dt

import pytest

from cs_rag.config import Settings
from cs_rag.guard import Guard
from cs_rag.qa import Conversation, Inspector

START = dt.datetime(2026, 11, 2, 10, 15, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def record(turns, cid: str = "t-001", agent: str = "a-01", **extra) -> dict:
    """A conversation as a JSONL line holds it; turns are (role, seconds after START, text)."""
    return {"id": cid, "agent_id": agent, "channel": "chat", "started_at": START.isoformat(),
            "turns": [{"role": role, "text": text, "ts": (START + dt.timedelta(seconds=s)).isoformat()}
                      for role, s, text in turns], **extra}


def chat(turns, **kwargs) -> Conversation:
    return Conversation.model_validate(record(turns, **kwargs))


@pytest.fixture(scope="session")
def inspector() -> Inspector:
    return Inspector(Settings(), guard=Guard(message_model=None))


@pytest.fixture
def codes(inspector):
    """codes(turns) -> {code: [turns]} of what the inspector finds."""
    def run(turns, **kwargs) -> dict[str, list[int]]:
        found: dict[str, list[int]] = {}
        for finding in inspector.inspect([chat(turns, **kwargs)])[0].findings:
            found.setdefault(finding.code.value, []).append(finding.turn)
        return found
    return run
