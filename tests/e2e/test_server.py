"""The HTTP service end to end: real uvicorn processes on 127.0.0.1, spoken to over HTTP
(servers A and B of conftest.py)."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from pathlib import Path

import numpy as np
import pytest

from cs_rag.answering.prompt import PromptLibrary

from helpers import FAQ
from servers import (
    ADMIN_KEY,
    B_BURST,
    B_TTL_MINUTES,
    CLIENT_KEY,
    CORS_ORIGIN,
    MAX_BODY_BYTES,
    MAX_QUESTION_CHARS,
    UPLOAD_MAX_BYTES,
    Server,
)

pytestmark = pytest.mark.slow


def _sse_events(raw: bytes) -> list[tuple[str | None, str]]:
    """(event, data) per server-sent event."""
    events = []
    for block in raw.decode("utf-8").split("\n\n"):
        if not block.strip():
            continue
        event, data = None, []
        for line in block.split("\n"):
            if line.startswith("event: "):
                event = line[len("event: "):]
            elif line.startswith("data: "):
                data.append(line[len("data: "):])
        events.append((event, "\n".join(data)))
    return events


# ---- operations -----------------------------------------------------------------------------

def test_healthz_openapi_metrics(server: Server):
    health = server.json("GET", "/healthz", key=None)
    assert health["ready"] and health["documents"] == 6 and health["chunks"] >= 6
    schema = server.json("GET", "/openapi.json", key=None)
    for path in ("/v1/answer", "/v1/chat/completions", "/v1/search", "/v1/suggest", "/v1/reviews",
                 "/v1/reviews/{review_id}", "/v1/knowledge", "/v1/knowledge/{doc_id}",
                 "/v1/knowledge/reindex", "/v1/jobs/{job_id}", "/healthz", "/metrics"):
        assert path in schema["paths"], path
    assert "HTTPBearer" in schema["components"]["securitySchemes"]
    server.json("POST", "/v1/answer", {"question": "怎么开发票"})
    status, headers, raw = server.call("GET", "/metrics")
    text = raw.decode()
    assert status == 200 and headers["content-type"].startswith("text/plain")
    assert 'cs_rag_http_requests_total{route="/v1/answer",method="POST",status="200"}' in text
    assert 'cs_rag_http_request_duration_seconds_bucket{route="/v1/answer",le="+Inf"}' in text
    assert "cs_rag_answers_total{outcome=" in text and "cs_rag_ready 1" in text
    assert 'cs_rag_ingest_jobs_total{status="done"} 1' in text   # the build at start


def test_cors_only_for_configured_origins(server: Server):
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
    _, headers, _ = server.call("OPTIONS", "/v1/answer", headers={"Origin": CORS_ORIGIN, **preflight})
    assert headers.get("access-control-allow-origin") == CORS_ORIGIN
    _, headers, _ = server.call("OPTIONS", "/v1/answer", headers={"Origin": "https://evil.example", **preflight})
    assert "access-control-allow-origin" not in {k.lower() for k in headers}


# ---- answers and sessions -------------------------------------------------------------------

def test_answer_json_is_the_cli_answer_plus_the_session(server: Server):
    body = server.json("POST", "/v1/answer", {"question": "退款多久到账"})
    cli = subprocess.run([sys.executable, "-m", "cs_rag.cli", "ask", "退款多久到账", "--index",
                          str(server.index_dir), "--json"], capture_output=True, text=True,
                         timeout=300, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert cli.returncode == 0, cli.stderr
    expected = json.loads(cli.stdout)
    added = {"session_id", "new_session", "expired_session", "review_id"}
    assert list(body)[:len(expected)] == list(expected)       # same fields, same order, then ours
    assert set(body) - set(expected) == added
    for volatile in ("trace_id",):
        body.pop(volatile), expected.pop(volatile)
    for answer in (body, expected):
        answer["trace"].pop("trace_id"), answer["trace"].pop("timings_ms")
        answer["trace"]["retrieval"].pop("timings_ms", None)
    assert {k: body[k] for k in expected} == expected
    assert body["outcome"] == "answered" and body["citations"][0]["id"] == "f-refund"
    assert body["new_session"] is True and body["expired_session"] is None and len(body["session_id"]) == 32


def test_answers_are_written_to_the_question_log_with_personal_data_masked(server: Server):
    server.json("POST", "/v1/answer", {"question": "我的手机13912345678，下单后多久发货"})
    logs = sorted((server.data_dir / "questions").glob("*.jsonl"))
    assert logs, "no question log written"
    records = [json.loads(line) for path in logs for line in path.read_text(encoding="utf-8").splitlines()]
    shipped = [r for r in records if "下单后多久发货" in r["question"]]
    assert shipped and "13912345678" not in json.dumps(shipped, ensure_ascii=False)
    assert {"ts", "question", "outcome", "confidence", "flags", "latency_ms"} <= set(shipped[-1])
    assert "pii" in shipped[-1]["flags"]


def test_answer_searches_only_the_products_asked_for(server: Server):
    laptop = server.json("POST", "/v1/answer", {"question": "怎么开发票", "product": "笔记本"})
    assert laptop["citations"][0]["id"] == "f-invoice"
    fridge = server.json("POST", "/v1/answer", {"question": "怎么开发票", "product": ["冰箱"]})
    assert "f-invoice" not in {h["id"] for h in fridge["trace"]["retrieval"]["hits"]}


def test_answer_stream_is_server_sent_events(server: Server):
    status, headers, raw = server.call("POST", "/v1/answer", {"question": "怎么开发票", "stream": True},
                                       CLIENT_KEY)
    assert status == 200 and headers["content-type"].startswith("text/event-stream")
    events = _sse_events(raw)
    assert [e for e, _ in events[:-1]] == ["delta"] * (len(events) - 1) and events[-1][0] == "answer"
    final = json.loads(events[-1][1])
    assert "".join(json.loads(d)["text"] for _, d in events[:-1]) == final["text"]
    assert final["citations"][0]["id"] == "f-invoice" and final["flags"] == []
    assert final["session_id"] and final["new_session"] is True


def test_session_keeps_history_for_follow_ups(server: Server):
    first = server.json("POST", "/v1/answer", {"question": "七天无理由退货怎么申请",
                                               "customer": {"level": "VIP"}})
    follow = server.json("POST", "/v1/answer", {"question": "那运费呢？", "session_id": first["session_id"]})
    assert follow["session_id"] == first["session_id"] and follow["new_session"] is False
    rewrite = follow["trace"]["rewrite"]
    assert rewrite["rule"] and rewrite["rule"].startswith("leading")
    assert "七天无理由退货" in rewrite["question"] and "运费" in rewrite["question"]
    # a third turn sees both earlier exchanges: the session appended user and assistant turns
    third = server.json("POST", "/v1/answer", {"question": "那运费呢？", "session_id": first["session_id"]})
    assert third["trace"]["rewrite"]["rule"]


def test_session_expires_and_says_so(open_server: Server):
    first = open_server.json("POST", "/v1/answer", {"question": "七天无理由退货怎么申请"}, key=None)
    time.sleep(B_TTL_MINUTES * 60 + 1.0)
    later = open_server.json("POST", "/v1/answer", {"question": "那运费呢？", "session_id": first["session_id"]},
                             key=None)
    assert later["new_session"] is True and later["expired_session"] == first["session_id"]
    assert later["session_id"] != first["session_id"]
    assert "七天无理由退货" not in later["trace"]["rewrite"]["question"]


def test_personal_data_is_masked_in_the_log(server: Server):
    answer = server.json("POST", "/v1/answer", {"question": "我的手机号13812345678，退款多久到账"})
    assert "13812345678" not in answer["question"]
    server.call("GET", "/v1/reviews?status=pending&flag=pii&q=13912345678", key=ADMIN_KEY)
    time.sleep(0.2)
    log = server.log_text()
    assert "138****5678" in log and "13812345678" not in log and "13912345678" not in log


# ---- OpenAI compatibility -------------------------------------------------------------------

def test_openai_client_non_stream_and_stream(server: Server):
    import openai

    client = openai.OpenAI(base_url=server.url + "/v1", api_key=CLIENT_KEY, max_retries=0)
    completion = client.chat.completions.create(
        model="cs-rag", messages=[{"role": "system", "content": "ignored"},
                                  {"role": "user", "content": "退款多久到账"}])
    assert "3-5个工作日" in completion.choices[0].message.content
    extra = completion.model_extra["cs_rag"]
    assert extra["outcome"] == "answered" and extra["routing"] == "send"
    assert extra["citations"][0]["id"] == "f-refund" and extra["flags"] == []

    history = [{"role": "user", "content": "七天无理由退货怎么申请"},
               {"role": "assistant", "content": "签收后七天内可申请。"},
               {"role": "user", "content": "那运费呢？"}]
    pieces, last = [], None
    for chunk in client.chat.completions.create(model="cs-rag", messages=history, stream=True):
        if chunk.choices and chunk.choices[0].delta.content:
            pieces.append(chunk.choices[0].delta.content)
        last = chunk
    assert last.choices[0].finish_reason == "stop"
    final = last.model_extra["cs_rag"]
    assert "".join(pieces) and final["trace"]["rewrite"]["rule"].startswith("leading")
    assert {"citations", "flags", "outcome", "routing"} <= set(final)

    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=server.url + "/v1", api_key="wrong", max_retries=0).chat.completions.create(
            model="cs-rag", messages=[{"role": "user", "content": "退款多久到账"}])
    assert [m.id for m in client.models.list()] == ["cs-rag"]


def test_chat_stream_ends_with_done(server: Server):
    status, _, raw = server.call("POST", "/v1/chat/completions", {
        "model": "cs-rag", "stream": True, "messages": [{"role": "user", "content": "怎么开发票"}]}, CLIENT_KEY)
    events = _sse_events(raw)
    assert status == 200 and events[-1] == (None, "[DONE]")
    chunks = [json.loads(d) for _, d in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[-1]["cs_rag"]["citations"][0]["id"] == "f-invoice"


# ---- search and suggestions -----------------------------------------------------------------

def test_search_ranks_and_filters(server: Server):
    result = server.json("POST", "/v1/search", {"query": "退款几天能到", "k": 3})
    assert result["hits"][0]["id"] == "f-refund" and len(result["hits"]) == 3
    assert result["hits"][0]["score"] >= result["hits"][1]["score"]
    only = server.json("POST", "/v1/search", {"query": "退款几天能到", "category": "支付"})
    assert only["hits"] and {h["category"] for h in only["hits"]} == {"支付"}
    laptop = server.json("POST", "/v1/search", {"query": "怎么开发票", "product": ["笔记本"]})
    assert laptop["hits"][0]["id"] == "f-invoice"
    fridge = server.json("POST", "/v1/search", {"query": "怎么开发票", "product": "冰箱"})
    assert fridge["hits"] and "f-invoice" not in {h["id"] for h in fridge["hits"]}
    # a client with no product page may send "": no filter, as with null
    unfiltered = server.json("POST", "/v1/search", {"query": "怎么开发票"})["hits"]
    assert server.json("POST", "/v1/search", {"query": "怎么开发票", "product": ""})["hits"] == unfiltered
    assert server.json("POST", "/v1/search", {"query": "怎么开发票", "product": [" "], "category": ""})["hits"] == unfiltered


def test_every_answer_route_takes_the_product_filter(server: Server):
    def chat(product: str) -> dict:
        return server.json("POST", "/v1/chat/completions", {
            "model": "cs-rag", "product": product, "messages": [{"role": "user", "content": "怎么开发票"}]})["cs_rag"]

    assert chat("笔记本")["citations"][0]["id"] == "f-invoice"
    assert "f-invoice" not in {h["id"] for h in chat("冰箱")["trace"]["retrieval"]["hits"]}
    status, _, raw = server.call("POST", "/v1/chat/completions", {
        "model": "cs-rag", "stream": True, "product": "冰箱",
        "messages": [{"role": "user", "content": "怎么开发票"}]}, CLIENT_KEY)
    final = json.loads(_sse_events(raw)[-2][1])["cs_rag"]
    assert status == 200 and "f-invoice" not in {h["id"] for h in final["trace"]["retrieval"]["hits"]}
    suggest = server.json("POST", "/v1/suggest", {"question": "怎么开发票", "product": "冰箱"})
    assert suggest["suggestions"] and "f-invoice" not in {s["citation"]["id"] for s in suggest["suggestions"]}
    laptop = server.json("POST", "/v1/suggest", {"question": "怎么开发票", "product": "笔记本", "category": "支付"})
    assert laptop["suggestions"][0]["citation"]["id"] == "f-invoice"


def test_suggest_gives_distinct_replies_with_sources(server: Server):
    session = server.json("POST", "/v1/answer", {"question": "七天无理由退货怎么申请"})["session_id"]
    result = server.json("POST", "/v1/suggest", {"session_id": session, "question": "那运费呢？"})
    assert "七天无理由退货" in result["search_query"]
    suggestions = result["suggestions"]
    assert len(suggestions) == 3 and len({s["citation"]["doc_id"] for s in suggestions}) == 3
    assert all(s["text"] and "[1]" not in s["text"] for s in suggestions)
    assert any("运费" in s["text"] for s in suggestions)
    faq = next(s for s in suggestions if s["citation"]["kind"] == "faq")
    assert faq["text"] == next(e["answer"] for e in FAQ if e["id"] == faq["citation"]["id"])
    last_turn = server.json("POST", "/v1/suggest", {"messages": [{"role": "user", "content": "怎么开发票"}]})
    assert last_turn["suggestions"][0]["citation"]["id"] == "f-invoice"
    server.json("POST", "/v1/suggest", {"session_id": "0" * 32}, expect=404)


# ---- keys, limits ---------------------------------------------------------------------------

def test_keys(server: Server):
    question = {"question": "怎么开发票"}
    status, headers, _ = server.call("POST", "/v1/answer", question)
    assert status == 401 and headers["www-authenticate"] == "Bearer"
    assert server.call("POST", "/v1/answer", question, "wrong-key")[0] == 401
    assert server.call("POST", "/v1/answer", question, "another-client-key")[0] == 200
    assert server.call("POST", "/v1/search", {"query": "发票"}, ADMIN_KEY)[0] == 200
    assert server.call("GET", "/v1/reviews")[0] == 401
    assert server.call("GET", "/v1/reviews", key="wrong-key")[0] == 401
    assert server.call("GET", "/v1/reviews", key=CLIENT_KEY)[0] == 403
    assert server.call("POST", "/v1/knowledge/reindex", key=CLIENT_KEY)[0] == 403
    assert server.call("GET", "/v1/reviews", key=ADMIN_KEY)[0] == 200
    status, _, _ = server.call("GET", "/v1/reviews", headers={"Authorization": f"Basic {ADMIN_KEY}"})
    assert status == 401


def test_open_mode_opens_client_routes_only(open_server: Server):
    assert open_server.call("POST", "/v1/search", {"query": "发票"})[0] == 200
    assert open_server.call("POST", "/v1/search", {"query": "发票"}, "made-up-key")[0] == 401
    for key in (None, ADMIN_KEY, "anything"):
        assert open_server.call("GET", "/v1/reviews", key=key)[0] == 401
        assert open_server.call("POST", "/v1/knowledge/reindex", key=key)[0] == 401
    log = open_server.log_text()
    assert "no client keys (CS_RAG_API_KEYS)" in log and "review and knowledge routes are closed" in log


def test_body_and_question_limits(server: Server):
    status, _, raw = server.call("POST", "/v1/answer", {"question": "退款" * (MAX_BODY_BYTES // 2)}, CLIENT_KEY)
    assert status == 413, raw
    metrics = server.call("GET", "/metrics")[2].decode()
    assert 'cs_rag_http_requests_total{route="/v1/answer",method="POST",status="413"}' in metrics
    # a chunked body (no Content-Length) is counted as it arrives
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.request("POST", "/v1/search", body=iter([b'{"query": "', b"x" * MAX_BODY_BYTES, b'"}']),
                       headers={"Authorization": f"Bearer {CLIENT_KEY}", "Content-Type": "application/json"},
                       encode_chunked=True)
    assert connection.getresponse().status == 413
    connection.close()

    status, _, raw = server.call("POST", "/v1/answer", {"question": "退" * (MAX_QUESTION_CHARS + 1)}, CLIENT_KEY)
    detail = json.loads(raw)["detail"]
    assert status == 422 and detail[0]["loc"] == ["body", "question"]
    status, _, raw = server.call("POST", "/v1/chat/completions", {
        "messages": [{"role": "user", "content": "退" * (MAX_QUESTION_CHARS + 1)}]}, CLIENT_KEY)
    assert status == 422 and json.loads(raw)["detail"][0]["loc"] == ["body", "messages", 0, "content"]
    status, _, raw = server.call("POST", "/v1/answer", {"question": "  \n "}, CLIENT_KEY)
    assert status == 422 and json.loads(raw)["detail"][0]["loc"] == ["body", "question"]
    status, _, raw = server.call("POST", "/v1/chat/completions", {
        "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}, CLIENT_KEY)
    assert status == 422 and json.loads(raw)["detail"][0]["loc"] == ["body", "messages", 1, "role"]


def test_rate_limit_answers_429_with_retry_after(open_server: Server):
    time.sleep(B_BURST * 0.5 + 0.5)    # the bucket refills at 2 requests a second
    statuses, retry_after, scope = [], None, None
    for _ in range(B_BURST + 5):
        status, headers, _ = open_server.call("POST", "/v1/search", {"query": "发票"})
        statuses.append(status)
        retry_after = headers.get("retry-after", retry_after)
        scope = headers.get("x-ratelimit-scope", scope)
    assert statuses[:B_BURST] == [200] * B_BURST and 429 in statuses
    assert retry_after is not None and int(retry_after) >= 1
    assert scope == "key"   # no client keys: the key limit is per address, its burst the smaller
    assert 'cs_rag_rate_limited_total{limit="key"}' in open_server.call("GET", "/metrics")[2].decode()
    time.sleep(int(retry_after))
    assert open_server.call("POST", "/v1/search", {"query": "发票"})[0] == 200


# ---- knowledge admin ------------------------------------------------------------------------

def test_uploads_are_checked_and_stored_under_a_safe_name(server: Server):
    escape = f"escape{uuid.uuid4().hex[:8]}"
    status, body = server.upload(f"../../../{escape}.md", "# 会员积分\n积分一年有效。\n".encode())
    assert status == 202, body
    assert body["file"] == f"uploads/{escape}.md" and body["documents"] == [escape]
    stored = server.data_dir / "knowledge" / "uploads" / f"{escape}.md"
    assert stored.is_file() and not (server.data_dir.parent / f"{escape}.md").exists()
    assert server.wait_job(body["job"]["id"])["status"] == "done"

    status, body = server.upload("..\\..\\windows\\evil name!.md", "# 说明\n内容。\n".encode())
    assert status == 202 and body["file"] == "uploads/evil_name.md"
    server.wait_job(body["job"]["id"])
    assert server.upload("../../etc/passwd", b"root:x:0:0")[0] == 415
    assert server.upload("tool.exe", b"MZ")[0] == 415
    assert server.upload("userdict.txt", "闪电优选 10 n\n".encode())[0] == 422
    status, body = server.upload("bad.jsonl", b'{"id": "x", "question": "q", "answer": "a"}\n{broken\n')
    assert status == 422 and "bad.jsonl:2" in body["detail"][0]["msg"]
    status, body = server.upload("clash.jsonl", json.dumps(
        {"id": "f-refund", "question": "重复", "answer": "重复"}, ensure_ascii=False).encode())
    assert status == 409 and "f-refund" in body["detail"]
    assert server.upload("big.md", b"# x\n" + b"a" * (UPLOAD_MAX_BYTES + 10))[0] == 413
    assert server.upload("huge.md", b"a" * (UPLOAD_MAX_BYTES * 3))[0] == 413

    table = "标准问题,相似问题,答案,分类\n积分怎么兑换,积分能换什么|积分兑换,在会员中心兑换礼品。,账户与会员\n"
    status, body = server.upload("积分 FAQ.csv", table.encode("utf-8"))
    assert status == 202 and body["file"] == "uploads/积分_FAQ.jsonl"
    assert server.wait_job(body["job"]["id"])["status"] == "done"
    hit = server.json("POST", "/v1/search", {"query": "积分能换什么", "k": 1})["hits"][0]
    assert hit["text"] == "在会员中心兑换礼品。"

    for doc_id in (escape, "evil_name", hit["doc_id"]):
        status, _, raw = server.call("DELETE", f"/v1/knowledge/{doc_id}", key=ADMIN_KEY)
        assert status == 202, raw
        assert server.wait_job(json.loads(raw)["job"]["id"])["status"] == "done"
    assert not stored.exists()
    assert server.json("POST", "/v1/search", {"query": "积分能换什么", "k": 1})["hits"][0]["doc_id"] != hit["doc_id"]
    assert server.call("DELETE", "/v1/knowledge/f-refund", key=ADMIN_KEY)[0] == 409
    assert server.call("DELETE", "/v1/knowledge/no-such-doc", key=ADMIN_KEY)[0] == 404
    documents = server.json("GET", "/v1/knowledge", key=ADMIN_KEY)["documents"]
    assert {d["id"] for d in documents} == {e["id"] for e in FAQ} | {"退换货政策"}


def test_search_keeps_working_during_a_reindex(server: Server):
    sections = "".join(f"## 型号 X{i:03d}\n型号X{i:03d}的电池容量为{3000 + i}毫安时，支持{18 + i % 50}瓦快充。\n"
                       for i in range(240))
    status, body = server.upload("产品参数.md", f"# 产品参数\n{sections}".encode())
    assert status == 202
    job_id, seen_running, answered = body["job"]["id"], 0, []
    while True:
        job = server.json("GET", f"/v1/jobs/{job_id}", key=ADMIN_KEY)
        status, _, raw = server.call("POST", "/v1/search", {"query": "型号X123的电池容量", "k": 3}, CLIENT_KEY)
        assert status == 200, raw
        if job["status"] == "running":
            seen_running += 1
            answered.append(json.loads(raw)["hits"])
        if job["status"] in ("done", "failed"):
            break
    job = server.json("GET", f"/v1/jobs/{job_id}", key=ADMIN_KEY)
    assert job["status"] == "done" and job["report"]["added"] == ["产品参数"]
    assert job["progress"]["to_embed"] >= 240
    assert seen_running >= 3
    assert all(h["doc_id"] != "产品参数" for hits in answered[:1] for h in hits)   # the old version
    hits = server.json("POST", "/v1/search", {"query": "型号X123的电池容量", "k": 3})["hits"]
    assert hits[0]["doc_id"] == "产品参数" and "X123" in hits[0]["text"]

    reindex = server.json("POST", "/v1/knowledge/reindex", key=ADMIN_KEY, expect=202)
    report = server.wait_job(reindex["id"])["report"]
    assert "产品参数" in report["unchanged"] and report["texts_embedded"] == 0
    status, _, raw = server.call("DELETE", f"/v1/knowledge/{urllib.parse.quote('产品参数')}", key=ADMIN_KEY)
    assert status == 202 and server.wait_job(json.loads(raw)["job"]["id"])["report"]["removed"] == ["产品参数"]
    assert server.call("GET", "/v1/jobs/unknown", key=ADMIN_KEY)[0] == 404


# ---- the review queue -----------------------------------------------------------------------

def test_review_edit_saved_as_faq_answer_becomes_searchable(server: Server):
    answer = server.json("POST", "/v1/answer", {"question": "问了三次了还没人管，能以旧换新吗"})
    assert answer["routing"] == "review" and answer["review_id"] and answer["outcome"] != "answered"
    review_id = answer["review_id"]
    queue = server.json("GET", "/v1/reviews?status=pending&flag=negative_emotion", key=ADMIN_KEY)
    assert review_id in [r["id"] for r in queue["reviews"]]
    assert all("negative_emotion" in r["flag_kinds"] for r in queue["reviews"])
    assert server.json("GET", "/v1/reviews?flag=banned_word", key=ADMIN_KEY)["total"] == 0
    body = "旧机可在“以旧换新”页面估价，估价金额在新机下单时直接抵扣。"
    phrases = PromptLibrary().phrases("zh")
    edited = phrases.opening + body + phrases.closing    # what the customer is sent
    for wrong in ({"action": "reject", "save_as": "faq_answer"},      # nothing to save
                  {"action": "approve", "save_as": "faq_answer"},     # the draft is a refusal
                  {"action": "edit", "save_as": "faq_answer"}):       # an edit needs its text
        assert server.call("POST", f"/v1/reviews/{review_id}", wrong, ADMIN_KEY)[0] == 422, wrong
    result = server.json("POST", f"/v1/reviews/{review_id}", {
        "action": "edit", "text": edited, "save_as": "faq_answer", "question": "能以旧换新吗",
        "category": "售后退款", "note": "以旧换新"}, key=ADMIN_KEY)
    review = result["review"]
    assert review["status"] == "edited" and review["final_text"] == edited
    assert review["faq_id"] == f"review-{review_id}" and review["decided_by"].startswith("key:")
    assert ADMIN_KEY not in json.dumps(result)
    assert server.wait_job(result["job"]["id"])["status"] == "done"
    hit = server.json("POST", "/v1/search", {"query": "能以旧换新吗", "k": 1})["hits"][0]
    assert hit["id"] == f"review-{review_id}" and hit["text"] == body   # greetings are added anyway
    again = server.json("POST", "/v1/answer", {"question": "能以旧换新吗"})
    assert again["outcome"] == "answered" and again["text"].count(phrases.opening) == 1
    assert server.call("POST", f"/v1/reviews/{review_id}", {"action": "approve"}, ADMIN_KEY)[0] == 409
    assert server.json("GET", f"/v1/reviews/{review_id}", key=ADMIN_KEY)["job_id"] == result["job"]["id"]
    assert server.call("GET", "/v1/reviews/999999", key=ADMIN_KEY)[0] == 404


def test_review_approved_as_similar_question(server: Server):
    answer = server.json("POST", "/v1/answer", {"question": "问了三次了还没人管，退款多久到账"})
    assert answer["routing"] == "review" and answer["citations"][0]["id"] == "f-refund"
    result = server.json("POST", f"/v1/reviews/{answer['review_id']}", {
        "action": "approve", "save_as": "similar_question", "question": "钱退到哪里去了怎么还没收到"},
        key=ADMIN_KEY)
    assert result["review"]["status"] == "approved" and result["review"]["final_text"] == answer["text"]
    assert server.wait_job(result["job"]["id"])["status"] == "done"
    hit = server.json("POST", "/v1/search", {"query": "钱退到哪里去了怎么还没收到", "k": 1})["hits"][0]
    assert hit["id"] == "f-refund"      # the entry itself learned the phrasing: no copied answer
    assert result["review"]["faq_id"] == "f-refund"
    [taught] = server.json("GET", "/v1/learning/actions", key=ADMIN_KEY)["actions"]
    assert taught["group_id"] == f"review-{answer['review_id']}" and taught["entry_id"] == "f-refund"
    approved = server.json("GET", "/v1/reviews?status=approved", key=ADMIN_KEY)
    assert approved["total"] >= 1 and all(r["status"] == "approved" for r in approved["reviews"])


# ---- the contract -----------------------------------------------------------------------------

def test_every_route_matches_the_openapi_schema(server: Server, root: Path):
    """schemathesis against the live server with the admin key (which every route accepts),
    bounded by --max-examples (not --max-time, which fuzzing would spend whole). The stateful
    phase is left out: it would chain uploads and deletes at random. One worker: hypothesis'
    source introspection is not thread-safe."""
    result = subprocess.run(
        [sys.executable, "-m", "schemathesis.cli", "run", f"{server.url}/openapi.json",
         "-H", f"Authorization: Bearer {ADMIN_KEY}", "--checks",
         "not_a_server_error,status_code_conformance,content_type_conformance,"
         "response_schema_conformance,response_headers_conformance",
         "--phases", "examples,coverage,fuzzing", "--max-examples", "25",
         "--workers", "1", "--request-timeout", "30", "--seed", "7", "--no-color"],
        capture_output=True, text=True, timeout=240, cwd=root)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


# ---- load ------------------------------------------------------------------------------------

@pytest.mark.slow
def test_load_answers_without_errors(server: Server):
    """Four concurrent clients ask for 60 s over keep-alive connections (loopback only)."""
    questions = [e["question"] for e in FAQ] + ["七天无理由退货怎么申请", "耳机拆封了能退吗", "你好"]
    duration, clients = 60.0, 4
    stop_at = time.monotonic() + duration
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def client(number: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        i = number
        while time.monotonic() < stop_at:
            body = json.dumps({"question": questions[i % len(questions)]})
            i += 1
            started = time.perf_counter()
            try:
                connection.request("POST", "/v1/answer", body=body, headers={
                    "Authorization": f"Bearer {CLIENT_KEY}", "Content-Type": "application/json"})
                response = connection.getresponse()
                response.read()
                ok = response.status == 200
                problem = f"status {response.status}"
            except (OSError, http.client.HTTPException) as exc:
                ok, problem = False, repr(exc)
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            with lock:
                (latencies.append(time.perf_counter() - started) if ok else errors.append(problem))
        connection.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(duration + 60)
    elapsed = time.monotonic() - started
    ms = np.asarray(latencies) * 1000
    print(f"\nload: {clients} clients, {elapsed:.0f} s: {len(latencies)} answers, "
          f"{len(latencies) / elapsed:.1f} req/s, p50 {np.percentile(ms, 50):.1f} ms, "
          f"p95 {np.percentile(ms, 95):.1f} ms, p99 {np.percentile(ms, 99):.1f} ms, errors {len(errors)}")
    assert errors == []
    assert len(latencies) > 100
