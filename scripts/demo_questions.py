"""Answer sample questions with an ingested index (the quick-start demo): a spread of questions
from a question set, then a short conversation with a follow-up and a request for a person."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from cs_rag.answering.assistant import Assistant
from cs_rag.config import load_settings
from cs_rag.types import Answer, Customer, Turn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--index", required=True)
    parser.add_argument("--questions", required=True, type=Path)
    parser.add_argument("-n", type=int, default=6, help="how many questions (spread over the file)")
    parser.add_argument("--config", type=Path, help="settings file (the sample company's: knowledge/cs_rag.toml)")
    args = parser.parse_args()
    questions = [json.loads(line) for line in args.questions.read_text(encoding="utf-8").splitlines() if line]
    step = max(1, len(questions) // args.n)
    assistant = Assistant.open(args.index, load_settings(args.config))
    for q in questions[::step][:args.n]:
        answer = assistant.answer(q["question"])
        _show(q["question"], answer, f"gold {q['gold_ids'] or 'out of scope'}")

    print("\n--- a conversation (闪电PLUS customer) ---")
    customer = Customer(level="PLUS")
    history: list[Turn] = []
    for question in ["我想退货怎么办", "那运费呢？", "你们这服务太差了，我要转人工"]:
        answer = assistant.answer(question, history, customer)
        _show(question, answer, f"understood as: {answer.trace['rewrite']['question']}")
        history += [Turn(role="user", content=question), Turn(role="assistant", content=answer.text)]


def _show(question: str, answer: Answer, note: str) -> None:
    print(f"\n问 {question}")
    print(f"答 {answer.text[:240]}")
    sources = "; ".join(f"[{c.marker}] {c.title} ({c.source})" for c in answer.citations) or "-"
    flags = ", ".join(f.kind.value for f in answer.flags) or "-"
    print(f"   {answer.outcome.value} | confidence {answer.confidence:.2f} | routing {answer.routing.value} "
          f"| flags {flags} | {note}")
    print(f"   sources {sources}")


if __name__ == "__main__":
    main()
