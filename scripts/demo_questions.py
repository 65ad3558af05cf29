"""Answer a few sample questions from a question set with an ingested index (the quick-start demo)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from cs_rag import KnowledgeBase


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--index", required=True)
    parser.add_argument("--questions", required=True, type=Path)
    parser.add_argument("-n", type=int, default=6, help="how many questions (spread over the file)")
    args = parser.parse_args()
    questions = [json.loads(line) for line in args.questions.read_text(encoding="utf-8").splitlines() if line]
    step = max(1, len(questions) // args.n)
    kb = KnowledgeBase(args.index)
    for q in questions[::step][:args.n]:
        result = kb.retrieve(q["question"], k=3)
        print(f"\n问 {q['question']}")
        print(f"   decision {result.decision.value} | confidence {result.confidence:.2f} | "
              f"gold {q['gold_ids'] or 'out of scope'}")
        if result.decision.value == "none" or not result.hits:
            print("答 抱歉，知识库里没有找到这个问题的答案，已为您转接人工客服。")
            continue
        if result.decision.value == "clarify":
            print("答 您是想问以下哪个问题？ " + " / ".join(h.question or " > ".join(h.heading_path)
                                                      for h in result.options))
            continue
        top = result.hits[0]
        origin = " > ".join(top.heading_path) or top.question
        print(f"答 {top.text.strip()[:200]}")
        print(f"   source {top.source} | {origin}")


if __name__ == "__main__":
    main()
