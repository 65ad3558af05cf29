"""The report's customer view: levels, question types, trend, conversations, suggestions."""

from __future__ import annotations

import datetime as dt

from cs_rag.ops.insights import QuestionRecord
from cs_rag.ops.moods import mood_blocks

T0 = dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)


def _record(minutes: int, level: int, session: str | None = None, *, reply: str = "好的",
            kind: str = "inquiry", emotion: str | None = None, day: int = 0) -> QuestionRecord:
    return QuestionRecord(question=f"问题{minutes}", ts=T0 + dt.timedelta(days=day, minutes=minutes),
                          level=level, emotion=emotion or ("dissatisfied" if level else "none"),
                          question_type=kind, session_id=session, reply=reply)


def _texts(blocks) -> str:
    return "\n".join(str(part) for block in blocks for part in block[1:] if not isinstance(part, bytes))


def test_distribution_types_trend_turning_points_and_calming_replies():
    log = [_record(0, 0, "s1"), _record(1, 2, "s1", reply="非常抱歉，马上为您加急处理", kind="complaint"),
           _record(2, 0, "s1"),
           _record(3, 1, "s2"), _record(4, 2, "s2"), _record(5, 2, "s2", kind="fault"),
           _record(6, 0, kind="suggestion", day=1)]
    blocks = mood_blocks(log)
    text = _texts(blocks)
    assert ["1 mild (轻度不满)", "1", "14.3%"] in blocks[1][2]
    assert "complaint 投诉" in text and "suggestion 建议" in text
    assert "Emotion by day" in text
    assert "2 conversations of two questions or more; 2 escalated" in text   # 0 → 2 and 1 → 2
    assert "1 of 3 replies to an upset customer were followed by a calmer message" in text
    assert "0 → 2" in text and "2 → 0" in text              # turning points of s1
    assert ["非常抱歉，马上为您加急处理", "1"] in blocks[-3][2]   # followed by a calmer message
    assert "Suggestions for the product team" in text and "问题6" in text


def test_a_log_without_readings_says_so():
    blocks = mood_blocks([QuestionRecord(question="q")])
    assert blocks[-1] == ("p", "No question in the log carries an emotion reading.")
