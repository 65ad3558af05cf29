"""The QA input: conversations parsed from JSONL, and bad lines named by file, line and field."""

from __future__ import annotations

import json

import pytest

from cs_rag.errors import InputError
from cs_rag.qa import Role, parse_conversation, read_conversations

from conftest import record

GOOD = [("customer", 0, "你好"), ("agent", 10, "您好，请问有什么可以帮您")]


def _write(path, lines):
    path.write_text("".join(line if isinstance(line, str) else json.dumps(line, ensure_ascii=False) + "\n"
                            for line in lines), encoding="utf-8")
    return path


def test_a_line_becomes_a_conversation_and_extra_keys_are_ignored(tmp_path):
    path = _write(tmp_path / "c.jsonl", [record(GOOD, resolved=True, satisfaction=5,
                                                labels=[{"code": "no_greeting", "turn": 1}])])
    conversations, skipped = read_conversations(path)
    assert skipped == [] and len(conversations) == 1
    conversation = conversations[0]
    assert conversation.id == "t-001" and conversation.agent_id == "a-01"
    assert [t.role for t in conversation.turns] == [Role.CUSTOMER, Role.AGENT]
    assert conversation.satisfaction == 5 and conversation.resolved is True


@pytest.mark.parametrize("change, field", [
    (lambda r: r.pop("agent_id"), "agent_id"),
    (lambda r: r["turns"][1].update(role="supervisor"), "turns.1.role"),
    (lambda r: r["turns"][0].update(ts="yesterday"), "turns.0.ts"),
    (lambda r: r["turns"][1].update(ts="2026-11-02T10:00:00+08:00"), "turns.1.ts"),
    (lambda r: r["turns"][1].update(ts="2026-11-02T10:20:00"), "turns.1.ts"),
    (lambda r: r.update(satisfaction=6), "satisfaction"),
    (lambda r: r.update(turns=[]), "turns"),
])
def test_a_bad_field_is_named_with_file_and_line(tmp_path, change, field):
    bad = record(GOOD, cid="t-002")
    change(bad)
    path = _write(tmp_path / "c.jsonl", [record(GOOD), "\n", bad])
    with pytest.raises(InputError) as caught:
        read_conversations(path)
    assert caught.value.line == 3 and caught.value.field == field
    assert str(caught.value).startswith(f"{path}:3 (field '{field}')")


def test_turns_out_of_order_say_which_turn(tmp_path):
    bad = record([("customer", 10, "a"), ("agent", 5, "b")])
    with pytest.raises(InputError, match="earlier than the turn before"):
        parse_conversation(bad, "x.jsonl", 7)


def test_skip_bad_inspects_the_rest_and_reports_each_bad_line(tmp_path):
    path = _write(tmp_path / "c.jsonl", ["{not json\n", record(GOOD), record(GOOD), record(GOOD, cid="t-9")])
    with pytest.raises(InputError, match="malformed JSON"):
        read_conversations(path)
    conversations, skipped = read_conversations(path, skip_bad=True)
    assert [c.id for c in conversations] == ["t-001", "t-9"]
    assert [(e.line, e.field) for e in skipped] == [(1, None), (3, "id")]   # a repeated id is bad too


def test_a_file_without_conversations_is_an_error(tmp_path):
    with pytest.raises(InputError, match="no conversation"):
        read_conversations(_write(tmp_path / "c.jsonl", ["\n"]))
    with pytest.raises(InputError, match="cannot read"):
        read_conversations(tmp_path / "missing.jsonl")
