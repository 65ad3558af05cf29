"""The console's sign-in, CSRF and page protection, the widget key's limits and the question
log's filters, in process on a service over an empty index (no model needed). The pages
themselves are driven in a real browser in tests/e2e/test_console*.py and test_widget.py."""

from __future__ import annotations

import time

import pytest

from cs_rag.config import ServiceSettings
from cs_rag.learning.conversations import LogFilter, Rated, find_answers
from cs_rag.learning.feedback import FeedbackReason
from cs_rag.service.console.signin import COOKIE, ConsoleSessions, safe_next
from cs_rag.types import Answer, Flag, FlagKind, Outcome

from helpers import service_client

CLIENT, ADMIN, WIDGET = "client-key-console", "admin-key-console", "widget-key-console"
SHOP = "https://shop.example"
OWN = "http://testserver"


@pytest.fixture(scope="module")
def client(tmp_path_factory, settings):
    limited = settings.model_copy(update={"service": ServiceSettings(
        widget_origins=[SHOP], widget_rate_limit_per_minute=1, widget_rate_limit_burst=3)})
    with service_client(tmp_path_factory.mktemp("console"), limited, [CLIENT], [ADMIN], knowledge=False,
                        widget_keys=[WIDGET]) as client:
        yield client


def sign_in(client, key: str = ADMIN, origin: str | None = OWN):
    headers = {"Origin": origin} if origin else {}
    return client.post("/console/login", data={"key": key, "next": "/console/settings"}, headers=headers,
                       follow_redirects=False)


def test_pages_show_the_sign_in_form_until_signed_in(client):
    client.cookies.clear()
    first = client.get("/console")
    assert first.status_code == 200 and 'data-testid="login-key"' in first.text
    assert "script-src 'self'" in first.headers["content-security-policy"]
    for path in ("/console/settings", "/console/learning", "/console/entries.json?q=x", "/console/jobs/x.json"):
        response = client.get(path)
        assert response.status_code == 401 and 'data-testid="login-key"' in response.text, path
    assert sign_in(client, CLIENT).status_code == 401                     # a client key is not enough
    assert sign_in(client, "wrong").status_code == 401
    assert sign_in(client, origin="https://evil.example").status_code == 403


def test_sign_in_sets_a_strict_expiring_cookie_and_sign_out_ends_it(client):
    client.cookies.clear()
    response = sign_in(client)
    assert response.status_code == 303 and response.headers["location"] == "/console/settings"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "max-age=" in cookie
    page = client.get("/console/settings")
    assert page.status_code == 200 and ADMIN not in page.text
    assert "未微调 · not fine-tuned" in page.text        # five FAQ entries: too few to fine-tune
    session = client.cookies.get(COOKIE)
    assert client.post("/console/logout", headers={"Origin": OWN}).status_code == 403     # no token
    assert client.post("/console/logout", data={"csrf": "forged"}).status_code == 403
    assert client.post("/console/logout", data={"csrf": "伪造的令牌"}).status_code == 403
    token = page.text.split('name="csrf-token" content="')[1].split('"')[0]
    assert client.post("/console/logout", headers={"X-CSRF-Token": token, "Origin": "https://evil.example"}
                       ).status_code == 403                                      # another site's form
    out = client.post("/console/logout", data={"csrf": token}, follow_redirects=False)
    assert out.status_code == 303
    client.cookies.set(COOKIE, session)
    assert client.get("/console/settings").status_code == 401                    # dead on the server


def test_sessions_expire_and_next_stays_on_the_console(state_db):
    now = [1000.0]
    sessions = ConsoleSessions(state_db, 60, clock=lambda: now[0])
    operator = sessions.open("key:abc")
    assert sessions.get(operator.session) == operator
    assert sessions.get("another cookie") is None
    now[0] += 61
    assert sessions.get(operator.session) is None
    assert safe_next("/console/learning?x=1") == "/console/learning?x=1"
    for outside in ("https://evil.example/console", "//evil.example/console", "/v1/stats", "/console\\..", None):
        assert safe_next(outside) == "/console"


def test_the_widget_key_asks_from_its_origins_only_within_its_own_rate_limit(client):
    body = {"question": "退款多久到账"}
    as_widget = {"Authorization": f"Bearer {WIDGET}"}
    assert client.post("/v1/answer", json=body, headers={**as_widget, "Origin": "https://evil.example"}).status_code == 403
    assert client.post("/v1/answer", json=body, headers=as_widget).status_code == 403            # no origin
    assert client.post("/v1/search", json={"query": "退款"}, headers={**as_widget, "Origin": SHOP}).status_code == 403
    assert client.get("/v1/reviews", headers=as_widget).status_code == 403
    allowed = [client.post("/v1/answer", json=body, headers={**as_widget, "Origin": origin}).status_code
               for origin in (SHOP, OWN, SHOP, SHOP)]
    assert allowed == [200, 200, 200, 429]                # a burst of 3, then limited
    assert client.post("/v1/answer", json=body, headers={"Authorization": f"Bearer {CLIENT}"}).status_code == 200
    preflight = client.options("/v1/answer", headers={"Origin": SHOP, "Access-Control-Request-Method": "POST",
                                                      "Access-Control-Request-Headers": "authorization,content-type"})
    assert preflight.status_code == 200 and preflight.headers["access-control-allow-origin"] == SHOP


def test_demo_embeds_the_widget_key_and_widget_files_are_served(client):
    demo = client.get("/demo")
    assert demo.status_code == 200 and f'data-key="{WIDGET}"' in demo.text
    assert "default-src 'none'" in demo.headers["content-security-policy"]
    assert client.get("/demo?lang=en").text.startswith("<!doctype html>\n<html lang=\"en\">")
    assert client.get("/widget.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/widget.css").headers["content-type"].startswith("text/css")


def test_the_question_log_filters_by_outcome_flag_rating_and_text(client):
    service = client.app.state.service
    answers = [("c-1", "退款多久到账", Outcome.ANSWERED, []), ("c-2", "你们是骗子吗", Outcome.REFUSED,
               [Flag(kind=FlagKind.OFFENSIVE, evidence="骗子")]), ("c-3", "退款到哪里", Outcome.CLARIFY, [])]
    for trace_id, question, outcome, flags in answers:
        service.record(Answer(question=question, text="…", outcome=outcome, confidence=0.5, flags=flags,
                              trace_id=trace_id, trace={"trace_id": trace_id}), None)
    service.feedback.record("c-1", False, FeedbackReason.WRONG)

    def ids(**where) -> list[str]:
        rows, total = find_answers(service.database, service.feedback, LogFilter(**where))
        assert total == len(rows)
        return sorted(r.trace_id for r, _ in rows if r.trace_id.startswith("c-"))

    assert ids(text="退款") == ["c-1", "c-3"]
    assert ids(outcome=Outcome.REFUSED) == ["c-2"]
    assert ids(flag=FlagKind.OFFENSIVE) == ["c-2"]
    assert ids(rated=Rated.UNHELPFUL) == ["c-1"] and ids(rated=Rated.HELPFUL) == []
    assert "c-1" not in ids(rated=Rated.UNRATED)
    rows, _ = find_answers(service.database, service.feedback, LogFilter(text="退款多久"))
    assert rows[0][1].reason is FeedbackReason.WRONG


def test_a_large_logs_dashboard_is_retaken_in_the_background(client, monkeypatch):
    from cs_rag.service.console import dashboard

    def questions() -> int:
        page = client.get("/console").text
        return int(page.split('data-testid="kpi-questions"')[1].split('class="value">')[1].split("<")[0])

    client.cookies.clear()
    sign_in(client)
    monkeypatch.setattr(dashboard, "FRESH_BELOW", 0)          # every log counts as large
    monkeypatch.setattr(dashboard, "SNAPSHOT_SECONDS", 0.0)
    dashboard._snapshots.clear()
    service = client.app.state.service
    before = questions()                                        # no snapshot yet: taken now
    service.record(Answer(question="发票怎么开", text="…", outcome=Outcome.ANSWERED, confidence=0.9,
                          trace_id="d-1", trace={"trace_id": "d-1"}), None)
    assert questions() == before                               # the last snapshot, while retaken
    snapshot = dashboard._snapshots[id(service)]
    for _ in range(200):
        if not snapshot.retaking:
            break
        time.sleep(0.05)
    assert questions() == before + 1


def test_the_settings_page_says_what_the_fine_tune_was_fitted_on():
    import numpy as np

    from cs_rag.models.tuning import TunedLayers
    from cs_rag.service.console.settings_page import fine_tune_text

    layers = TunedLayers("e5", {"encoder.layer.11.output.dense.bias": np.zeros(3, dtype=np.float32)},
                         groups=["a", "b", "c"], seconds=126.6)
    assert fine_tune_text(layers) == f"已微调 · fine-tuned on 3 FAQ entries in 127 s (weights {layers.digest})"


def test_the_entry_editor_shows_the_teams_similar_questions_never_the_models(tmp_path, settings):
    """An index whose ingest asked a chat model for wordings (index.generated_questions): the
    editor's similar questions are the team's alone, so saving an entry never writes the model's
    wordings into the team's file."""
    from fastapi.testclient import TestClient

    from cs_rag import KnowledgeBase
    from cs_rag.service import create_app
    from cs_rag.service.auth import ApiKeys

    from helpers import write_knowledge

    written = settings.model_copy(update={"index": settings.index.model_copy(
        update={"generated_questions": 1, "fine_tune": False})})
    knowledge = write_knowledge(tmp_path / "knowledge")
    KnowledgeBase(tmp_path / "index", written,
                  question_writer=lambda question, answer, n: ["退的钱啥时候回来"]).ingest([knowledge])
    app = create_app(tmp_path / "index", [knowledge], settings=written, data_dir=tmp_path / "data",
                     keys=ApiKeys([CLIENT], [ADMIN]))
    with TestClient(app) as client:
        assert client.app.state.service.warm.wait(60)
        assert client.app.state.service.knowledge_base.question_writer is None   # no chat model
        sign_in(client)
        page = client.get("/console/knowledge/entry", params={"id": "f-refund"}).text
    assert "钱什么时候退回来" in page and "退款几天能到" in page
    assert "退的钱啥时候回来" not in page
    assert "退的钱啥时候回来" in KnowledgeBase(tmp_path / "index", written).document_chunks("f-refund")[0].match_texts
