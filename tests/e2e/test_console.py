"""The operator console in a real browser: sign-in, the dashboard, the hit test, and every
value a customer or the knowledge wrote shown as text."""

from __future__ import annotations

import pytest

from browser import TABLET, screenshot, sign_in
from servers import ADMIN_KEY, CLIENT_KEY, Server

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_nothing_without_signing_in_and_sign_out_ends_the_session(page, console_server: Server) -> None:
    url = console_server.url
    page.goto(url + "/console/hittest?q=x")
    assert page.get_by_test_id("login-key").is_visible()
    assert page.get_by_test_id("nav-hittest").count() == 0
    screenshot(page, "console-sign-in")
    page.get_by_test_id("login-key").fill(CLIENT_KEY)    # a client key is not an admin key
    page.get_by_test_id("login-submit").click()
    assert page.get_by_role("alert").is_visible()
    assert page.get_by_test_id("nav-hittest").count() == 0
    page.get_by_test_id("login-key").fill(ADMIN_KEY)
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("nav-hittest").wait_for()
    assert page.url.endswith("/console/hittest?q=x")
    cookie = next(c for c in page.context.cookies() if c["name"] == "cs_rag_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["expires"] > 0
    page.get_by_test_id("logout").click()
    page.get_by_test_id("login-key").wait_for()
    page.goto(url + "/console")
    assert page.get_by_test_id("login-key").is_visible()
    # the old cookie is dead on the server too, not only deleted in this browser
    status, _, body = console_server.call("GET", "/console/hittest", headers={
        "Cookie": f"cs_rag_console={cookie['value']}"})
    assert status == 401 and b'data-testid="login-key"' in body


def test_a_console_post_needs_the_csrf_token(page, console_server: Server) -> None:
    sign_in(page, console_server.url)
    cookie = next(c for c in page.context.cookies() if c["name"] == "cs_rag_console")
    status, _, _ = console_server.call("POST", "/console/logout", b"csrf=wrong", headers={
        "Cookie": f"cs_rag_console={cookie['value']}",
        "Content-Type": "application/x-www-form-urlencoded"})
    assert status == 403
    page.reload()
    assert page.get_by_test_id("nav-dashboard").is_visible()   # still signed in


def test_dashboard_shows_the_teams_figures(page, console_server: Server) -> None:
    console_server.json("POST", "/v1/answer", {"question": "退款多久到账"})
    sign_in(page, console_server.url)
    stats = console_server.json("GET", "/v1/stats", key=ADMIN_KEY)["total"]
    assert stats["questions"] >= 1
    assert page.get_by_test_id("kpi-questions").inner_text().split()[-1] == f"{stats['questions']:,}"
    assert str(stats["resolved"]) in page.get_by_test_id("kpi-resolved").inner_text()
    assert page.get_by_test_id("kpi-satisfaction").is_visible()
    screenshot(page, "console-dashboard")
    page.set_viewport_size(TABLET)                          # usable on a tablet: nothing cut off
    assert page.evaluate("document.scrollingElement.scrollWidth") <= TABLET["width"]
    assert page.get_by_test_id("nav-learning").is_visible()
    screenshot(page, "console-dashboard-tablet")


def test_hit_test_ranks_hits_and_shows_a_script_as_text(page, console_server: Server) -> None:
    sign_in(page, console_server.url)
    page.get_by_test_id("nav-hittest").click()
    question = "<script>window.pwned = 1</script>退款多久到账"
    page.get_by_test_id("hittest-input").fill(question)
    page.get_by_test_id("hittest-input").press("Enter")
    page.get_by_test_id("hittest-hit").first.wait_for()
    hits = page.get_by_test_id("hittest-hit")
    assert hits.count() >= 2
    assert "退款多久到账" in hits.first.inner_text()          # the right entry ranks first
    assert "dense" in hits.first.inner_text() and "bm25" in hits.first.inner_text()
    assert page.get_by_test_id("hittest-input").input_value() == question
    assert page.get_by_text(question).count() >= 1           # shown as text, not run
    assert page.evaluate("window.pwned") is None
    assert "3-5个工作日" in page.get_by_test_id("hittest-reply").inner_text()
    screenshot(page, "console-hittest")
