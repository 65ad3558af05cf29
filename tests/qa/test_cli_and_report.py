"""cs-rag qa: one JSON line per conversation, bad input named, --skip-bad, and the report
(every text customers and agents wrote is escaped in the HTML)."""

from __future__ import annotations

import json

from cs_rag.cli import EXIT_ERROR, main
from cs_rag.config import QaSettings

from conftest import record

HELLO = "您好，我是客服小李"
ROWS = [
    record([("customer", 0, "退款多久到账"), ("agent", 10, HELLO + "，1-3个工作日"), ("customer", 20, "好的谢谢"),
            ("agent", 25, "不客气，祝您生活愉快")], cid="c-1", agent="a-1", satisfaction=5),
    record([("customer", 0, "<script>alert(1)</script> 气死我了！！"), ("agent", 50, "你自己看 <b>说明</b>")],
           cid="c-2", agent="a-2", satisfaction=1),
]


def _file(tmp_path, rows, extra: str = ""):
    path = tmp_path / "chats.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows) + extra, encoding="utf-8")
    return path


def test_json_lines_carry_findings_and_scores(tmp_path, capsys):
    assert main(["qa", str(_file(tmp_path, ROWS)), "--json"]) == 0
    out, err = capsys.readouterr()
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["id"] for line in lines] == ["c-1", "c-2"]
    assert set(lines[0]) == {"id", "agent_id", "findings", "scores"} and lines[0]["findings"] == []
    assert lines[0]["scores"]["overall"] == 100
    second = {(f["code"], f["turn"]) for f in lines[1]["findings"]}
    assert second == {("slow_first_response", 1), ("no_greeting", 1), ("impolite", 1), ("no_empathy", 0),
                      ("no_closing", 1), ("unresolved", 0)}
    assert set(lines[1]["findings"][0]) == {"code", "turn", "evidence"}
    assert "wrong_info not checked" in err


def test_plain_output_is_one_line_each(tmp_path, capsys):
    assert main(["qa", str(_file(tmp_path, ROWS))]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[0].startswith("c-1\ta-1\toverall 100")


def test_a_bad_line_names_file_line_and_field_and_skip_bad_goes_on(tmp_path, capsys):
    bad = record([("customer", 0, "x")], cid="c-3")
    bad["turns"][0]["role"] = "boss"
    path = _file(tmp_path, [ROWS[0], bad])
    assert main(["qa", str(path), "--json"]) == EXIT_ERROR
    assert f"{path}:2 (field 'turns.0.role')" in capsys.readouterr().err
    assert main(["qa", str(path), "--json", "--skip-bad"]) == 0
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 1 and f"skipped: {path}:2" in err


def test_the_report_escapes_what_people_wrote(tmp_path, capsys):
    out_dir = tmp_path / "report"
    assert main(["qa", str(_file(tmp_path, ROWS)), "--out", str(out_dir)]) == 0
    html = (out_dir / "report.html").read_text(encoding="utf-8")
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>说明</b>" not in html and "&lt;b&gt;说明&lt;/b&gt;" in html
    for heading in ("Agents against the standards", "Team ranking", "Findings by code", "Findings by agent",
                    "Customer emotion", "Conversations most worth coaching"):
        assert heading in html
    assert "wrong_info was NOT checked" in html
    markdown = (out_dir / "report.md").read_text(encoding="utf-8")
    assert "| a-2 |" in markdown and (out_dir / "plots" / "ranking.png").is_file()


def test_agents_are_held_to_the_standards():
    from cs_rag.config import Settings
    from cs_rag.qa import Inspector, parse_conversation
    from cs_rag.qa.report import summarise

    results = Inspector(Settings()).inspect([parse_conversation(r, "x") for r in ROWS])
    by_agent = {s.agent_id: s for s in summarise(results, QaSettings())}
    good, slow = by_agent["a-1"], by_agent["a-2"]
    assert good.below(QaSettings()) == [] and good.satisfaction == 1.0 and good.first_response_seconds == 10
    assert slow.below(QaSettings()) == ["first response", "resolution", "satisfaction"]
    assert [s.agent_id for s in summarise(results, QaSettings())] == ["a-1", "a-2"]   # the ranking
