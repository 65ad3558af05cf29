"""POST /v1/qa through TestClient on a service over an empty index (no model needed): admins
only, results as `cs-rag qa --json` gives them plus totals, bad bodies named by field."""

from __future__ import annotations

import pytest


from conftest import record
from helpers import service_client

CLIENT, ADMIN = "client-key-qa", "admin-key-qa"
AS_ADMIN = {"Authorization": f"Bearer {ADMIN}"}
BODY = {"conversations": [
    record([("customer", 0, "你好"), ("agent", 40, "订单号发一下")], cid="r-1"),
    record([("customer", 0, "你好"), ("agent", 5, "您好，请问有什么可以帮您"), ("customer", 10, "好的谢谢"),
            ("agent", 12, "祝您生活愉快")], cid="r-2", labels=[]),
]}


@pytest.fixture(scope="module")
def client(tmp_path_factory, settings):
    with service_client(tmp_path_factory.mktemp("qa-route"), settings, [CLIENT], [ADMIN], knowledge=False) as client:
        yield client


def test_only_admins_may_inspect(client):
    assert client.post("/v1/qa", json=BODY).status_code == 401
    assert client.post("/v1/qa", json=BODY, headers={"Authorization": f"Bearer {CLIENT}"}).status_code == 403


def test_results_and_totals(client):
    reply = client.post("/v1/qa", json=BODY, headers=AS_ADMIN)
    assert reply.status_code == 200
    body = reply.json()
    first, second = body["results"]
    assert first["id"] == "r-1" and {f["code"] for f in first["findings"]} == {
        "slow_first_response", "no_greeting", "no_closing"}
    assert second["findings"] == [] and second["scores"]["overall"] == 100
    totals = body["totals"]
    assert totals["conversations"] == 2 and totals["findings"]["no_greeting"] == 1
    assert totals["findings"]["wrong_info"] == 0 and totals["wrong_info_checked"] is True
    assert totals["scores"]["overall"] == (first["scores"]["overall"] + 100) / 2


def test_a_bad_conversation_is_named_by_its_field(client):
    bad = record([("customer", 10, "a"), ("agent", 5, "b")], cid="r-3")
    reply = client.post("/v1/qa", json={"conversations": [BODY["conversations"][0], bad]}, headers=AS_ADMIN)
    assert reply.status_code == 422
    assert reply.json()["detail"][0]["loc"] == ["body", "conversations", 1, "turns"]
    empty = client.post("/v1/qa", json={"conversations": []}, headers=AS_ADMIN)
    assert empty.status_code == 422
