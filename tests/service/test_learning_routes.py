"""POST /v1/feedback and the learning queue's routes, in process through TestClient."""

from __future__ import annotations

import json
import time

import pytest

from helpers import service_client

pytestmark = pytest.mark.slow   # a small index with the real embedding model, and ingest jobs

CLIENT, FLOOD, ADMIN = "client-key-learning", "flood-key-learning", "admin-key-learning"
AS_CLIENT, AS_FLOOD = {"Authorization": f"Bearer {CLIENT}"}, {"Authorization": f"Bearer {FLOOD}"}
AS_ADMIN = {"Authorization": f"Bearer {ADMIN}"}
UNSERVED = ["你们的货从哪个仓库发出", "你们的货是从哪个仓库发的"]


@pytest.fixture(scope="module")
def client(tmp_path_factory, settings):
    with service_client(tmp_path_factory.mktemp("learning-routes"), settings, [CLIENT, FLOOD], [ADMIN]) as client:
        yield client


def _ask(client, question: str) -> dict:
    return client.post("/v1/answer", json={"question": question}, headers=AS_CLIENT).json()


def _wait(client, job_id: str) -> dict:
    for _ in range(600):
        job = client.get(f"/v1/jobs/{job_id}", headers=AS_ADMIN).json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish")


def test_feedback_is_stored_replaced_and_a_sent_dislike_is_reviewed(client):
    answer = _ask(client, "退款多久到账")
    assert answer["routing"] == "send"
    liked = client.post("/v1/feedback", json={"answer_id": answer["trace_id"], "helpful": True}, headers=AS_CLIENT)
    assert liked.status_code == 201 and liked.json()["feedback"]["helpful"] is True
    assert liked.json()["review_id"] is None
    body = {"answer_id": answer["trace_id"], "helpful": False, "reason": "outdated",
            "comment": "我的手机13812345678收不到退款"}
    disliked = client.post("/v1/feedback", json=body, headers=AS_CLIENT)
    assert disliked.status_code == 200                                    # a later rating replaces
    stored = disliked.json()
    assert stored["feedback"]["reason"] == "outdated" and "13812345678" not in stored["feedback"]["comment"]
    review = client.get(f"/v1/reviews/{stored['review_id']}", headers=AS_ADMIN).json()
    assert review["answer"]["trace_id"] == answer["trace_id"] and review["status"] == "pending"
    again = client.post("/v1/feedback", json=body, headers=AS_CLIENT).json()
    assert again["review_id"] is None                                     # queued once


@pytest.mark.parametrize("body, status, field", [
    ({"answer_id": "no-such-answer", "helpful": False}, 404, None),
    ({"answer_id": "x", "helpful": False, "reason": "boring"}, 422, "reason"),
    ({"answer_id": "x"}, 422, "helpful"),
    ({"answer_id": "x", "helpful": False, "comment": "长" * 1001}, 422, "comment"),
])
def test_bad_feedback_names_the_field(client, body, status, field):
    response = client.post("/v1/feedback", json=body, headers=AS_CLIENT)
    assert response.status_code == status
    if field:
        assert response.json()["detail"][0]["loc"] == ["body", field]


def test_a_reason_only_goes_with_a_dislike(client):
    answer = _ask(client, "怎么开发票")
    response = client.post("/v1/feedback", json={"answer_id": answer["trace_id"], "helpful": True,
                                                 "reason": "wrong"}, headers=AS_CLIENT)
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "reason"]


def test_a_linked_wording_is_answered_from_the_entry_after_the_job(client):
    for question in UNSERVED:
        assert _ask(client, question)["outcome"] != "answered"
    assert client.get("/v1/learning", headers=AS_CLIENT).status_code == 403
    groups = client.get("/v1/learning", headers=AS_ADMIN).json()["groups"]
    group = next(g for g in groups if UNSERVED[0] in [w["text"] for w in g["wordings"]])
    assert group["count"] >= 2 and set(group) == {"id", "count", "wordings", "sources", "candidates", "suggested"}
    assert {"id", "question", "score"} <= set(group["candidates"][0])
    url = f"/v1/learning/{group['id']}"
    assert client.post(url, json={"action": "link", "entry_id": "f-nothing"}, headers=AS_ADMIN).status_code == 404
    assert client.post("/v1/learning/g-000000000000", json={"action": "ignore", "reason": "x"},
                       headers=AS_ADMIN).status_code == 404
    missing = client.post(url, json={"action": "create", "question": "q"}, headers=AS_ADMIN)
    assert missing.status_code == 422 and missing.json()["detail"][0]["loc"][-1] == "answer"
    linked = client.post(url, json={"action": "link", "entry_id": "f-ship"}, headers=AS_ADMIN).json()
    assert linked["action"]["kind"] == "link" and _wait(client, linked["job"]["id"])["status"] == "done"
    assert client.post(url, json={"action": "link", "entry_id": "f-ship"}, headers=AS_ADMIN).status_code == 409
    answer = _ask(client, UNSERVED[1])
    assert answer["outcome"] == "answered" and answer["citations"][0]["id"] == "f-ship"
    undo = {"action": "undo", "action_id": linked["action"]["id"]}
    undone = client.post(url, json=undo, headers=AS_ADMIN).json()
    assert undone["action"]["undoes"] == linked["action"]["id"] and _wait(client, undone["job"]["id"])["status"] == "done"
    assert client.post(url, json=undo, headers=AS_ADMIN).status_code == 409
    log = client.get("/v1/learning/actions", headers=AS_ADMIN).json()["actions"]
    assert [a["kind"] for a in log[:2]] == ["undo", "link"] and log[1]["given_by"].startswith("key:")


def test_a_declined_wording_is_refused_after_the_job(client):
    question = "好物汇的退款多久到账"                  # another platform's: answered from f-refund
    answer = _ask(client, question)
    assert answer["outcome"] == "answered" and answer["citations"][0]["id"] == "f-refund"
    client.post("/v1/feedback", json={"answer_id": answer["trace_id"], "helpful": False, "reason": "wrong"},
                headers=AS_CLIENT)
    groups = client.get("/v1/learning", headers=AS_ADMIN).json()["groups"]
    group = next(g for g in groups if question in [w["text"] for w in g["wordings"]])
    url = f"/v1/learning/{group['id']}"
    missing = client.post(url, json={"action": "decline"}, headers=AS_ADMIN)
    assert missing.status_code == 422 and missing.json()["detail"][0]["loc"][-1] == "reason"
    body = {"action": "decline", "reason": "not our orders", "wordings": [question]}   # not its neighbours
    declined = client.post(url, json=body, headers=AS_ADMIN).json()
    assert declined["action"]["kind"] == "decline" and declined["action"]["entry_id"].startswith("learned-")
    assert _wait(client, declined["job"]["id"])["status"] == "done"
    again = _ask(client, question)
    assert again["outcome"] == "refused" and again["citations"] == [] and again["options"] == []
    assert _ask(client, "退款多久到账")["citations"][0]["id"] == "f-refund"


def test_a_feedback_flood_from_one_key_is_rate_limited(client):
    answer = _ask(client, "下单后多久发货")
    codes = [client.post("/v1/feedback", json={"answer_id": answer["trace_id"], "helpful": True},
                         headers=AS_FLOOD).status_code for _ in range(40)]
    assert codes[0] == 201 and 429 in codes


def test_the_services_own_conversations_export_in_the_inspectors_shape(client):
    from cs_rag.qa import parse_conversation

    first = client.post("/v1/answer", json={"question": "退款多久到账，我手机13812345678"}, headers=AS_CLIENT).json()
    session = first["session_id"]
    client.post("/v1/answer", json={"question": "我要转人工客服", "session_id": session}, headers=AS_CLIENT)
    alone = client.post("/v1/answer", json={"question": "运费怎么算"}, headers=AS_CLIENT).json()
    reply = client.get("/v1/qa/export", headers=AS_ADMIN)
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("application/x-ndjson")
    exported = {c.id: c for c in (parse_conversation(json.loads(line), "export", n)
                                  for n, line in enumerate(reply.text.splitlines(), 1))}
    mine = exported[session]
    assert [t.role.value for t in mine.turns] == ["customer", "bot", "customer", "bot", "system"]
    assert mine.agent_id == "bot" and "13812345678" not in mine.turns[0].text     # masked as logged
    assert mine.turns[1].text == first["text"] and mine.turns[0].ts <= mine.turns[1].ts
    assert alone["session_id"] in exported
    handed = client.get("/v1/qa/export?handed_off=true", headers=AS_ADMIN).text.splitlines()
    assert session in [json.loads(line)["id"] for line in handed]
    assert alone["session_id"] not in [json.loads(line)["id"] for line in handed]
    # the helpdesk adds its agent's turns after the hand-off and inspects the whole conversation
    whole = mine.model_dump(mode="json")
    whole["turns"].append({"role": "agent", "text": "您好，我是客服小周，退款审核通过后3-5个工作日原路退回。",
                           "ts": whole["turns"][-1]["ts"]})
    inspected = client.post("/v1/qa", json={"conversations": [whole]}, headers=AS_ADMIN)
    assert inspected.status_code == 200 and inspected.json()["results"][0]["id"] == session
    assert client.get("/v1/qa/export?since=yesterday", headers=AS_ADMIN).status_code == 422
    assert client.get("/v1/qa/export", headers=AS_CLIENT).status_code == 403
