"""Several knowledge bases in one service (service/tenants.py), in process through TestClient:
each answers from its own knowledge with its own settings, keeps its own state, and a key
scoped to one never reaches another's data by any route."""

from __future__ import annotations

import re
import time

import pytest
from fastapi.testclient import TestClient
from helpers import FAQ, write_jsonl

from cs_rag.config import KnowledgeBaseEntry, Settings
from cs_rag.errors import ConfigError
from cs_rag.service.app import create_tenant_app
from cs_rag.service.auth import ApiKeys

pytestmark = pytest.mark.slow   # two small indexes with the real embedding model, once

KEY_A, KEY_B, ADMIN_A, ADMIN_B, ADMIN_BOTH = "key-a-0123", "key-b-0123", "adm-a-0123", "adm-b-0123", "adm-ab-0123"
FAQ_B = [{"id": "b-warranty", "question": "手表保修多久", "similar_questions": ["表坏了能保修吗"],
          "answer": "手表整机保修两年，表带不在保修范围内。", "category": "售后"},
         {"id": "b-strap", "question": "表带可以换吗", "similar_questions": ["能换表带吗"],
          "answer": "表带可在门店更换，费用另计。", "category": "配件"}]
UNSERVED = "你们的股票代码是多少"


@pytest.fixture(scope="module")
def client(tmp_path_factory, settings):
    root = tmp_path_factory.mktemp("tenants")
    for name, faq in (("a", FAQ), ("b", FAQ_B)):
        (root / name).mkdir()
        write_jsonl(root / name / "faq.jsonl", faq)
    (root / "b.toml").write_text('[company]\nname = "表之家"\n', encoding="utf-8")
    entries = {"shop-a": KnowledgeBaseEntry(index=str(root / "index-a"), knowledge=[str(root / "a")]),
               "shop-b": KnowledgeBaseEntry(index=str(root / "index-b"), knowledge=[str(root / "b")],
                                            config=str(root / "b.toml"))}
    keys = ApiKeys([f"shop-a:{KEY_A}", f"shop-b:{KEY_B}"],
                   [f"shop-a:{ADMIN_A}", f"shop-b:{ADMIN_B}", f"shop-a+shop-b:{ADMIN_BOTH}"])
    app = create_tenant_app(settings.model_copy(update={"knowledge_bases": entries}), keys)
    with TestClient(app) as client:
        for name in entries:
            _wait_ready(client, f"/kb/{name}")
        yield client


def _wait_ready(client: TestClient, prefix: str) -> None:
    for _ in range(600):
        if client.get(f"{prefix}/healthz").json().get("ready"):
            return
        time.sleep(0.2)
    raise AssertionError(f"{prefix} did not become ready")


def _as(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_tenant_each_answers_from_its_own_knowledge_and_settings(client):
    a = client.post("/kb/shop-a/v1/answer", json={"question": "退款多久到账"}, headers=_as(KEY_A)).json()
    b = client.post("/kb/shop-b/v1/answer", json={"question": "手表保修多久"}, headers=_as(KEY_B)).json()
    assert a["citations"][0]["doc_id"] == "f-refund" and b["citations"][0]["doc_id"] == "b-warranty"
    assert "表之家" in b["text"] and "表之家" not in a["text"]
    default = client.post("/v1/search", json={"query": "退款多久到账"}, headers=_as(KEY_A)).json()
    assert default["hits"][0]["id"] == "f-refund"           # the first knowledge base at the plain paths
    assert client.post("/kb/shop-b/v1/search", json={"query": "退款多久到账"},
                       headers=_as(KEY_B)).json()["hits"][0]["id"].startswith("b-")
    assert client.get("/kb/shop-c/healthz").status_code == 404


def test_tenant_a_key_for_one_never_reaches_the_other_by_any_route(client):
    schema = client.get("/kb/shop-b/openapi.json").json()
    checked = 0
    for path, methods in schema["paths"].items():
        concrete = re.sub(r"\{[^}]+\}", "x1", path)
        for method in methods:
            for key in (KEY_A, ADMIN_A):
                response = client.request(method.upper(), f"/kb/shop-b{concrete}", headers=_as(key), json={})
                if path in ("/healthz", "/metrics"):
                    assert response.status_code == 200
                    continue
                assert response.status_code in (401, 403), (method, path, key, response.status_code)   # Dify's: 403
                checked += 1
    assert checked > 30
    refused = client.post("/kb/shop-b/console/login", data={"key": ADMIN_A})
    assert refused.status_code == 401 and "not an admin key of knowledge base shop-b" in refused.text
    assert client.post("/kb/shop-b/v1/search", json={"query": "保修"}, headers=_as(KEY_B)).status_code == 200


def test_tenant_state_is_kept_apart(client):
    refused = client.post("/kb/shop-a/v1/answer", json={"question": UNSERVED}, headers=_as(KEY_A)).json()
    assert refused["outcome"] == "refused"
    assert UNSERVED in _wordings(client, "/kb/shop-a", ADMIN_A)
    assert UNSERVED not in _wordings(client, "/kb/shop-b", ADMIN_B)
    rating = {"answer_id": refused["trace_id"], "helpful": False}
    assert client.post("/kb/shop-b/v1/feedback", json=rating, headers=_as(KEY_B)).status_code == 404
    assert client.post("/kb/shop-a/v1/feedback", json=rating, headers=_as(KEY_A)).status_code == 201
    assert client.post("/v1/feedback", json=rating, headers=_as(KEY_A)).status_code == 200   # the same one
    stats_b = client.get("/kb/shop-b/v1/stats", headers=_as(ADMIN_B)).json()
    assert UNSERVED not in str(stats_b)


def _wordings(client: TestClient, prefix: str, key: str) -> list[str]:
    groups = client.get(f"{prefix}/v1/learning", headers=_as(key)).json()["groups"]
    return [w["text"] for group in groups for w in group["wordings"]]


def test_tenant_console_signs_in_per_knowledge_base_and_switches(client):
    signed = client.post("/kb/shop-b/console/login", data={"key": ADMIN_BOTH}, follow_redirects=False)
    assert signed.status_code == 303 and signed.headers["location"] == "/kb/shop-b/console"
    page = client.get("/kb/shop-b/console/knowledge")
    assert page.status_code == 200 and "b-warranty" in page.text and "f-refund" not in page.text
    assert 'href="/kb/shop-a/console"' in page.text and 'action="/kb/shop-b/console/knowledge/upload"' in page.text
    assert client.get("/kb/shop-a/console/knowledge").status_code == 401   # signed in to shop-b only


def test_tenant_console_at_the_root_keeps_the_current_entry_at_the_root(client):
    """The first knowledge base's console is also at /console: its switcher entry links there
    (the cookie that page signed in with), the others under their prefix."""
    assert client.post("/console/login", data={"key": ADMIN_BOTH}, follow_redirects=False).status_code == 303
    page = client.get("/console/knowledge")
    assert page.status_code == 200
    assert '<a href="/console" data-testid="kb-shop-a" aria-current="true">' in page.text
    assert '<a href="/kb/shop-b/console" data-testid="kb-shop-b">' in page.text


def test_tenant_keys_scoped_to_unknown_knowledge_bases_are_refused(settings, tmp_path):
    entries = {"shop-a": KnowledgeBaseEntry(index=str(tmp_path / "index"))}
    with pytest.raises(ConfigError, match="shop-z"):
        create_tenant_app(settings.model_copy(update={"knowledge_bases": entries}), ApiKeys([f"shop-z:{KEY_A}"]))
    with pytest.raises(ConfigError, match="knowledge_bases"):
        create_tenant_app(Settings(), ApiKeys())
