"""Each router of the service in process, through FastAPI's TestClient (no server, no socket):
what a route answers, and who may call it. tests/e2e/test_server.py runs the real uvicorn."""

from __future__ import annotations

import pytest

from helpers import service_client

pytestmark = pytest.mark.slow   # builds a small index with the real embedding model, once

CLIENT, ADMIN = "client-key-routes", "admin-key-routes"
AS_CLIENT = {"Authorization": f"Bearer {CLIENT}"}
AS_ADMIN = {"Authorization": f"Bearer {ADMIN}"}


@pytest.fixture(scope="module")
def client(tmp_path_factory, settings):
    with service_client(tmp_path_factory.mktemp("routes"), settings, [CLIENT], [ADMIN]) as client:
        yield client


# ---- answer -------------------------------------------------------------------------------

def test_answer_keeps_a_session_and_cites(client):
    first = client.post("/v1/answer", json={"question": "退款多久到账"}, headers=AS_CLIENT).json()
    assert first["outcome"] == "answered" and first["new_session"] is True
    assert first["citations"][0]["doc_id"] == "f-refund"
    again = client.post("/v1/answer", json={"question": "那发票呢", "session_id": first["session_id"]},
                        headers=AS_CLIENT).json()
    assert again["session_id"] == first["session_id"] and again["new_session"] is False


def test_a_picked_option_answers_by_its_id(client):
    picked = client.post("/v1/answer", json={"question": "发票怎么开", "option_id": "f-invoice"},
                         headers=AS_CLIENT).json()
    assert picked["outcome"] == "answered" and picked["citations"][0]["id"] == "f-invoice"
    assert picked["trace"]["chosen_option"] == "f-invoice"
    gone = client.post("/v1/answer", json={"question": "x", "option_id": "no-such-entry"}, headers=AS_CLIENT)
    assert gone.status_code == 422 and gone.json()["detail"][0]["loc"] == ["body", "option_id"]


def test_replying_with_an_options_number_picks_it(client):
    retriever = client.app.state.service.assistant.knowledge_base.retriever()
    bands = retriever.settings
    retriever.settings = bands.model_copy(update={"answer_confidence": 0.99, "clarify_confidence": 0.0})
    try:
        offered = client.post("/v1/answer", json={"question": "退款的事"}, headers=AS_CLIENT).json()
    finally:
        retriever.settings = bands
    assert offered["outcome"] == "clarify" and len(offered["options"]) >= 2
    session = offered["session_id"]
    picked = client.post("/v1/answer", json={"question": "2", "session_id": session}, headers=AS_CLIENT).json()
    assert picked["outcome"] == "answered" and picked["trace"]["chosen_option"] == offered["options"][1]["id"]
    assert picked["question"] == offered["options"][1]["title"]
    again = client.post("/v1/answer", json={"question": "2", "session_id": session}, headers=AS_CLIENT).json()
    assert "chosen_option" not in again["trace"]   # the offer was used up by the answer


def test_chat_completions_and_models_speak_openai(client):
    body = {"messages": [{"role": "user", "content": "什么时候发货"}]}
    reply = client.post("/v1/chat/completions", json=body, headers=AS_CLIENT).json()
    assert reply["object"] == "chat.completion" and "24小时" in reply["choices"][0]["message"]["content"]
    assert reply["cs_rag"]["citations"][0]["doc_id"] == "f-ship"
    assert client.get("/v1/models", headers=AS_CLIENT).json()["data"][0]["id"] == "cs-rag"


def test_client_routes_need_a_key_when_keys_are_set(client):
    response = client.post("/v1/answer", json={"question": "退款"})
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    assert client.post("/v1/answer", json={"question": "  "}, headers=AS_CLIENT).status_code == 422


# ---- search -------------------------------------------------------------------------------

def test_search_and_suggest(client):
    hits = client.post("/v1/search", json={"query": "发票在哪里申请", "k": 3}, headers=AS_CLIENT).json()["hits"]
    assert hits[0]["doc_id"] == "f-invoice" and len(hits) <= 3
    found = client.post("/v1/suggest", json={"question": "钱什么时候退回来", "k": 2}, headers=AS_CLIENT).json()
    assert found["suggestions"][0]["citation"]["doc_id"] == "f-refund"
    assert "3-5个工作日" in found["suggestions"][0]["text"]
    missing = client.post("/v1/suggest", json={"session_id": "no-such-session"}, headers=AS_CLIENT)
    assert missing.status_code == 404


# ---- reviews ------------------------------------------------------------------------------

def test_reviews_are_for_admins_only(client):
    assert client.get("/v1/reviews").status_code == 401
    assert client.get("/v1/reviews", headers=AS_CLIENT).status_code == 403
    listed = client.get("/v1/reviews", headers=AS_ADMIN).json()
    assert listed["total"] == len(listed["reviews"])
    assert client.get("/v1/reviews/999999", headers=AS_ADMIN).status_code == 404


def test_a_review_decision_that_breaks_a_rule_names_the_field(client):
    service = client.app.state.service
    answer = service.assistant.answer("退款多久到账")
    review_id = service.reviews.add(answer, None, [], None)
    response = client.post(f"/v1/reviews/{review_id}", json={"action": "edit"}, headers=AS_ADMIN)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "text"]
    rejected = client.post(f"/v1/reviews/{review_id}", json={"action": "reject", "save_as": "faq_answer"},
                           headers=AS_ADMIN)
    assert rejected.status_code == 422 and rejected.json()["detail"][0]["loc"] == ["body", "save_as"]
    decided = client.post(f"/v1/reviews/{review_id}", json={"action": "reject"}, headers=AS_ADMIN).json()
    assert decided["review"]["status"] == "rejected" and decided["job"] is None
    again = client.post(f"/v1/reviews/{review_id}", json={"action": "approve"}, headers=AS_ADMIN)
    assert again.status_code == 409


# ---- knowledge ----------------------------------------------------------------------------

def test_knowledge_lists_documents_and_refuses_unknown_types(client):
    listed = client.get("/v1/knowledge", headers=AS_ADMIN).json()
    assert {"f-refund", "退换货政策"} <= {d["id"] for d in listed["documents"]}
    assert all(not d["owned"] for d in listed["documents"])   # all from the knowledge sources
    refused = client.post("/v1/knowledge", files={"file": ("notes.exe", b"MZ", "application/octet-stream")},
                          headers=AS_ADMIN)
    assert refused.status_code == 415
    not_ours = client.delete("/v1/knowledge/f-refund", headers=AS_ADMIN)
    assert not_ours.status_code == 409
    assert client.get("/v1/jobs", headers=AS_ADMIN).json()["jobs"] == []
    assert client.get("/v1/jobs/nope", headers=AS_ADMIN).status_code == 404


# ---- figures ------------------------------------------------------------------------------

def test_stats_and_the_knowledge_health_of_the_answers_given(client):
    client.post("/v1/answer", json={"question": "退款多久到账"}, headers=AS_CLIENT)
    stats = client.get("/v1/stats", headers=AS_ADMIN).json()
    refunds = next(c for c in stats["categories"] if c["category"] == "售后退款")
    assert refunds["answered"] >= 1 and stats["total"]["questions"] >= refunds["questions"]
    health = client.get("/v1/knowledge/health", params={"days": 7}, headers=AS_ADMIN).json()
    assert health["entries"] == 6 and [e["id"] for e in health["expired"]] == ["f-old-promo"]
    assert "f-refund" not in {e["id"] for e in health["never_matched"]}
    assert "f-ship" not in {e["id"] for e in health["never_matched"]}   # asked in the chat test
    assert health["near_duplicates"] == []


# ---- operations ---------------------------------------------------------------------------

def test_health_and_metrics_need_no_key(client):
    health = client.get("/healthz").json()
    assert health["ready"] is True and health["documents"] >= 5
    metrics = client.get("/metrics").text
    assert 'cs_rag_http_requests_total{route="/v1/answer",method="POST",status="200"}' in metrics
    assert "cs_rag_ready 1" in metrics


def test_the_openapi_document_lists_every_router(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/answer", "/v1/chat/completions", "/v1/models", "/v1/search", "/v1/suggest", "/v1/reviews",
            "/v1/reviews/{review_id}", "/v1/knowledge", "/v1/knowledge/{doc_id}", "/v1/knowledge/reindex",
            "/v1/jobs", "/v1/jobs/{job_id}", "/v1/stats", "/v1/knowledge/health", "/v1/feedback",
            "/v1/learning", "/v1/learning/actions", "/v1/learning/{group_id}", "/healthz",
            "/metrics", "/retrieval", "/v1/qa", "/v1/qa/export"} == set(paths)


def test_the_warm_up_loads_the_retrievers_models_before_a_customer_asks(client):
    service = client.app.state.service
    assert service.warm.wait(60)
    retriever = service.knowledge_base.retriever()
    assert retriever.settings.evidence_reader and retriever.reader._model._value is not None
