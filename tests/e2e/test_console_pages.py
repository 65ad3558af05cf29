"""The console's other pages in a real browser: conversations (filters, detail), knowledge
(upload with job progress, the FAQ entry editor, filters), settings; each page saved as a
screenshot."""

from __future__ import annotations

from pathlib import Path

import pytest

from browser import screenshot, sign_in, wait_for_job
from servers import Server

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def hit_test(page, question: str):
    page.get_by_test_id("nav-hittest").click()
    page.get_by_test_id("hittest-input").fill(question)
    page.get_by_test_id("hittest-input").press("Enter")
    page.get_by_test_id("hittest-hit").first.wait_for()
    return page.get_by_test_id("hittest-hit")


def test_conversations_filter_and_show_what_happened(page, console_server: Server) -> None:
    question = "<b>请问</b>退款多久到账"
    console_server.json("POST", "/v1/answer", {"question": question})
    sign_in(page, console_server.url)
    page.get_by_test_id("nav-conversations").click()
    page.get_by_test_id("filter-text").fill("<b>请问</b>")
    page.get_by_test_id("filter-outcome").select_option("answered")
    page.get_by_test_id("filter-apply").click()
    rows = page.get_by_test_id("conversation-row")
    assert rows.count() == 1 and question in rows.first.inner_text()
    screenshot(page, "console-conversations")
    page.get_by_test_id("filter-outcome").select_option("refused")
    page.get_by_test_id("filter-apply").click()
    assert page.get_by_test_id("conversation-row").count() == 0
    page.go_back()
    page.get_by_test_id("conversation-row").first.get_by_role("link").click()
    assert page.get_by_test_id("conversation-question").inner_text() == question   # text, not markup
    detail = page.locator("main").inner_text()
    assert "f-refund" in detail and "dense" in detail and "3-5个工作日" in detail
    screenshot(page, "console-conversation")


def test_an_uploaded_file_is_found_by_the_hit_test_until_deleted(page, console_server: Server, tmp_path: Path) -> None:
    document = tmp_path / "以旧换新.md"
    document.write_text("# 以旧换新\n## 补贴标准\n旧手机参加以旧换新，最高可抵扣800元。\n", encoding="utf-8")
    sign_in(page, console_server.url)
    page.get_by_test_id("nav-knowledge").click()
    page.get_by_test_id("upload-file").set_input_files(str(document))
    page.get_by_test_id("upload-submit").click()
    wait_for_job(page)
    page.get_by_test_id("knowledge-search").fill("以旧换新")
    page.get_by_test_id("knowledge-search").press("Enter")
    assert page.get_by_test_id("knowledge-row").count() == 1
    screenshot(page, "console-knowledge")
    hits = hit_test(page, "以旧换新能抵多少钱")
    assert "800元" in hits.first.inner_text()
    page.get_by_test_id("nav-knowledge").click()             # and deleted again
    row = page.get_by_test_id("knowledge-row").filter(has_text="以旧换新")
    row.get_by_role("button", name="删除").click()
    wait_for_job(page)
    page.get_by_test_id("knowledge-row").first.wait_for()
    assert page.get_by_test_id("knowledge-row").filter(has_text="以旧换新").count() == 0
    page.get_by_test_id("reindex").click()
    wait_for_job(page)
    hits = hit_test(page, "以旧换新能抵多少钱")
    assert "800元" not in hits.first.inner_text()


def test_the_entry_editor_writes_an_faq_entry(page, console_server: Server) -> None:
    sign_in(page, console_server.url)
    page.goto(console_server.url + "/console/knowledge/entry")
    page.get_by_test_id("entry-id").fill("console-giftcard")
    page.get_by_test_id("entry-question").fill("礼品卡怎么使用")
    page.get_by_label("相似问题").fill("礼品卡在哪里用\n礼品卡怎么抵扣")
    page.get_by_test_id("entry-answer").fill("在结算页输入礼品卡卡号和密码即可抵扣。")
    page.get_by_label("分类").fill("支付")
    screenshot(page, "console-entry-editor")
    page.get_by_test_id("entry-save").click()
    wait_for_job(page)
    row = page.get_by_test_id("knowledge-row").filter(has_text="console-giftcard")
    assert "支付" in row.inner_text()
    hits = hit_test(page, "礼品卡怎么抵扣")
    assert "console-giftcard" in hits.first.inner_text()
    assert "卡号和密码" in page.get_by_test_id("hittest-reply").inner_text()


def test_settings_show_the_effective_configuration(page, console_server: Server) -> None:
    sign_in(page, console_server.url)
    page.get_by_test_id("nav-settings").click()
    text = page.locator("main").inner_text()
    assert "[retrieval]" in text and "widget_origins" in text and "https://shop.example" in text
    assert int(page.get_by_test_id("settings-index").locator("dd").nth(2).inner_text()) > 0
    assert "admin-key" not in page.content()                      # keys are never shown
    screenshot(page, "console-settings")
