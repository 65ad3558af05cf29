"""The console of a service with several knowledge bases, in a real browser: signing in per
knowledge base, the side bar's switcher and links staying under /kb/<name>/, a key scoped to one
knowledge base refused by the other's console, and a customer's HTML shown as text.

One `cs-rag --config service.toml serve` over two tiny shops serves every test of this module."""

from __future__ import annotations

import pytest
from browser import sign_in
from helpers import write_jsonl
from servers import CLIENT_KEY, Server, start_knowledge_bases, stop

from cs_rag.service.console.render import NAV

pytestmark = [pytest.mark.slow, pytest.mark.browser]

TEA, BIKE = "teashop", "bike-shop"          # a hyphen too: it ends up in a cookie's name
BOTH_KEY = "ops-both-0123456789"             # an admin of both shops
TEA_KEY = "ops-tea-0123456789"               # an admin of the tea shop only
SHOPS = {
    TEA: [{"id": "tea-oolong", "question": "乌龙茶怎么泡", "similar_questions": ["乌龙茶用多少度的水"],
           "answer": "乌龙茶用95度的水冲泡，第一泡十秒即可出汤。", "category": "冲泡"},
          {"id": "tea-storage", "question": "茶叶怎么保存", "similar_questions": ["茶叶放冰箱可以吗"],
           "answer": "茶叶密封避光保存，绿茶可放冷藏。", "category": "保存"}],
    BIKE: [{"id": "bike-flat", "question": "自行车爆胎了怎么办", "similar_questions": ["车胎漏气怎么处理"],
            "answer": "到店免费检查，内胎更换收费三十元。", "category": "维修"},
           {"id": "bike-fit", "question": "车架尺寸怎么选", "similar_questions": ["多高的人骑多大的车"],
            "answer": "身高170厘米左右选M号车架。", "category": "选购"}],
}
CUSTOMER_HTML = "<img src=x onerror=alert(1)>自行车爆胎了怎么办"


@pytest.fixture(scope="module")
def shops(tmp_path_factory):
    """The service over both shops; BOTH_KEY may run both consoles, TEA_KEY the tea shop's."""
    root = tmp_path_factory.mktemp("tenant-console")
    tables = []
    for name, faq in SHOPS.items():
        (root / name).mkdir()
        write_jsonl(root / name / "faq.jsonl", faq)
        tables.append(f'[knowledge_bases.{name}]\nindex = "index-{name}"\nknowledge = ["{name}"]\n')
    config = root / "service.toml"
    config.write_text("\n".join(tables), encoding="utf-8")
    server = start_knowledge_bases(root, "tenants", config, list(SHOPS), {
        "CS_RAG_API_KEYS": CLIENT_KEY,
        "CS_RAG_ADMIN_KEYS": f"{TEA}+{BIKE}:{BOTH_KEY}, {TEA}:{TEA_KEY}"})
    yield server
    stop(server)


def console(server: Server, name: str) -> str:
    return f"{server.url}/kb/{name}/console"


def shops_listed(page) -> set[str]:
    """The shops whose FAQ entries the knowledge page lists, once it has drawn its rows."""
    page.get_by_test_id("knowledge-row").first.wait_for()
    listed = " ".join(page.get_by_test_id("knowledge-row").all_inner_texts())
    return {name for name, faq in SHOPS.items() if any(entry["id"] in listed for entry in faq)}


def test_tenant_switcher_leads_to_the_other_knowledge_bases_own_sign_in_and_data(page, shops: Server) -> None:
    sign_in(page, shops.url, f"/kb/{TEA}/console", BOTH_KEY)
    assert page.url == console(shops, TEA)
    assert page.get_by_test_id(f"kb-{TEA}").get_attribute("aria-current") == "true"
    page.get_by_test_id("nav-knowledge").click()
    page.wait_for_url(console(shops, TEA) + "/knowledge")
    assert shops_listed(page) == {TEA}

    page.get_by_test_id(f"kb-{BIKE}").click()                 # one sign-in per knowledge base
    page.wait_for_url(console(shops, BIKE))
    assert page.get_by_test_id("login-key").is_visible() and page.get_by_test_id("nav-dashboard").count() == 0
    page.get_by_test_id("login-key").fill(BOTH_KEY)
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("nav-dashboard").wait_for()
    assert page.url == console(shops, BIKE)
    assert page.get_by_test_id(f"kb-{BIKE}").get_attribute("aria-current") == "true"
    links = page.eval_on_selector_all('nav.side a[data-testid^="nav-"]', "links => links.map(a => a.href)")
    assert len(links) == len(NAV) and all(link.startswith(console(shops, BIKE)) for link in links), links
    page.get_by_test_id("nav-knowledge").click()
    page.wait_for_url(console(shops, BIKE) + "/knowledge")
    assert shops_listed(page) == {BIKE}

    cookies = {c["name"]: c for c in page.context.cookies()}
    assert {f"cs_rag_console_{TEA}", f"cs_rag_console_{BIKE}"} <= set(cookies) and "cs_rag_console" not in cookies
    assert cookies[f"cs_rag_console_{BIKE}"]["httpOnly"]
    page.get_by_test_id(f"kb-{TEA}").click()                  # still signed in to the first
    page.wait_for_url(console(shops, TEA))
    assert page.get_by_test_id("nav-dashboard").is_visible() and page.get_by_test_id("login-key").count() == 0


def test_tenant_a_key_of_one_knowledge_base_is_refused_by_the_others_console(page, shops: Server) -> None:
    sign_in(page, shops.url, f"/kb/{TEA}/console", TEA_KEY)   # a good key of the tea shop
    tea_session = next(c["value"] for c in page.context.cookies() if c["name"] == f"cs_rag_console_{TEA}")
    page.goto(console(shops, BIKE) + "/knowledge")
    page.get_by_test_id("login-key").fill(TEA_KEY)
    page.get_by_test_id("login-submit").click()
    alert = page.get_by_role("alert")
    assert f"not an admin key of knowledge base {BIKE}" in alert.inner_text()
    assert page.get_by_test_id("nav-dashboard").count() == 0 and page.get_by_test_id("kb-switch").count() == 0
    shown = page.content()
    assert not any(text in shown for entry in SHOPS[BIKE] for text in (entry["id"], entry["answer"]))
    assert f"cs_rag_console_{BIKE}" not in {c["name"] for c in page.context.cookies()}
    # the tea shop's session, renamed to the bike shop's cookie, opens nothing there
    status, _, body = shops.call("GET", f"/kb/{BIKE}/console/knowledge",
                                 headers={"Cookie": f"cs_rag_console_{BIKE}={tea_session}"})
    assert status == 401 and b"bike-flat" not in body


def test_tenant_a_customers_html_is_shown_as_text_in_the_console(page, shops: Server) -> None:
    shops.json("POST", f"/kb/{BIKE}/v1/answer", {"question": CUSTOMER_HTML})
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    sign_in(page, shops.url, f"/kb/{BIKE}/console", BOTH_KEY)
    page.get_by_test_id("nav-conversations").click()
    page.wait_for_url(console(shops, BIKE) + "/conversations")
    row = page.get_by_test_id("conversation-row").filter(has_text=CUSTOMER_HTML)
    assert row.count() == 1
    assert page.locator("main img").count() == 0               # no element was made of it
    row.get_by_role("link").click()
    page.wait_for_url(lambda url: url.startswith(console(shops, BIKE) + "/conversations/"))
    assert page.get_by_test_id("conversation-question").inner_text() == CUSTOMER_HTML
    assert page.locator("main img").count() == 0 and dialogs == []
