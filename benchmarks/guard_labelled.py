"""Scores of the guard's emotion, level, question type and trajectory on a labelled set.

A set is a JSONL file or a folder of them in the format of training/emotion/GUIDE.md: message
lines `{"id", "text", "emotion", "level", "question_type", "offensive", "style", ...}` and
conversation lines `{"id", "turns": [...], "escalates", "turning_points"}`. Used by
benchmarks/guard.py; nothing here tunes anything.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from cs_rag.guard import Guard
from cs_rag.guard.trajectory import trajectory
from cs_rag.types import FlagKind

EMOTIONS = ("dissatisfied", "angry", "disappointed")
TYPES = ("inquiry", "howto", "fault", "complaint", "suggestion")


def prf(predicted: Iterable[bool], gold: Iterable[bool]) -> tuple[float, float, float]:
    """Precision, recall, F1 of the positive class (0 where undefined)."""
    p, g = np.fromiter(predicted, bool), np.fromiter(gold, bool)
    tp = int((p & g).sum())
    precision = tp / p.sum() if p.sum() else 0.0
    recall = tp / g.sum() if g.sum() else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def read_set(path: Path) -> tuple[list[dict], list[dict]]:
    """(messages, conversations) of a file or of every *.jsonl file of a folder, in name order;
    a bad line names its file and line."""
    files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
    if not files:
        raise SystemExit(f"{path}: no *.jsonl files")
    messages, conversations = [], []
    for file in files:
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise SystemExit(f"{file}:{number}: not JSON: {exc.msg}") from None
            (conversations if "turns" in record else messages).append(record)
    return messages, conversations


def emotion_rows(guard: Guard, messages: list[dict]) -> dict[str, list[list]]:
    """Tables: summary, per kind, per level, level confusion, per style, question type."""
    results = guard.check_messages([m["text"] for m in messages])
    gold_level = np.asarray([int(m["level"]) for m in messages])
    pred_level = np.asarray([r.emotion.level for r in results])
    gold_label = [m["emotion"] for m in messages]
    pred_label = [r.emotion.label.value for r in results]
    n = len(messages)
    level3 = gold_level == 3
    summary = [
        ["negative at any level: precision / recall / F1", n, *prf(pred_level > 0, gold_level > 0)],
        ["level exact (0-3): accuracy", n, float(np.mean(pred_level == gold_level)), "", ""],
        ["level 3 recall (flagged at level 3)", int(level3.sum()),
         float(np.mean(pred_level[level3] == 3)) if level3.any() else 0.0, "", ""],
        ["label exact (none + 3 kinds): accuracy", n,
         float(np.mean([a == b for a, b in zip(pred_label, gold_label)])), "", ""],
    ]
    per_kind = [[kind, sum(g == kind for g in gold_label),
                 *prf((p == kind for p in pred_label), (g == kind for g in gold_label))]
                for kind in EMOTIONS]
    per_level = [[level, int((gold_level == level).sum()),
                  *prf(pred_level == level, gold_level == level)] for level in range(4)]
    confusion = [[f"gold {g}", *[int(((gold_level == g) & (pred_level == p)).sum()) for p in range(4)]]
                 for g in range(4)]
    styles = Counter(m.get("style", "-") for m in messages)
    per_style = []
    for style, count in sorted(styles.items()):
        picked = [i for i, m in enumerate(messages) if m.get("style", "-") == style]
        right = [(pred_level[i] > 0) == (gold_level[i] > 0) for i in picked]
        exact = [pred_level[i] == gold_level[i] for i in picked]
        per_style.append([style, count, float(np.mean(right)), float(np.mean(exact))])
    gold_type = [m["question_type"] for m in messages]
    pred_type = [r.question_type.value if r.question_type else "-" for r in results]
    per_type = [[t, sum(g == t for g in gold_type), *prf((p == t for p in pred_type), (g == t for g in gold_type))]
                for t in TYPES]
    macro = float(np.mean([row[-1] for row in per_type]))
    summary.append(["question type macro-F1", n, macro, "", ""])
    summary.append(["question type accuracy", n,
                    float(np.mean([a == b for a, b in zip(pred_type, gold_type)])), "", ""])
    if any("offensive" in m for m in messages):
        gold_off = [bool(m.get("offensive")) for m in messages]
        pred_off = [any(f.kind is FlagKind.OFFENSIVE for f in r.flags) for r in results]
        summary.append(["offensive: precision / recall / F1", n, *prf(pred_off, gold_off)])
    return {"summary": summary, "per_kind": per_kind, "per_level": per_level,
            "confusion": confusion, "per_style": per_style, "per_type": per_type}


def conversation_rows(guard: Guard, conversations: list[dict]) -> list[list]:
    """Escalation and turning points of each conversation from the guard's levels."""
    gold_escalates, pred_escalates, rule_on_gold = [], [], []
    tp = predicted = gold_total = 0
    for conversation in conversations:
        turns = conversation["turns"]
        customer = [i for i, t in enumerate(turns) if t.get("role") == "customer"]
        results = guard.check_messages([turns[i]["text"] for i in customer])
        path = trajectory([r.emotion.level for r in results])
        gold_escalates.append(bool(conversation.get("escalates")))
        rule_on_gold.append(trajectory([int(turns[i]["level"]) for i in customer]).escalates)
        pred_escalates.append(path.escalates)
        found = {customer[i] for i in path.turning_points}
        gold = set(conversation.get("turning_points", []))
        tp += len(found & gold)
        predicted += len(found)
        gold_total += len(gold)
    precision = tp / predicted if predicted else 0.0
    recall = tp / gold_total if gold_total else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return [["escalation (hand-off): precision / recall / F1", len(conversations),
             *prf(pred_escalates, gold_escalates)],
            ["escalation rule on the gold levels (the rule alone)", len(conversations),
             *prf(rule_on_gold, gold_escalates)],
            ["turning points (exact turn): precision / recall / F1", gold_total, precision, recall, f1]]
