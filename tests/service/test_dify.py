"""Dify's External Knowledge API (`POST /retrieval`) in process, through TestClient: the
record shape, score_threshold, filters, and every error in Dify's body. tests/e2e/
test_server_dify.py speaks the same contract to a real server."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from cs_rag.config import Settings
from cs_rag.service import create_app
from cs_rag.service.auth import ApiKeys

pytestmark = pytest.mark.slow   # reads the session's small index (real embedding model)

KEY = "dify-client-key"
AS_DIFY = {"Authorization": f"Bearer {KEY}"}
RECORD_KEYS = {"content", "score", "title", "metadata"}


def _app(index_dir, data_dir, keys: ApiKeys, settings: Settings):
    return create_app(index_dir, [], settings=settings, data_dir=data_dir, keys=keys)


@pytest.fixture(scope="module")
def client(small_index, tmp_path_factory):
    settings = Settings.model_validate({"service": {"max_body_bytes": 4096}})
    with TestClient(_app(small_index, tmp_path_factory.mktemp("dify"), ApiKeys([KEY], ["admin"]),
                         settings)) as client:
        client.app.state.service.warm.wait(60)
        yield client


@pytest.fixture(scope="module")
def open_client(small_index, tmp_path_factory, settings):
    with TestClient(_app(small_index, tmp_path_factory.mktemp("dify-open"), ApiKeys(), settings)) as client:
        yield client


def ask(query: str = "退款多久到账", top_k: int = 3, threshold: float = 0.0, **extra) -> dict:
    return {"knowledge_id": "default", "query": query,
            "retrieval_setting": {"top_k": top_k, "score_threshold": threshold}, **extra}


def where(*conditions: tuple, logical: str = "and") -> dict:
    return {"metadata_condition": {"logical_operator": logical, "conditions": [
        {"name": n, "comparison_operator": op, "value": v} for n, op, v in conditions]}}


def test_records_have_dify_shape_and_the_answer_first(client):
    response = client.post("/retrieval", json=ask(), headers=AS_DIFY)
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == ["records"] and 1 <= len(body["records"]) <= 3
    first = body["records"][0]
    assert set(first) == RECORD_KEYS and first["content"] == "退款审核通过后3-5个工作日原路退回。"
    assert first["title"] == "退款多久到账" and first["metadata"]["id"] == "f-refund"
    assert {"id", "source", "category", "kind", "title", "heading_path", "score"} <= set(first["metadata"])
    scores = [r["score"] for r in body["records"]]
    assert all(0.0 <= s <= 1.0 for s in scores) and scores == sorted(scores, reverse=True)
    search = client.post("/v1/search", json={"query": "退款多久到账", "k": 3}, headers=AS_DIFY).json()
    assert [r["metadata"]["id"] for r in body["records"]] == [h["id"] for h in search["hits"]]
    assert first["score"] == round(search["hits"][0]["confidence"], 4)


def test_a_policy_chunk_is_titled_by_its_heading_path(client):
    records = client.post("/retrieval", json=ask("退货运费谁承担", top_k=1), headers=AS_DIFY).json()["records"]
    assert records[0]["title"] == "退换货政策 > 七天无理由退货" and "运费" in records[0]["content"]
    assert records[0]["metadata"]["kind"] == "policy"


def test_score_threshold_keeps_records_at_least_that_likely(client):
    everything = client.post("/retrieval", json=ask(top_k=5), headers=AS_DIFY).json()["records"]
    kept = client.post("/retrieval", json=ask(top_k=5, threshold=0.5), headers=AS_DIFY).json()["records"]
    assert kept == [r for r in everything if r["score"] >= 0.5] and 1 <= len(kept) < len(everything)
    weather = client.post("/retrieval", json=ask("今天上海的天气适合去爬山吗", threshold=0.5), headers=AS_DIFY)
    assert weather.status_code == 200 and weather.json() == {"records": []}


def test_conditions_filter_the_records(client):
    paying = client.post("/retrieval", json=ask(top_k=5, **where(("category", "is", "支付"))),
                         headers=AS_DIFY).json()["records"]
    assert paying and {r["metadata"]["category"] for r in paying} == {"支付"}
    fridge = client.post("/retrieval", json=ask("怎么开发票", top_k=5, **where(("products", "contains", "冰箱"))),
                         headers=AS_DIFY).json()["records"]
    assert fridge and "f-invoice" not in {r["metadata"]["id"] for r in fridge}
    back_then = ask("去年双11满减怎么算", top_k=1, **where(("valid_from", "before", "2020-11-11"),
                                                       ("valid_to", "after", "2020-11-11")))
    assert client.post("/retrieval", json=back_then, headers=AS_DIFY).json()["records"][0]["metadata"]["id"] == "f-old-promo"
    today = client.post("/retrieval", json=ask("去年双11满减怎么算", top_k=5), headers=AS_DIFY).json()["records"]
    assert "f-old-promo" not in {r["metadata"]["id"] for r in today}   # expired: never by default


@pytest.mark.parametrize("headers, code", [
    ({}, 1001), ({"Authorization": "Basic abc"}, 1001), ({"Authorization": "Bearer"}, 1001),
    ({"Authorization": "Bearer two words"}, 1001), ({"Authorization": ""}, 1001),
    ({"Authorization": "Bearer wrong-key"}, 1002)])
def test_authorization_errors_are_403_with_dify_codes(client, headers, code):
    response = client.post("/retrieval", json=ask(), headers=headers)
    assert response.status_code == 403
    assert response.json()["error_code"] == code and response.json()["error_msg"]


def test_an_admin_key_is_accepted_like_on_the_other_client_routes(client):
    assert client.post("/retrieval", json=ask(), headers={"Authorization": "Bearer admin"}).status_code == 200


def test_an_unknown_knowledge_base_is_2001(client):
    response = client.post("/retrieval", json={**ask(), "knowledge_id": "AAA-BBB-CCC"}, headers=AS_DIFY)
    assert response.status_code == 404 and response.json()["error_code"] == 2001
    assert "AAA-BBB-CCC" in response.json()["error_msg"]


@pytest.mark.parametrize("body, field", [
    ({"knowledge_id": "default", "query": "退款"}, "retrieval_setting"),
    (ask(top_k=0), "retrieval_setting.top_k"),
    (ask(threshold=1.5), "retrieval_setting.score_threshold"),
    (ask(query="   "), "query"),
    (ask(**where(("author", "is", "x"))), "metadata_condition.conditions.0.name"),
    (ask(**where(("category", "not in", ["支付"]))), "metadata_condition.conditions.0.comparison_operator"),
])
def test_a_body_the_contract_does_not_allow_is_400_naming_the_field(client, body, field):
    response = client.post("/retrieval", json=body, headers=AS_DIFY)
    assert response.status_code == 400 and set(response.json()) == {"error_code", "error_msg"}
    assert response.json()["error_code"] == 400 and response.json()["error_msg"].startswith(field + ":")


def test_malformed_json_and_a_too_large_body_are_answered_in_difys_body(client):
    broken = client.post("/retrieval", content=b'{"query": ', headers={**AS_DIFY, "Content-Type": "application/json"})
    assert broken.status_code == 400 and "JSON" in broken.json()["error_msg"]
    not_text = client.post("/retrieval", content=b"\xff\xfe{", headers={**AS_DIFY, "Content-Type": "application/json"})
    assert not_text.status_code == 400 and not_text.json()["error_code"] == 400
    big = client.post("/retrieval", json=ask(query="退" * 5000), headers=AS_DIFY)
    assert big.status_code == 413 and big.json()["error_code"] == 413


def test_open_mode_follows_the_client_routes_rule(open_client):
    assert open_client.post("/retrieval", json=ask()).status_code == 200
    malformed = open_client.post("/retrieval", json=ask(), headers={"Authorization": "Token x"})
    assert malformed.status_code == 403 and malformed.json()["error_code"] == 1001
    unknown = open_client.post("/retrieval", json=ask(), headers={"Authorization": "Bearer any"})
    assert unknown.status_code == 403 and unknown.json()["error_code"] == 1002


def test_the_route_is_in_the_openapi_schema_with_difys_error_body(client):
    operation = client.get("/openapi.json").json()["paths"]["/retrieval"]["post"]
    assert {"200", "400", "403", "404"} <= set(operation["responses"])
    assert operation["responses"]["403"]["content"]["application/json"]["schema"]["$ref"].endswith("DifyErrorBody")
