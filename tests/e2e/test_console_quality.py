"""The quality page (智能质检) in a real browser: an uploaded file of agents' conversations is
inspected against the server's index, its agents and flagged conversations listed and
filtered, one conversation opened with its findings beside the turns (whatever a customer or
an agent wrote shown as text)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from browser import screenshot, sign_in
from servers import Server

pytestmark = [pytest.mark.slow, pytest.mark.browser]

START = "2026-11-02T10:15:{:02d}+08:00"


def conversation(cid: str, agent: str, turns: list[tuple[str, int, str]]) -> dict:
    return {"id": cid, "agent_id": agent, "started_at": START.format(0),
            "turns": [{"role": role, "text": text, "ts": START.format(s)} for role, s, text in turns]}


def test_an_uploaded_batch_lists_agents_and_flagged_conversations(page, console_server: Server,
                                                                   tmp_path: Path) -> None:
    batch = [conversation("q-clean", "a-01", [("customer", 0, "退款多久到账"),
                                              ("agent", 5, "您好，退款审核通过后3-5个工作日原路退回。"),
                                              ("customer", 10, "好的谢谢"), ("agent", 12, "不客气，祝您生活愉快")]),
             conversation("q-wrong", "a-02", [("customer", 0, "<img src=x onerror=alert(1)>退款几天到？"),
                                              ("agent", 50, "退款审核通过后1个工作日就到账。")])]
    upload = tmp_path / "抽检.jsonl"
    upload.write_text("\n".join(json.dumps(c, ensure_ascii=False) for c in batch) + "\n", encoding="utf-8")
    sign_in(page, console_server.url)
    page.get_by_test_id("nav-qa").click()
    page.get_by_test_id("qa-file").set_input_files(str(upload))
    page.get_by_test_id("qa-submit").click()
    page.get_by_test_id("qa-run-summary").wait_for()
    assert "抽检.jsonl" in page.get_by_test_id("qa-run-summary").inner_text()
    assert page.get_by_test_id("qa-agent").count() == 2
    flagged = page.get_by_test_id("qa-flagged")
    assert flagged.count() == 1 and "q-wrong" in flagged.first.inner_text()
    assert "wrong_info" in flagged.first.inner_text() and "slow_first_response" in flagged.first.inner_text()
    screenshot(page, "console-quality")
    page.get_by_test_id("qa-filter-code").select_option("no_closing")
    page.get_by_test_id("qa-filter-apply").click()
    assert page.get_by_test_id("qa-flagged").filter(has_text="q-wrong").count() == 1
    page.get_by_test_id("qa-filter-agent").select_option("a-01")
    page.get_by_test_id("qa-filter-apply").click()
    assert page.get_by_test_id("qa-flagged").count() == 0
    page.get_by_test_id("qa-filter-agent").select_option("")
    page.get_by_test_id("qa-filter-code").select_option("")
    page.get_by_test_id("qa-filter-apply").click()
    page.get_by_test_id("qa-flagged").first.get_by_role("link").click()
    texts = page.get_by_test_id("qa-turn-text")
    assert texts.first.inner_text() == "<img src=x onerror=alert(1)>退款几天到？"     # text, not markup
    assert page.locator("main img").count() == 0
    findings = page.get_by_test_id("qa-finding").all_inner_texts()
    assert any("wrong_info" in f and "3-5个工作日" in f for f in findings)
    screenshot(page, "console-quality-conversation")
