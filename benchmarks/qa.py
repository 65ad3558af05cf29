"""Quality inspection benchmark: per-code precision, recall and F1 on labelled conversations,
and conversations per second.

    python benchmarks/qa.py                     # eval/qa/conversations.jsonl, index of knowledge/
    python benchmarks/qa.py --file eval/qa/dev.jsonl

Each line of the file is a conversation (docs/qa.md) with a "labels" list of {"code", "turn"}.
A finding matches a label when code and conversation agree (the main table: a conversation
either has a code or not); the turn-level table also asks for the same turn (a label of a
code at turn t is found when a finding of that code is at t). wrong_info is checked against an
index of the repository's knowledge/ with `index.faq_answers = true` (built with `cs-rag
ingest` into benchmarks/results/qa-index-answers unless --index names one). Throughput: the whole set inspected
without wrong_info (no index) and with it, then --repeat conversations (default 10,000: the set
repeated with new ids and shifted clocks) without wrong_info, in batches of --batch.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import time
from collections import Counter

from _common import REPO, RESULTS, print_table, read_jsonl

from cs_rag.config import load_settings
from cs_rag.knowledge_base import KnowledgeBase
from cs_rag.qa import Conversation, Inspector, parse_conversation
from cs_rag.qa.findings import FindingCode


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def score_table(records: list[dict], results, *, by_turn: bool, codes) -> tuple[list[list], list[str]]:
    """Rows of code, labels, found, precision, recall, F1; and the errors as text lines."""
    counts = {code: Counter() for code in codes}
    errors = []
    for record, result in zip(records, results):
        for code in codes:
            gold = {(code, lab["turn"] if by_turn else None) for lab in record.get("labels", [])
                    if lab["code"] == code}
            found = {(code, f.turn if by_turn else None) for f in result.findings if f.code == code}
            counts[code]["tp"] += len(gold & found)
            counts[code]["fp"] += len(found - gold)
            counts[code]["fn"] += len(gold - found)
            counts[code]["labels"] += len(gold)
            for kind, items in (("FP", found - gold), ("FN", gold - found)):
                errors += [f"{kind} {record['id']} {code} turn {turn}" for _, turn in sorted(items, key=str)]
    rows = []
    for code in codes:
        c = counts[code]
        rows.append([code, c["labels"], c["tp"] + c["fp"], *prf(c["tp"], c["fp"], c["fn"])])
    return rows, errors


def repeated(conversations: list[Conversation], n: int) -> list[Conversation]:
    """`n` conversations: the set over and over, each copy with new ids and its clocks moved."""
    out = []
    copy = 0
    while len(out) < n:
        shift = dt.timedelta(hours=copy)
        for conversation in conversations:
            if len(out) == n:
                break
            turns = [t.model_copy(update={"ts": t.ts + shift}) for t in conversation.turns]
            out.append(conversation.model_copy(update={"id": f"{conversation.id}~{copy}", "turns": turns}))
        copy += 1
    return out


def throughput(inspector: Inspector, conversations: list[Conversation], batch: int) -> tuple[float, float]:
    """(seconds, conversations per second) to inspect them in batches."""
    start = time.perf_counter()
    for i in range(0, len(conversations), batch):
        inspector.inspect(conversations[i:i + batch])
    seconds = time.perf_counter() - start
    return seconds, len(conversations) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--file", default=str(REPO / "eval" / "qa" / "conversations.jsonl"))
    parser.add_argument("--index", help="an index of knowledge/ (default: built in benchmarks/results/qa-index)")
    parser.add_argument("--repeat", type=int, default=10000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--errors", action="store_true", help="print every conversation-level error")
    args = parser.parse_args()

    # FAQ answers are match texts too: an agent's statement reads like an answer, not a question
    settings = load_settings(REPO / "knowledge" / "cs_rag.toml", environ={"CS_RAG_INDEX_FAQ_ANSWERS": "true"})
    index = args.index or str(RESULTS / "qa-index-answers")
    if not args.index:
        subprocess.run([sys.executable, "-m", "cs_rag.cli", "--config", str(REPO / "knowledge" / "cs_rag.toml"),
                        "ingest", str(REPO / "knowledge"), "--index", index], check=True,
                       env={**os.environ, "CS_RAG_INDEX_FAQ_ANSWERS": "true"},
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    records = read_jsonl(args.file)
    conversations = [parse_conversation(r, args.file, n) for n, r in enumerate(records, start=1)]
    plain = Inspector(settings)
    checked = Inspector(settings, knowledge_base=KnowledgeBase(index, settings))
    checked.inspect(conversations[:1])        # load the embedding model before timing
    plain.inspect(conversations[:1])

    results = checked.inspect(conversations)
    codes = list(FindingCode)
    out = [f"Set: {args.file} ({len(records)} conversations, "
           f"{sum(len(r.get('labels', [])) for r in records)} labels)\n"]
    rows, errors = score_table(records, results, by_turn=False, codes=codes)
    out.append(print_table("Per code, matched by conversation and code",
                           ["code", "labels", "found", "precision", "recall", "F1"], rows))
    turn_rows, _ = score_table(records, results, by_turn=True, codes=codes)
    out.append(print_table("Per code, matched by conversation, code and turn",
                           ["code", "labels", "found", "precision", "recall", "F1"], turn_rows))
    speed = []
    for name, inspector in (("whole set, without wrong_info", plain), ("whole set, with wrong_info", checked)):
        seconds, rate = throughput(inspector, conversations, args.batch)
        speed.append([name, len(conversations), f"{seconds:.2f}", f"{rate:.0f}"])
    many = repeated(conversations, args.repeat)
    seconds, rate = throughput(plain, many, args.batch)
    speed.append([f"{len(many):,} conversations, without wrong_info", len(many), f"{seconds:.2f}", f"{rate:.0f}"])
    out.append(print_table("Throughput", ["run", "conversations", "seconds", "conversations/s"], speed))
    if args.errors:
        print("\n".join(errors))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "qa.md").write_text("\n".join(out) + "\n## Errors (by conversation and code)\n\n"
                                   + "\n".join(errors) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
