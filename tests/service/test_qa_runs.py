"""Inspection runs in the state database, on SQLite and PostgreSQL: kept whole (the
conversations in order, their findings and measures, the lines skipped), listed newest first,
deleted whole."""

from __future__ import annotations

import datetime as dt

import pytest

from cs_rag.config import Settings
from cs_rag.qa import Conversation, Inspector
from cs_rag.service.qa_runs import QaRunStore

START = dt.datetime(2026, 11, 2, 10, 15, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def _conversation(cid: str, agent: str, reply_after: int) -> Conversation:
    turns = [("customer", 0, "快递到哪了"), ("agent", reply_after, "您好，我帮您查一下物流。")]
    return Conversation.model_validate({
        "id": cid, "agent_id": agent, "started_at": START.isoformat(),
        "turns": [{"role": r, "text": t, "ts": (START + dt.timedelta(seconds=s)).isoformat()} for r, s, t in turns]})


def test_a_run_is_kept_whole_listed_newest_first_and_deleted_whole(state_db):
    clock = iter([1000.0, 2000.0])
    store = QaRunStore(state_db, clock=lambda: next(clock))
    batch = [_conversation("c-1", "a-1", 5), _conversation("c-2", "a-2", 90), _conversation("c-1", "a-3", 7)]
    inspections = Inspector(Settings()).inspect(batch)
    first = store.add("monday.jsonl", batch, inspections, False, "fp-admin", skipped=["monday.jsonl:4 (field 'id')"])
    second = store.add("tuesday.jsonl", batch[:1], inspections[:1], True, "fp-admin")
    assert [r.source for r in store.runs()] == ["tuesday.jsonl", "monday.jsonl"]
    assert first.conversations == 3 and first.findings == sum(len(i.findings) for i in inspections)
    assert not first.wrong_info_checked and second.wrong_info_checked
    assert first.created == dt.datetime.fromtimestamp(1000.0, tz=dt.UTC) and first.created_by == "fp-admin"
    kept = store.inspected(first.id)
    assert [k.conversation for k in kept] == batch and [k.inspection for k in kept] == inspections
    assert [k.inspection.measures.first_response_seconds for k in kept] == [5.0, 90.0, 7.0]
    [third] = store.inspected(first.id, 2)              # ids may repeat: a position names one
    assert third.position == 2 and third.conversation.agent_id == "a-3"
    assert first.skipped == ["monday.jsonl:4 (field 'id')"] and second.skipped == []
    assert store.run(999) is None and store.inspected(999) == []
    assert store.delete(first.id) and store.run(first.id) is None and store.inspected(first.id) == []
    assert not store.delete(first.id) and [r.id for r in store.runs()] == [second.id]
    with pytest.raises(ValueError, match="one inspection per conversation"):
        store.add("bad", batch, inspections[:1], False, "fp-admin")
