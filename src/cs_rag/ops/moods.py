"""The report's view of customers: emotion levels and kinds, question types, the daily trend,
conversations' turning points and escalations, the replies after which customers calmed, and
the suggestions for the product team; from a question log (cs_rag.ops.insights)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from itertools import pairwise

from cs_rag.guard.trajectory import trajectory
from cs_rag.ops.insights import QuestionRecord
from cs_rag.types import QuestionType

LEVEL_NAMES = {0: "calm", 1: "mild (轻度不满)", 2: "clear (明显不满)", 3: "strong (强烈负面)"}
SHOWN = 15          # rows at most in the lists of turning points, replies and suggestions
_CUT = 60           # characters of a question or reply shown


def mood_blocks(log: Sequence[QuestionRecord]) -> list[tuple]:
    """Report blocks (see cs_rag.ops.render) for the records of a question log that carry the
    guard's reading; a note when none does (a log written before it was kept)."""
    read = [r for r in log if r.level is not None]
    blocks: list[tuple] = [("h2", "Customer emotion and question types")]
    if not read:
        return blocks + [("p", "No question in the log carries an emotion reading.")]
    n = len(read)
    levels = Counter(r.level for r in read)
    kinds = Counter(r.emotion.value for r in read if r.level and r.emotion is not None)
    blocks.append(("table", ["level", "questions", "share"],
                   [[f"{level} {LEVEL_NAMES[level]}", str(levels.get(level, 0)),
                     f"{levels.get(level, 0) / n:.1%}"] for level in range(4)], set()))
    if kinds:
        blocks.append(("table", ["negative emotion", "questions"],
                       [[kind, str(count)] for kind, count in kinds.most_common()], set()))
    types = Counter(r.question_type for r in read if r.question_type is not None)
    if types:
        upset = Counter(r.question_type for r in read if r.question_type is not None and r.level)
        blocks.append(("table", ["question type", "questions", "share", "of them upset"],
                       [[f"{t.value} {t.chinese}", str(types[t]), f"{types[t] / n:.1%}", str(upset.get(t, 0))]
                        for t in QuestionType if t in types], set()))
    blocks += _trend_blocks(read) + _conversation_blocks(read)
    suggestions = [r for r in read if r.question_type is QuestionType.SUGGESTION]
    if suggestions:
        blocks += [("h2", "Suggestions for the product team"),
                   ("table", ["when", "suggestion"],
                    [[r.ts.isoformat(timespec="minutes") if r.ts else "-", r.question[:_CUT]]
                     for r in suggestions[-SHOWN:]], set())]
    return blocks


def _trend_blocks(read: list[QuestionRecord]) -> list[tuple]:
    by_day: dict[str, list[QuestionRecord]] = {}
    for record in read:
        if record.ts is not None:
            by_day.setdefault(record.ts.date().isoformat(), []).append(record)
    if len(by_day) < 2:
        return []
    rows = [[day, str(len(group)), f"{sum(1 for r in group if r.level) / len(group):.1%}",
             str(sum(1 for r in group if r.level == 3))] for day, group in sorted(by_day.items())]
    return [("h2", "Emotion by day"),
            ("table", ["day", "questions", "upset (level 1+)", "strong (level 3)"], rows, set())]


def _conversation_blocks(read: list[QuestionRecord]) -> list[tuple]:
    sessions: dict[str, list[QuestionRecord]] = {}
    for record in read:
        if record.session_id:
            sessions.setdefault(record.session_id, []).append(record)
    talks = {sid: sorted(group, key=lambda r: r.ts.timestamp() if r.ts else 0.0)
             for sid, group in sessions.items() if len(group) >= 2}
    if not talks:
        return []
    escalated, turning, calmed, after_upset = 0, [], Counter(), 0
    for sid, turns in talks.items():
        path = trajectory([r.level for r in turns])
        escalated += path.escalates
        for index in path.turning_points:
            turning.append([sid[:8], str(index + 1), f"{turns[index - 1].level} → {turns[index].level}",
                            turns[index].question[:_CUT]])
        for before, after in pairwise(turns):
            if before.level:
                after_upset += 1
                if after.level < before.level and before.reply:
                    calmed[before.reply[:_CUT]] += 1
    summary = (f"{len(talks)} conversations of two questions or more; {escalated} escalated "
               "(the level rose to 2 or more, or stayed at 2 or more for three questions); "
               f"{sum(calmed.values())} of {after_upset} replies to an upset customer were "
               "followed by a calmer message.")
    blocks = [("h2", "Conversations"), ("p", summary)]
    if turning:
        blocks += [("p", "Turning points (情绪转变节点): questions where the customer turned upset or calm, or whose level changed by two or more."),
                   ("table", ["conversation", "question #", "level", "question"], turning[:SHOWN], set())]
    if calmed:
        blocks += [("p", "Replies followed by a calmer message (情绪好转), most often first:"),
                   ("table", ["reply", "times"],
                    [[reply, str(count)] for reply, count in calmed.most_common(SHOWN)], set())]
    return blocks
