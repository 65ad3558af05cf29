"""Dify's External Knowledge API against real servers (A with keys, B open; conftest.py):
the exact request and response shapes, each error code, every supported condition operator
and one cs_rag cannot honour."""

from __future__ import annotations

import json
import time

import pytest

from servers import ADMIN_KEY, B_BURST, CLIENT_KEY, MAX_BODY_BYTES, Server

pytestmark = pytest.mark.slow

FAQ_ANSWER = "退款审核通过后3-5个工作日原路退回。"


def retrieve(server: Server, body: dict | bytes, headers: dict[str, str] | None = None,
             key: str | None = CLIENT_KEY) -> tuple[int, dict]:
    """(status, JSON body) of a POST /retrieval exactly as Dify sends it."""
    sent = {"Content-Type": "application/json"}
    if key is not None:
        sent["Authorization"] = f"Bearer {key}"
    data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode("utf-8")
    status, response_headers, raw = server.call("POST", "/retrieval", data, headers={**sent, **(headers or {})})
    assert response_headers["content-type"] == "application/json", response_headers
    return status, json.loads(raw)


def request(query: str = "退款多久到账", top_k: int = 5, threshold: float = 0.0, *conditions: tuple,
            logical: str = "and") -> dict:
    body = {"knowledge_id": "default", "query": query,
            "retrieval_setting": {"top_k": top_k, "score_threshold": threshold}}
    if conditions:
        body["metadata_condition"] = {"logical_operator": logical, "conditions": [
            {"name": n, "comparison_operator": op, "value": v} for n, op, v in conditions]}
    return body


def ids(server: Server, query: str, *conditions: tuple, logical: str = "and") -> list[str]:
    status, body = retrieve(server, request(query, 5, 0.0, *conditions, logical=logical))
    assert status == 200, body
    return [r["metadata"]["id"] for r in body["records"]]


def test_the_response_is_difys_records_shape(server: Server):
    status, body = retrieve(server, request(top_k=2, threshold=0.0))
    assert status == 200 and list(body) == ["records"] and len(body["records"]) == 2
    for record in body["records"]:
        assert set(record) == {"content", "score", "title", "metadata"}
        assert isinstance(record["content"], str) and isinstance(record["title"], str)
        assert isinstance(record["score"], float) and 0.0 <= record["score"] <= 1.0
        assert isinstance(record["metadata"], dict)
        assert {"id", "doc_id", "source", "category", "kind", "title", "heading_path", "products",
                "valid_from", "valid_to", "score", "confidence"} == set(record["metadata"])
    first = body["records"][0]
    assert (first["content"], first["title"]) == (FAQ_ANSWER, "退款多久到账")
    assert first["metadata"]["category"] == "售后退款" and first["metadata"]["source"].endswith("faq.jsonl")
    assert first["score"] > 0.5 >= body["records"][1]["score"]   # the answer, then far less likely ones


def test_score_threshold_and_no_match(server: Server):
    status, body = retrieve(server, request("退款多久到账", 5, 0.5))
    assert status == 200 and [r["metadata"]["id"] for r in body["records"]] == ["f-refund"]
    status, body = retrieve(server, request("今天上海的天气适合去爬山吗", 5, 0.5))
    assert status == 200 and body == {"records": []}


def test_every_supported_operator(server: Server):
    assert set(ids(server, "退款多久到账", ("category", "is", "支付"))) == {"f-invoice"}
    assert set(ids(server, "退款多久到账", ("category", "in", ["支付", "物流配送"]))) == {"f-invoice", "f-ship"}
    assert ids(server, "退货运费谁出", ("kind", "is", "policy"))[0] == "退换货政策#0"
    assert all("#" not in i for i in ids(server, "退货运费谁出", ("kind", "in", ["faq"])))
    assert "f-invoice" not in ids(server, "怎么开发票", ("products", "contains", "冰箱"))
    assert ids(server, "怎么开发票", ("products", "in", ["冰箱", "笔记本"]))[0] == "f-invoice"
    assert ids(server, "双11满减规则", ("valid_on", "is", "2020-11-11"))[0] == "f-old-promo"
    assert ids(server, "双11满减规则", ("valid_on", "=", "2020-11-11"))[0] == "f-old-promo"
    assert ids(server, "双11满减规则", ("valid_from", "before", "2020-11-11"),
               ("valid_to", "after", "2020-11-11"))[0] == "f-old-promo"
    assert "f-old-promo" not in ids(server, "双11满减规则")   # expired today
    assert set(ids(server, "退款多久到账", ("category", "is", "支付"), ("category", "is", "物流配送"),
                   logical="or")) == {"f-invoice", "f-ship"}


def test_a_condition_cs_rag_cannot_honour_is_400_naming_it(server: Server):
    status, body = retrieve(server, request("怎么开发票", 5, 0.0, ("category", "start with", "支")))
    assert status == 400 and set(body) == {"error_code", "error_msg"} and body["error_code"] == 400
    assert body["error_msg"].startswith("metadata_condition.conditions.0.comparison_operator:")
    assert "'start with'" in body["error_msg"]


def test_each_error_code(server: Server):
    for headers, key in (({}, None), ({"Authorization": f"Basic {CLIENT_KEY}"}, None),
                         ({"Authorization": "Bearer"}, None)):
        status, body = retrieve(server, request(), headers, key)
        assert (status, body["error_code"]) == (403, 1001) and set(body) == {"error_code", "error_msg"}
    status, body = retrieve(server, request(), key="not-a-key")
    assert (status, body["error_code"]) == (403, 1002)
    status, body = retrieve(server, {**request(), "knowledge_id": "AAA-BBB-CCC"})
    assert (status, body["error_code"]) == (404, 2001)
    status, body = retrieve(server, {"knowledge_id": "default", "query": "退款"})
    assert (status, body["error_code"]) == (400, 400) and "retrieval_setting" in body["error_msg"]
    status, body = retrieve(server, request(query="退款" * MAX_BODY_BYTES))
    assert (status, body["error_code"]) == (413, 413)
    assert retrieve(server, request(), key=ADMIN_KEY)[0] == 200


def test_open_mode_needs_no_key_but_still_refuses_a_malformed_header(open_server: Server):
    time.sleep(B_BURST * 0.5 + 0.5)    # B's rate limit: let its bucket refill
    assert retrieve(open_server, request(), key=None)[0] == 200
    status, body = retrieve(open_server, request(), {"Authorization": "Token abc"}, key=None)
    assert (status, body["error_code"]) == (403, 1001)
    status, body = retrieve(open_server, request(), key="made-up-key")
    assert (status, body["error_code"]) == (403, 1002)


def test_the_route_is_measured_and_in_the_schema(server: Server):
    assert "/retrieval" in server.json("GET", "/openapi.json", key=None)["paths"]
    metrics = server.call("GET", "/metrics")[2].decode()
    assert 'cs_rag_http_requests_total{route="/retrieval",method="POST",status="200"}' in metrics
    assert 'cs_rag_http_requests_total{route="/retrieval",method="POST",status="403"}' in metrics
