"""The operator report (cs_rag.ops.report): charts embedded, metrics shown, regressions flagged."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest

from cs_rag.cli import EXIT_REGRESSION, main
from cs_rag.errors import InputError
from cs_rag.ops.insights import QuestionRecord, hot_words
from cs_rag.ops.report import (EvalRun, category_accuracy, compare, counts, headline, load_eval,
                           write_report)
from cs_rag.text import Tokenizer

from helpers import write_jsonl

PNG = b"\x89PNG\r\n\x1a\n"
IMAGE = re.compile(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


def _run(r1_hits: int, *, refused_out: int = 3, source: str = "run.json", latency: float = 10.0) -> dict:
    """10 in-scope questions (`r1_hits` right at rank 1, the rest at rank 3) in two categories,
    4 out-of-scope ones (`refused_out` refused), as `cs-rag eval --json` prints them."""
    results = []
    for i in range(10):
        rank = 1 if i < r1_hits else 3
        results.append({"id": f"q{i}", "question": f"问题{i}", "category": "售后退款" if i < 5 else "支付",
                        "gold_ids": [f"f{i}"], "hit_ids": [], "hit_docs": [], "rank": rank,
                        "decision": "answer" if rank == 1 else "clarify", "confidence": 0.9 if rank == 1 else 0.4,
                        "latency_ms": latency + i})
    for i in range(4):
        results.append({"id": f"o{i}", "question": f"无关{i}", "category": "out_of_scope", "gold_ids": [],
                        "hit_ids": [], "hit_docs": [], "rank": None,
                        "decision": "none" if i < refused_out else "answer", "confidence": 0.05,
                        "latency_ms": latency})
    refused = refused_out
    return {"questions": 14, "in_scope": 10, "out_of_scope": 4, "R@1": r1_hits / 10, "R@5": 1.0,
            "R@10": 1.0, "MRR@10": (r1_hits + (10 - r1_hits) / 3) / 10, "nDCG@10": 0.9,
            "refusal_precision": 1.0, "refusal_recall": refused / 4,
            "decision_answer": (r1_hits + 4 - refused) / 14, "decision_clarify": (10 - r1_hits) / 14,
            "decision_none": refused / 14, "latency_ms_p50": latency + 4, "latency_ms_p95": latency + 9,
            "per_category": {}, "results": results}


def _write(path: Path, data: dict) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def _images(html: str) -> list[bytes]:
    return [base64.b64decode(data) for data in IMAGE.findall(html)]


def test_html_embeds_every_chart_and_shows_the_metrics(tmp_path: Path):
    run = load_eval(_write(tmp_path / "run.json", _run(8)))
    files = write_report(run, tmp_path / "out")
    html = files.html.read_text(encoding="utf-8")
    images = _images(html)
    # recall@k, confidence, decisions, latency, categories; no flags without a log
    assert len(images) == 5 == len(files.plots)
    assert all(image.startswith(PNG) for image in images)
    assert "<td>R@1</td><td>0.800</td>" in html and "<td>refusal_recall</td><td>0.750</td>" in html
    assert "Pass --log" in html
    assert 'src="http' not in html and "<link" not in html and "<script" not in html   # offline
    markdown = files.markdown.read_text(encoding="utf-8")
    assert "| R@1 | 0.800 |" in markdown
    for path in files.plots:
        assert path.read_bytes().startswith(PNG)
        assert f"](plots/{path.name})" in markdown
    assert files.regressions == [] and files.headline is None


def test_flags_and_handoffs_come_from_the_question_log(tmp_path: Path):
    run = EvalRun.model_validate({"summary": {}, "results": _run(8)["results"]})
    log = [QuestionRecord(question="我要投诉", outcome="handoff", flags=["escalation_threat", "negative_emotion"]),
           QuestionRecord(question="转人工", outcome="handoff", flags=["human_request"]),
           QuestionRecord(question="发票", outcome="answered"),
           QuestionRecord(question="骂人", outcome="refused", flags=["negative_emotion"]),
           QuestionRecord(question="谢谢", outcome="smalltalk")]
    files = write_report(run, tmp_path / "out", log=log)
    html = files.html.read_text(encoding="utf-8")
    assert len(_images(html)) == 6
    assert (tmp_path / "out" / "plots" / "flags.png").is_file()
    assert "<td>negative_emotion</td><td>2</td><td>40.0</td>" in html       # 2 flags per 5 questions
    assert "<td>hand-off</td><td>0.0%</td><td>40.0%</td>" in html          # eval vs log
    assert "<td>small talk</td><td>0.0%</td><td>20.0%</td>" in html        # the log's own outcome


def test_names_the_knowledge_never_mentions_are_counted_with_an_example(tmp_path: Path):
    run = EvalRun.model_validate({"summary": {}, "results": _run(8)["results"]})
    log = [QuestionRecord(question="双12还有满减吗", outcome="clarify", unknown_names=["双12"]),
           QuestionRecord(question="双12<b>几号</b>开始", outcome="refused", unknown_names=["双12"]),
           QuestionRecord(question="京东<b>价保</b>怎么申请", outcome="clarify", unknown_names=["京东"]),
           QuestionRecord(question="发票", outcome="answered")]
    html = write_report(run, tmp_path / "out", log=log).html.read_text(encoding="utf-8")
    assert "Names your knowledge never mentions" in html
    assert "<td>双12</td><td>2</td><td>双12还有满减吗</td>" in html and "<td>京东</td><td>1</td>" in html
    assert "京东&lt;b&gt;价保&lt;/b&gt;怎么申请" in html and "<b>价保" not in html   # the customer's words, escaped
    quiet = write_report(run, tmp_path / "quiet", log=log[3:]).html.read_text(encoding="utf-8")
    assert "Names your knowledge never mentions" not in quiet


def test_flags_from_eval_records_when_they_carry_them(tmp_path: Path):
    data = _run(8)
    data["results"][0]["flags"] = ["pii"]
    data["results"][1]["flags"] = [{"kind": "pii"}]
    html = write_report(load_eval(_write(tmp_path / "r.json", data)), tmp_path / "out").html.read_text("utf-8")
    assert len(_images(html)) == 6 and "<td>pii</td><td>2</td>" in html


def test_a_drop_in_r1_is_flagged_as_a_regression(tmp_path: Path):
    previous = load_eval(_write(tmp_path / "before.json", _run(9, refused_out=1)))
    current = load_eval(_write(tmp_path / "after.json", _run(7, refused_out=4)))
    changes = {c.metric: c for c in compare(current, previous)}
    assert changes["R@1"].regression and changes["R@1"].delta == pytest.approx(-0.2)
    assert not changes["refusal_recall"].regression                      # it rose
    assert changes["refusals"].delta == 3 and not changes["refusals"].regression
    assert changes["R@1 [支付]"].regression and not changes["R@1 [售后退款]"].regression
    assert headline(list(changes.values())) == \
        "R@1 0.900 -> 0.700, refusals +3, REGRESSION: R@1, MRR@10, R@1 [支付]"
    files = write_report(current, tmp_path / "out", previous=previous)
    html = files.html.read_text(encoding="utf-8")
    assert files.regressions == ["R@1", "MRR@10", "R@1 [支付]"]
    assert '<tr class="regression"><td>R@1</td><td>0.900</td><td>0.700</td><td>-0.200</td><td>REGRESSION</td>' in html
    assert "tr.regression td{color:#c00" in html
    assert len(_images(html)) == 5
    markdown = files.markdown.read_text(encoding="utf-8")
    assert "| **R@1** | **0.900** | **0.700** | **-0.200** | **REGRESSION** |" in markdown


def test_changes_within_tolerance_and_improvements_are_not_regressions(tmp_path: Path):
    previous = load_eval(_write(tmp_path / "a.json", _run(8, latency=10.0)))
    better = load_eval(_write(tmp_path / "b.json", _run(9, latency=11.0)))
    assert not any(c.regression for c in compare(better, previous))
    assert not any(c.regression for c in compare(previous, better, tolerance=0.2))
    slow = load_eval(_write(tmp_path / "c.json", _run(8, latency=40.0)))
    assert {c.metric for c in compare(slow, previous) if c.regression} == {"latency_ms_p50", "latency_ms_p95"}


def test_counts_and_category_accuracy():
    run = EvalRun.model_validate({"summary": {}, "results": _run(6, refused_out=2)["results"]})
    assert counts(run) == {"answer": 8, "clarify": 4, "refuse": 2, "hand-off": 0}
    accuracy = category_accuracy(run)
    assert accuracy["售后退款"] == (5, 1.0, "R@1")
    assert accuracy["支付"] == (5, pytest.approx(0.2), "R@1")
    assert accuracy["out_of_scope"] == (4, 0.5, "refused")


def test_hot_words_appear_in_the_report(tmp_path: Path):
    log = [QuestionRecord(question=q) for q in ("以旧换新补贴", "以旧换新怎么估价", "以旧换新流程")]
    words = hot_words(log, Tokenizer.create(), top=5)
    html = write_report(EvalRun.model_validate({"summary": {}, "results": _run(8)["results"]}),
                        tmp_path / "out", log=log, hot_words=words).html.read_text("utf-8")
    assert "<td>以旧换新</td><td>3</td><td>100.0%</td>" in html


def test_load_eval_rejects_other_json_and_reads_compare_output(tmp_path: Path):
    broken = tmp_path / "x.json"
    broken.write_text("{", encoding="utf-8")
    with pytest.raises(InputError, match="not JSON"):
        load_eval(broken)
    with pytest.raises(InputError, match="'results' list"):
        load_eval(_write(tmp_path / "y.json", {"R@1": 0.5}))
    with pytest.raises(InputError, match=r"results\[0\]"):
        load_eval(_write(tmp_path / "z.json", {"results": [{"id": "q"}]}))
    compared = load_eval(_write(tmp_path / "c.json", {"config": _run(8), "compare": _run(6)}))
    assert compared.summary["R@1"] == 0.8


def test_cli_report_with_log_previous_and_fail_on_regression(tmp_path: Path, capsys):
    current = _write(tmp_path / "now.json", _run(7))
    previous = _write(tmp_path / "before.json", _run(9))
    log = write_jsonl(tmp_path / "log.jsonl", [
        {"ts": "2026-11-01", "question": "以旧换新补贴怎么领", "outcome": "refused", "flags": []},
        {"ts": "2026-11-02", "question": "以旧换新估价", "outcome": "handoff", "flags": ["human_request"]}])
    out = tmp_path / "report"
    assert main(["report", "--eval", str(current), "--out", str(out), "--log", str(log),
                 "--previous", str(previous)]) == 0
    printed = capsys.readouterr().out
    assert "6 charts" in printed and "R@1 0.900 -> 0.700" in printed and "REGRESSION" in printed
    html = (out / "report.html").read_text(encoding="utf-8")
    assert len(_images(html)) == 6 and "以旧换新" in html
    assert main(["report", "--eval", str(current), "--out", str(out), "--previous", str(previous),
                 "--fail-on-regression"]) == EXIT_REGRESSION
    assert main(["report", "--eval", str(previous), "--out", str(out), "--previous", str(current),
                 "--fail-on-regression"]) == 0
