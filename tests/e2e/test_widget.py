"""The chat widget in a real browser on /demo: a streamed, cited answer; a clarify option
clicked; ratings; a hand-off; the conversation after a reload; phone and desktop layouts;
the language of the page. And the widget key: its origins only, its routes only."""

from __future__ import annotations

import json

import pytest

from browser import DESKTOP, PHONE, WIDGET_KEY, WIDGET_ORIGIN, screenshot
from servers import ADMIN_KEY, Server

pytestmark = pytest.mark.slow
browser_test = pytest.mark.browser


def ask(page, question: str, answers_before: int) -> None:
    """Type a question, send it, wait until its reply is complete."""
    page.get_by_test_id("chat-input").fill(question)
    page.get_by_test_id("chat-send").click()
    wait_replies(page, answers_before + 1)


def wait_replies(page, count: int) -> None:
    page.get_by_test_id("chat-answer").nth(count - 1).wait_for()
    page.wait_for_function("""() => {
        const root = document.querySelector('#cs-rag-widget').shadowRoot;
        return !root.querySelector('[data-testid=chat-send]').disabled ||
               root.querySelector('[data-testid=chat-input]').disabled; }""")


def open_demo(page, url: str, query: str = "") -> None:
    page.goto(url + "/demo" + query)
    page.get_by_test_id("chat-open").click()
    page.get_by_test_id("chat-input").wait_for()


@browser_test
def test_a_cited_answer_streams_and_survives_a_reload(page, console_server: Server) -> None:
    open_demo(page, console_server.url)
    ask(page, "退款多久到账", 0)
    reply = page.get_by_test_id("chat-answer").first
    assert "3-5个工作日" in reply.inner_text()
    citation = reply.get_by_test_id("chat-citation")
    assert citation.count() == 1 and "退款多久到账" in citation.inner_text()
    citation.locator("summary").click()                       # a citation opens
    assert "faq.jsonl" in citation.inner_text()
    assert "本次服务对您有帮助吗？" in reply.inner_text()
    screenshot(page, "widget-desktop")
    page.reload()
    assert page.get_by_test_id("chat-answer").count() == 1   # the conversation is still there
    assert "3-5个工作日" in page.get_by_test_id("chat-answer").first.inner_text()
    ask(page, "几天能到", 1)                                   # and continues the same session
    page.set_viewport_size(PHONE)
    panel = page.locator("#cs-rag-panel").bounding_box()
    assert panel is not None and panel["width"] == PHONE["width"]   # full width on a phone
    screenshot(page, "widget-phone")
    page.set_viewport_size(DESKTOP)


@browser_test
def test_a_clarify_option_is_a_button_that_answers_it(page, console_server: Server) -> None:
    open_demo(page, console_server.url)
    ask(page, "退货退款", 0)   # two topics: a choice (the reader answers "退货" from the policy)
    options = page.get_by_test_id("chat-option")
    assert options.count() >= 2
    options.filter(has_text="退款多久到账").click()
    wait_replies(page, 2)
    assert "3-5个工作日" in page.get_by_test_id("chat-answer").nth(1).inner_text()
    screenshot(page, "widget-clarify")


@browser_test
def test_a_hand_off_stops_the_bot(page, console_server: Server) -> None:
    open_demo(page, console_server.url)
    ask(page, "我要转人工客服", 0)
    assert "转接人工客服" in page.get_by_test_id("chat-answer").first.inner_text()
    assert page.get_by_test_id("chat-input").is_disabled()
    assert page.get_by_test_id("chat-send").is_disabled()


@browser_test
def test_the_widget_speaks_the_pages_language(page, console_server: Server) -> None:
    open_demo(page, console_server.url, "?lang=en")
    assert page.get_by_test_id("chat-open").inner_text() == "Chat with us"
    ask(page, "How do I upgrade to gold membership?", 0)
    assert "Did this help you?" in page.get_by_test_id("chat-answer").first.inner_text()


def test_the_widget_key_answers_its_origins_and_routes_only(console_server: Server) -> None:
    question = {"question": "退款多久到账"}

    def status(path: str, origin: str | None, body: dict = question) -> int:
        headers = {"Origin": origin} if origin else {}
        return console_server.call("POST", path, json.dumps(body).encode(), WIDGET_KEY,
                                   {"Content-Type": "application/json", **headers})[0]

    assert status("/v1/answer", WIDGET_ORIGIN) == 200
    assert status("/v1/answer", console_server.url) == 200        # the service's own /demo
    assert status("/v1/answer", "https://elsewhere.example") == 403
    assert status("/v1/answer", None) == 403
    assert status("/v1/search", WIDGET_ORIGIN, {"query": "退款"}) == 403
    status_admin, _, _ = console_server.call("GET", "/v1/learning", key=WIDGET_KEY)
    assert status_admin == 403
    assert console_server.call("GET", "/v1/learning", key=ADMIN_KEY)[0] == 200
