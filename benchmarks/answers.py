"""answer() on eval/ questions: outcomes, refusals, citation correctness, latency.

    python benchmarks/answers.py                 # the embedded default (no LLM)
    python benchmarks/answers.py --llm-local 40  # also the local Qwen 0.5B on 40 answered questions

The knowledge in knowledge/ is ingested into benchmarks/results/answers-index (incrementally,
so a second run only re-reads it). Out-of-scope questions are those with empty gold_ids.
Citation correctness: answered in-scope questions whose citations include a gold id (an FAQ
entry id, or the file stem of a policy document).

With --llm-local, the same answered questions are written by the local generator (the
`local-llm` extra) and compared with the extractive default on: latency, flags from the guard
(ungrounded numbers, hedges, promises), citation problems, and the character-overlap F1 of the
answer body with the gold FAQ answer.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

from _common import REPO, RESULTS, percentiles_ms, print_table, read_jsonl

from cs_rag import KnowledgeBase, load_settings
from cs_rag.answering.assistant import Assistant
from cs_rag.types import Answer, FlagKind, Outcome


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--llm-local", type=int, default=0, metavar="N",
                        help="also answer N answered questions with the local Qwen generator")
    args = parser.parse_args()

    settings = load_settings()
    kb = KnowledgeBase(RESULTS / "answers-index", settings)
    kb.ingest([REPO / "knowledge"])
    questions = read_jsonl(REPO / "eval" / "questions.jsonl")
    faq_answers = {r["id"]: r["answer"] for r in read_jsonl(REPO / "knowledge" / "faq.jsonl")}
    assistant = Assistant(kb, chat_model=None)
    assistant.answer(questions[0]["question"])  # load the models before timing

    answers, seconds = [], []
    for question in questions:
        started = time.perf_counter()
        answers.append(assistant.answer(question["question"]))
        seconds.append(time.perf_counter() - started)
    _outcome_table(questions, answers, seconds)

    if args.llm_local:
        _compare_local_llm(assistant, questions, answers, faq_answers, args.llm_local)
    return 0


def _cites_gold(answer: Answer, gold: list[str]) -> bool:
    return any(c.id in gold or c.doc_id in gold for c in answer.citations)


def _outcome_table(questions: list[dict], answers: list[Answer], seconds: list[float]) -> None:
    n = len(questions)
    shares = Counter(a.outcome for a in answers)
    out_of_scope = [not q["gold_ids"] for q in questions]
    refused = [a.outcome is Outcome.REFUSED for a in answers]
    true_refusals = sum(r and o for r, o in zip(refused, out_of_scope))
    precision = true_refusals / max(sum(refused), 1)
    recall = true_refusals / max(sum(out_of_scope), 1)
    answered_in_scope = [(q, a) for q, a in zip(questions, answers)
                         if q["gold_ids"] and a.outcome is Outcome.ANSWERED]
    correct = sum(_cites_gold(a, q["gold_ids"]) for q, a in answered_in_scope)
    p50, p95 = percentiles_ms(seconds)
    routed = Counter(a.routing.value for a in answers)
    rows = [["questions", n],
            *[[f"share {o.value}", shares[o] / n] for o in Outcome],
            ["refusal precision (out-of-scope)", precision],
            ["refusal recall (out-of-scope)", recall],
            ["citation correctness (answered, in scope)", correct / max(len(answered_in_scope), 1)],
            ["answered in scope", len(answered_in_scope)],
            *[[f"routing {k}", v / n] for k, v in sorted(routed.items())],
            ["answer() p50 ms", p50], ["answer() p95 ms", p95]]
    print_table("answer() with the embedded default on eval/", ["measure", "value"], rows)


def _compare_local_llm(extractive: Assistant, questions: list[dict], answers: list[Answer],
                       faq_answers: dict[str, str], limit: int) -> None:
    from cs_rag.answering.llm.openai_compatible import ChatModel
    from cs_rag.answering.llm.local import LocalLLMServer

    chosen = [(q, a) for q, a in zip(questions, answers)
              if a.outcome is Outcome.ANSWERED and q["gold_ids"]][:limit]
    with LocalLLMServer() as server:
        llm_settings = extractive.settings.llm.model_copy(update={
            "model": server.alias, "base_url": server.base_url, "temperature": 0.0,
            "max_tokens": 160, "min_confidence": 0.0, "timeout": 120.0, "retries": 0})
        chat_model = ChatModel(llm_settings, {})
        settings = extractive.settings.model_copy(update={"llm": llm_settings})
        generative = Assistant(KnowledgeBase(extractive.knowledge_base.index_dir, settings),
                               chat_model=chat_model)
        rows_by_kind: dict[str, list] = {"extractive": [], "llm": []}
        for question, extract_answer in chosen:
            started = time.perf_counter()
            llm_answer = generative.answer(question["question"])
            llm_seconds = time.perf_counter() - started
            gold = next((faq_answers[g] for g in question["gold_ids"] if g in faq_answers), None)
            rows_by_kind["extractive"].append((extract_answer, extract_answer.trace["timings_ms"]["total"] / 1000, gold, question))
            rows_by_kind["llm"].append((llm_answer, llm_seconds, gold, question))
    rows = []
    for kind, items in rows_by_kind.items():
        p50, p95 = percentiles_ms([s for _, s, _, _ in items])
        n = len(items)

        def share(flag: FlagKind) -> float:
            return sum(any(f.kind is flag for f in a.flags) for a, _, _, _ in items) / n
        overlaps = [_char_f1(a.text, gold) for a, _, gold, _ in items if gold]
        rows.append([kind, n, p50, p95, share(FlagKind.UNGROUNDED), share(FlagKind.HEDGING),
                     share(FlagKind.RISKY_PROMISE), share(FlagKind.BAD_CITATION),
                     share(FlagKind.LLM_ERROR),
                     sum(_cites_gold(a, q["gold_ids"]) for a, _, _, q in items) / n,
                     sum(overlaps) / max(len(overlaps), 1),
                     sum(a.routing.value != "send" for a, _, _, _ in items) / n])
    print_table(f"extractive default vs local Qwen2.5-0.5B on {len(chosen)} answered eval/ questions",
                ["generator", "n", "p50 ms", "p95 ms", "ungrounded", "hedging", "risky promise",
                 "bad citation", "llm error", "cites gold", "char F1 vs gold FAQ answer", "not sent"], rows)


def _char_f1(text: str, gold: str) -> float:
    """Character-bag F1, the usual overlap measure for Chinese answers."""
    ours, theirs = Counter(text.replace(" ", "")), Counter(gold.replace(" ", ""))
    common = sum((ours & theirs).values())
    if not common:
        return 0.0
    precision, recall = common / sum(ours.values()), common / sum(theirs.values())
    return 2 * precision * recall / (precision + recall)


if __name__ == "__main__":
    raise SystemExit(main())
