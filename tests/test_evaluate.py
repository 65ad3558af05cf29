"""Evaluation metrics on hand-made outcomes, question loading, and `cs-rag eval`."""

import json
import math
import subprocess
import sys

import pytest

from cs_rag.errors import InputError
from cs_rag.evaluate import QuestionOutcome, load_questions, summarise
from cs_rag.types import Decision

from conftest import FAQ, write_jsonl


def outcome(qid, gold, hits, decision=Decision.ANSWER, category="c", latency=1.0):
    gold_set = set(gold)
    docs = [h.split("#")[0] for h in hits]
    rank = next((i for i, (h, d) in enumerate(zip(hits, docs), 1) if h in gold_set or d in gold_set), None)
    return QuestionOutcome(id=qid, question=qid, category=category, gold_ids=gold, hit_ids=hits, hit_docs=docs,
                           rank=rank, decision=decision, confidence=0.5, latency_ms=latency)


def test_recall_mrr_ndcg_and_refusals():
    outcomes = [
        outcome("a", ["x"], ["x", "y"]),                        # rank 1
        outcome("b", ["x"], ["y", "z", "x"]),                   # rank 3
        outcome("c", ["x"], ["y"], decision=Decision.NONE),     # miss, refused
        outcome("d", ["doc"], ["doc#0", "doc#1", "q"]),          # chunks of a gold document
        outcome("e", [], ["y"], decision=Decision.NONE, category="out_of_scope"),
        outcome("f", [], ["y"], category="out_of_scope"),
    ]
    s = summarise(outcomes)
    assert s["in_scope"] == 4 and s["out_of_scope"] == 2
    assert s["R@1"] == 0.5 and s["R@5"] == 0.75 and s["R@10"] == 0.75
    assert s["MRR@10"] == pytest.approx((1 + 1 / 3 + 0 + 1) / 4)
    # d: two chunks of one gold doc count once, so its nDCG is 1
    assert s["nDCG@10"] == pytest.approx((1 + 1 / math.log2(4) + 0 + 1) / 4)
    assert s["refusal_precision"] == 0.5 and s["refusal_recall"] == 0.5
    assert s["decision_none"] == pytest.approx(2 / 6)
    assert s["per_category"]["out_of_scope"] == {"questions": 2, "refused": 0.5}
    assert s["per_category"]["c"]["R@1"] == 0.5


def test_bad_question_line_is_named(tmp_path):
    path = tmp_path / "questions.jsonl"
    path.write_text('{"id": "1", "question": "退款"}\n{"id": "2"}\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"questions.jsonl:2 \(field 'question'\)"):
        load_questions(path)


@pytest.mark.slow
def test_eval_command_on_a_folder_with_knowledge(tmp_path):
    write_jsonl(tmp_path / "knowledge.jsonl", FAQ)
    write_jsonl(tmp_path / "questions.jsonl", [
        {"id": "q1", "question": "退款要等几天", "gold_ids": ["f-refund"], "category": "售后退款"},
        {"id": "q2", "question": "发票去哪开", "gold_ids": ["f-invoice"], "category": "支付"},
        {"id": "q3", "question": "明天天气怎么样", "gold_ids": [], "category": "out_of_scope"},
    ])
    result = subprocess.run([sys.executable, "-m", "cs_rag.cli", "eval", str(tmp_path), "--json"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    for key in ("R@1", "R@5", "R@10", "MRR@10", "nDCG@10", "refusal_precision", "refusal_recall",
                "decision_answer", "decision_clarify", "decision_none", "latency_ms_p50", "latency_ms_p95",
                "per_category", "results"):
        assert key in report, key
    assert report["R@1"] == 1.0 and len(report["results"]) == 3
    text = subprocess.run([sys.executable, "-m", "cs_rag.cli", "eval", str(tmp_path)],
                          capture_output=True, text=True, timeout=600).stdout
    assert "MRR@10" in text and "per category" in text
