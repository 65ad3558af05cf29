"""POST /v1/qa through TestClient on a service over an empty index (no model needed): admins
only, results as `cs-rag qa --json` gives them plus totals, bad bodies named by field."""

from __future__ import annotations

import json

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


def _signed_in(client):
    reply = client.post("/console/login", data={"key": ADMIN, "next": "/console/qa"}, follow_redirects=False)
    assert reply.status_code == 303
    page = client.get("/console/qa")
    return page.text.split('name="csrf-token" content="')[1].split('"')[0]


def test_a_kept_run_lists_its_agents_and_flagged_conversations_on_the_console(client):
    rude = record([("customer", 0, "<script>alert(1)</script>快递怎么还没到"), ("agent", 45, "自己不会查物流吗")],
                  cid="r-<b>9</b>", agent="a-07")
    again = record([("customer", 0, "有人吗"), ("customer", 30, "有人吗？？")], cid="r-<b>9</b>", agent="a-07")
    reply = client.post("/v1/qa", json={"conversations": [*BODY["conversations"], rude, again], "keep": True,
                                        "source": "周一抽检"}, headers=AS_ADMIN)
    run = reply.json()["run_id"]
    assert isinstance(run, int)
    assert client.post("/v1/qa", json=BODY, headers=AS_ADMIN).json()["run_id"] is None   # not kept
    _signed_in(client)
    page = client.get(f"/console/qa?run={run}")
    assert page.status_code == 200 and "周一抽检" in page.text
    assert page.text.count('data-testid="qa-agent"') == 2            # a-01 and a-07
    assert page.text.index("a-07") < page.text.index("a-01")         # lowest overall first
    assert "45.0 s" in page.text                                      # a-07's first response, kept
    assert page.text.count('data-testid="qa-flagged"') == 3          # r-1, the rude one, the unanswered one
    assert "r-&lt;b&gt;9&lt;/b&gt;" in page.text and "<b>9</b>" not in page.text
    only = client.get(f"/console/qa?run={run}&agent=a-07&code=slow_first_response")
    assert only.text.count('data-testid="qa-flagged"') == 1 and "first reply 45 s" in only.text
    detail = client.get(f"/console/qa/{run}/conversations/2")       # by position: the two share an id
    assert detail.status_code == 200 and "&lt;script&gt;alert(1)&lt;/script&gt;" in detail.text
    assert "<script>alert(1)" not in detail.text and 'data-testid="qa-finding"' in detail.text
    unanswered = client.get(f"/console/qa/{run}/conversations/3")
    assert "有人吗？？" in unanswered.text and "unresolved" in unanswered.text
    assert client.get(f"/console/qa/{run}/conversations/9").status_code == 404
    assert client.get("/console/qa?run=99999").status_code == 404


def test_an_upload_with_a_bad_line_is_named_and_skip_bad_inspects_the_rest(client):
    csrf = _signed_in(client)
    good = json.dumps(BODY["conversations"][1], ensure_ascii=False)
    data = f"{good}\n{{\"id\": \"x\"}}\n".encode()
    refused = client.post("/console/qa/upload", data={"csrf": csrf}, files={"file": ("chats.jsonl", data)})
    assert refused.status_code == 422 and "chats.jsonl:2 (field &#39;agent_id&#39;)" in refused.text
    kept = client.post("/console/qa/upload", data={"csrf": csrf, "skip_bad": "true"},
                       files={"file": ("chats.jsonl", data)}, follow_redirects=False)
    assert kept.status_code == 303                                    # a reload does not inspect again
    shown = client.get(kept.headers["location"])
    assert 'data-testid="qa-skipped"' in shown.text and "chats.jsonl:2" in shown.text and "1 段对话" in shown.text
    assert client.post("/console/qa/upload", data={"csrf": "stale"},
                       files={"file": ("ok.jsonl", good.encode())}).status_code == 403
    empty = client.post("/console/qa/upload", data={"csrf": csrf}, files={"file": ("empty.jsonl", b"")})
    assert empty.status_code == 422 and "no conversation to inspect" in empty.text


def test_an_upload_larger_than_one_batch_is_refused_whole(client, monkeypatch):
    import cs_rag.service.console.quality as quality

    monkeypatch.setattr(quality, "QA_BATCH", 1)
    csrf = _signed_in(client)
    two = "\n".join(json.dumps(c, ensure_ascii=False) for c in BODY["conversations"]).encode()
    before = len(client.app.state.service.qa_runs.runs())
    refused = client.post("/console/qa/upload", data={"csrf": csrf}, files={"file": ("two.jsonl", two)})
    assert refused.status_code == 422 and "at most 1 at once" in refused.text
    assert len(client.app.state.service.qa_runs.runs()) == before


def test_a_run_is_deleted_from_the_console(client):
    run = client.post("/v1/qa", json={**BODY, "keep": True}, headers=AS_ADMIN).json()["run_id"]
    csrf = _signed_in(client)
    assert client.post(f"/console/qa/{run}/delete", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    assert client.get(f"/console/qa?run={run}").status_code == 404
    assert client.post(f"/console/qa/{run}/delete", data={"csrf": csrf}).status_code == 404
