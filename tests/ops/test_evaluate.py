"""Evaluation metrics on hand-made outcomes, question loading, and `cs-rag eval`."""

import json
import math
import subprocess
import sys

import pytest

from cs_rag.errors import InputError
from cs_rag.ops.evaluate import EvalQuestion, QuestionOutcome, load_questions, summarise, unknown_gold_ids
from cs_rag.types import Decision

from helpers import FAQ, write_jsonl


def outcome(qid, gold, hits, decision=Decision.ANSWER, category="c", latency=1.0, confidence=0.5, options=()):
    gold_set = set(gold)
    docs = [h.split("#")[0] for h in hits]
    rank = next((i for i, (h, d) in enumerate(zip(hits, docs), 1) if h in gold_set or d in gold_set), None)
    return QuestionOutcome(id=qid, question=qid, category=category, gold_ids=gold, hit_ids=hits, hit_docs=docs,
                           rank=rank, decision=decision, option_docs=list(options), confidence=confidence,
                           latency_ms=latency)


def test_what_customers_get_from_the_decisions():
    outcomes = [
        outcome("right", ["x"], ["x", "y"]),                                        # answered right
        outcome("wrong", ["x"], ["y", "x"]),                                        # answered wrong
        outcome("asked", ["x"], ["y", "x"], Decision.CLARIFY, options=["y", "x"]),  # resolved by a choice
        outcome("asked-badly", ["x"], ["y"], Decision.CLARIFY, options=["y", "z"]),  # not resolved
        outcome("refused", ["x"], ["x"], Decision.NONE),                            # a lost answer
        outcome("oos-answered", [], ["y"]),                                         # wrong: out of scope
        outcome("oos-refused", [], ["y"], Decision.NONE),
        outcome("oos-asked", [], ["y"], Decision.CLARIFY, options=["y", "z"]),
    ]
    s = summarise(outcomes)
    assert s["wrong_answer_rate"] == pytest.approx(2 / 8)          # "wrong" and "oos-answered"
    assert s["resolved_rate"] == pytest.approx(2 / 5)              # "right" and "asked"
    assert s["answered_right_directly"] == pytest.approx(1 / 5)
    assert s["answer_precision"] == pytest.approx(1 / 3)
    assert s["oos_handled"] == pytest.approx(2 / 3)
    assert s["clarify_share"] == pytest.approx(3 / 8)


def test_decision_metrics_without_answers_or_out_of_scope_questions_are_undefined():
    s = summarise([outcome("a", ["x"], ["x"], Decision.NONE)])
    assert s["answer_precision"] is None and s["oos_handled"] is None
    assert s["wrong_answer_rate"] == 0.0 and s["resolved_rate"] == 0.0


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


def test_confidence_calibration_metrics():
    outcomes = [outcome("a", ["x"], ["x"], confidence=0.95),   # right, in the top tenth
                outcome("b", ["x"], ["x"], confidence=0.92),
                outcome("c", ["x"], ["y"], confidence=0.91),   # wrong
                outcome("d", [], ["y"], confidence=0.15)]      # out of scope: never right
    s = summarise(outcomes)
    assert s["first_hit_right"] == 0.5
    assert s["confidence_mean"] == pytest.approx((0.95 + 0.92 + 0.91 + 0.15) / 4)
    assert s["confidence_brier"] == pytest.approx((0.05 ** 2 + 0.08 ** 2 + 0.91 ** 2 + 0.15 ** 2) / 4)
    # top tenth: mean confidence 0.9267 against 2 of 3 right; second tenth: 0.15 against 0 of 1
    assert s["confidence_ece"] == pytest.approx((3 * abs(2.78 / 3 - 2 / 3) + 0.15) / 4)


def test_bad_question_line_is_named(tmp_path):
    path = tmp_path / "questions.jsonl"
    path.write_text('{"id": "1", "question": "退款", "gold_ids": []}\n{"id": "2", "gold_ids": []}\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"questions.jsonl:2 \(field 'question'\)"):
        load_questions(path)


@pytest.mark.parametrize("lines, message", [
    (['{"id": "1", "question": "退款"}'], r"questions.jsonl:1 \(field 'gold_ids'\)"),
    (['{"id": "1", "question": "  ", "gold_ids": []}'], r"questions.jsonl:1 \(field 'question'\).*empty"),
    (['{"id": "1", "question": "退款", "gold_ids": []}', '{"id": "1", "question": "发票", "gold_ids": []}'],
     r"questions.jsonl:2 \(field 'id'\).*already used on line 1"),
    ([], r"questions.jsonl.*no questions"),
])
def test_questions_file_errors_name_the_line(tmp_path, lines, message):
    path = tmp_path / "questions.jsonl"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    with pytest.raises(InputError, match=message):
        load_questions(path)


def test_unknown_gold_ids_are_those_naming_no_document_or_chunk_of_one():
    questions = [EvalQuestion(id="a", question="q", gold_ids=["f-refund", "退换货政策#3", "f-typo"]),
                 EvalQuestion(id="b", question="q", gold_ids=["f-typo", "其他政策#1"]),
                 EvalQuestion(id="c", question="q", gold_ids=[])]
    assert unknown_gold_ids(questions, {"f-refund", "退换货政策"}) == ["f-typo", "其他政策#1"]


def test_refusal_precision_is_undefined_when_nothing_was_refused():
    s = summarise([outcome("a", ["x"], ["x"]), outcome("b", [], ["y"])])
    assert s["refusal_precision"] is None and s["refusal_recall"] == 0.0


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
                "confidence_ece", "confidence_brier", "per_category", "results"):
        assert key in report, key
    assert report["R@1"] == 1.0 and len(report["results"]) == 3
    text = subprocess.run([sys.executable, "-m", "cs_rag.cli", "eval", str(tmp_path)],
                          capture_output=True, text=True, timeout=600).stdout
    assert "MRR@10" in text and "per category" in text


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cs_rag.cli", *args], capture_output=True, text=True,
                          timeout=900)


@pytest.mark.slow
def test_compare_refits_confidence_as_an_ingest_with_that_config_would(tmp_path):
    """The second config's refusals and decisions are those of an index ingested with it,
    not the first config's confidence applied to the second config's scores."""
    from helpers import generated_faq

    entries = generated_faq()
    write_jsonl(tmp_path / "knowledge.jsonl", entries)
    questions = [{"id": e["id"], "question": e["similar_questions"][0], "gold_ids": [e["id"]]} for e in entries[:12]]
    questions += [{"id": f"out-{i}", "question": q, "gold_ids": []}
                  for i, q in enumerate(["明天会下雨吗", "帮我写首诗", "股票怎么买"])]
    write_jsonl(tmp_path / "questions.jsonl", questions)
    rrf = tmp_path / "rrf.toml"
    rrf.write_text('[retrieval]\nfusion = "rrf"\n', encoding="utf-8")
    for index, config in (("default", []), ("rrf", ["--config", str(rrf)])):
        done = _cli(*config, "ingest", str(tmp_path / "knowledge.jsonl"), "--index", str(tmp_path / index))
        assert done.returncode == 0, done.stderr
    compared = _cli("eval", str(tmp_path), "--index", str(tmp_path / "default"), "--compare", str(rrf), "--json")
    assert compared.returncode == 0, compared.stderr
    alone = _cli("--config", str(rrf), "eval", str(tmp_path), "--index", str(tmp_path / "rrf"), "--json")
    assert alone.returncode == 0, alone.stderr
    got, expected = json.loads(compared.stdout)["compare"], json.loads(alone.stdout)
    assert [r["decision"] for r in got["results"]] == [r["decision"] for r in expected["results"]]
    assert [round(r["confidence"], 6) for r in got["results"]] == [round(r["confidence"], 6) for r in expected["results"]]


@pytest.mark.slow
def test_compare_refuses_a_config_that_changes_what_the_index_was_built_with(tmp_path):
    write_jsonl(tmp_path / "knowledge.jsonl", FAQ)
    write_jsonl(tmp_path / "questions.jsonl", [{"id": "q1", "question": "退款要等几天", "gold_ids": ["f-refund"]},
                                               {"id": "q2", "question": "退款", "gold_ids": ["f-nothing"]}])
    answers = tmp_path / "answers.toml"
    answers.write_text("[index]\nfaq_answers = true\nfine_tune = false\n[chunking]\nmax_tokens = 200\n",
                       encoding="utf-8")
    refused = _cli("eval", str(tmp_path), "--compare", str(answers))
    assert refused.returncode == 1
    assert "answers.toml" in refused.stderr and "chunking, index.faq_answers, index.fine_tune" in refused.stderr
    plain = _cli("eval", str(tmp_path))
    assert plain.returncode == 0 and "f-nothing" in plain.stderr and "name nothing in the index" in plain.stderr


@pytest.mark.slow
def test_eval_refits_confidence_for_a_config_the_index_was_not_fitted_under(tmp_path):
    from helpers import write_jsonl as write
    from helpers import generated_faq  # enough entries with similar questions to fit its own

    index = tmp_path / "index"
    (tmp_path / "kb").mkdir()
    write(tmp_path / "kb" / "knowledge.jsonl", generated_faq())
    subprocess.run([sys.executable, "-m", "cs_rag.cli", "ingest", str(tmp_path / "kb"), "--index", str(index)],
                   check=True, capture_output=True, timeout=600)
    write(tmp_path / "questions.jsonl", [
        {"id": "q1", "question": "冰箱的保修期是多久呀", "gold_ids": ["g-6-0"]},
        {"id": "q2", "question": "明天天气怎么样", "gold_ids": []}])
    config = tmp_path / "half.toml"
    config.write_text("[retrieval]\nexpected_out_of_scope = 0.5\n", encoding="utf-8")

    def run(*extra: str) -> dict:
        result = subprocess.run([sys.executable, "-m", "cs_rag.cli", *extra, "eval", str(tmp_path), "--index",
                                 str(index), "--json"], capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    own, half = run(), run("--config", str(config))
    # same ranking and decisions; the confidence of the config's own fit, not the index's
    assert [o["decision"] for o in own["results"]] == [o["decision"] for o in half["results"]]
    assert half["confidence_mean"] != own["confidence_mean"]
