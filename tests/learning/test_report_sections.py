"""The report's learning-loop sections, and `cs-rag report --service-data` / `--index`."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from helpers import HEALTH_NOW as NOW
from helpers import HandMadeKnowledgeBase, write_knowledge

from cs_rag import KnowledgeBase
from cs_rag.cli import EXIT_ERROR, main
from cs_rag.learning.answers import AnswerLog
from cs_rag.learning.feedback import FeedbackStore
from cs_rag.learning.health import knowledge_health
from cs_rag.learning.report_sections import figure_blocks, health_blocks
from cs_rag.learning.stats import team_figures
from cs_rag.ops.report import load_eval, write_report
from cs_rag.state import SqliteState
from cs_rag.types import Answer, Citation, DocumentKind, Outcome

UTC = dt.UTC


def _answer(trace_id: str, outcome: Outcome, cited: str | None = None) -> Answer:
    citations = [Citation(marker=1, id=cited, doc_id=cited, source="faq.jsonl", kind=DocumentKind.FAQ,
                          title=cited, score=1.0)] if cited else []
    return Answer(question="问", text="答", outcome=outcome, confidence=0.5, citations=citations,
                  trace_id=trace_id, trace={"trace_id": trace_id, "timings_ms": {"total": 12.0}})


def _service_data(folder: Path, clock=None) -> tuple[SqliteState, AnswerLog, FeedbackStore]:
    """A service.db in `folder` with two answered questions (one disliked) and one refused."""
    database = SqliteState(folder / "service.db")
    answers = AnswerLog(database, clock) if clock else AnswerLog(database)
    feedback = FeedbackStore(database, answers)
    for trace_id, outcome, cited in [("a1", Outcome.ANSWERED, "f-refund"), ("a2", Outcome.ANSWERED, "f-ship"),
                                     ("r1", Outcome.REFUSED, None)]:
        answers.remember(_answer(trace_id, outcome, cited))
    feedback.record("a1", False)
    feedback.record("a2", True)
    return database, answers, feedback


def _eval_run(path: Path) -> Path:
    path.write_text(json.dumps({"R@1": 1.0, "results": [
        {"question": "退款多久到账", "gold_ids": ["f-refund"], "rank": 1, "confidence": 0.9, "decision": "answer"}]}),
        encoding="utf-8")
    return path


def test_the_sections_show_the_figures_the_trend_and_each_health_list(tmp_path):
    database, answers, feedback = _service_data(tmp_path, clock=lambda: NOW.timestamp())
    figures = team_figures(answers, feedback, since=NOW - dt.timedelta(days=3), until=NOW + dt.timedelta(hours=1),
                           tz=UTC)
    health = knowledge_health(HandMadeKnowledgeBase(), answers, feedback, days=30, now=NOW + dt.timedelta(hours=1),
                              tz=UTC)
    files = write_report(load_eval(_eval_run(tmp_path / "run.json")), tmp_path / "out",
                         sections=[figure_blocks(figures), health_blocks(health)])
    markdown = files.markdown.read_text(encoding="utf-8")
    assert "## The team's figures" in markdown and "| refused (无答案率) | 33.3% |" in markdown
    assert "| satisfaction (helpful / rated) | 50.0% |" in markdown
    assert (tmp_path / "out" / "plots" / "team_trend.png").is_file()
    assert "## Knowledge health" in markdown
    assert "Never matched: valid today, no answered answer cited them: 3." in markdown
    assert "| f-refund | 退款多久到账 | 售后退款 | 1 |" in markdown       # disliked once
    assert "Most rejected in review: none." in markdown
    assert "| f-refund | 退款多久到账 | f-refund-2 | 退款几天能到账 |" in markdown
    database.close()


def test_cli_report_with_the_service_data_folder(tmp_path, capsys):
    data = tmp_path / "my-index.service"
    data.mkdir()
    _service_data(data)[0].close()
    run = _eval_run(tmp_path / "run.json")
    assert main(["report", "--eval", str(run), "--out", str(tmp_path / "out"), "--service-data", str(data),
                 "--days", "7"]) == 0
    markdown = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "3 questions and 0 small-talk replies" in markdown and "Knowledge health" not in markdown
    assert main(["report", "--eval", str(run), "--out", str(tmp_path / "out"),
                 "--service-data", str(tmp_path)]) == EXIT_ERROR
    assert "no service.db here" in capsys.readouterr().err


@pytest.mark.slow   # builds a small index with the real embedding model
def test_cli_report_with_the_index_adds_categories_and_the_knowledge_health(tmp_path, settings, monkeypatch):
    index = tmp_path / "my-index"
    KnowledgeBase(index, settings).ingest([write_knowledge(tmp_path / "knowledge")])
    (tmp_path / "my-index.service").mkdir()
    _service_data(tmp_path / "my-index.service")[0].close()
    monkeypatch.chdir(tmp_path)   # no cs_rag.toml of the working directory is read
    assert main(["report", "--eval", str(_eval_run(tmp_path / "run.json")), "--out", str(tmp_path / "out"),
                 "--index", str(index)]) == 0
    markdown = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "| 售后退款 | 1 | 0.0% | 0.0% |" in markdown           # f-refund: answered, disliked
    assert "## Knowledge health" in markdown and "| f-old-promo |" in markdown   # expired
