"""Two `cs-rag serve` replicas on one PostgreSQL database behave as one service.

Uses the session's PostgreSQL + pgvector (conftest.py `pg_server`). Both replicas start together
with no index, on one schema and one data folder (the knowledge files they share), and build
it once between them; then every request below goes to one replica and is checked on the other.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.parse

import psycopg
import pytest
from helpers import FAQ, write_jsonl
from servers import ADMIN_KEY, CLIENT_KEY, Server, start, stop

from cs_rag.state.postgres import POOL_TIMEOUT_SECONDS

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

NEW_ENTRY = {"id": "f-gift-card", "question": "礼品卡可以转赠给朋友吗",
             "similar_questions": ["礼品卡能送人吗"], "answer": "未绑定的礼品卡可以转赠，绑定后仅限本人使用。",
             "category": "支付"}
UNSERVED = "你们的股票代码是多少"
KILLED = "cs-rag-killed-ingest"   # the application_name of the ingest the test kills


@pytest.fixture(scope="module")
def replicas(tmp_path_factory, pg_server):
    root = tmp_path_factory.mktemp("replicas")
    knowledge = root / "knowledge"
    knowledge.mkdir()
    write_jsonl(knowledge / "faq.jsonl", FAQ)
    env = {"CS_RAG_INDEX_BACKEND": "postgres", "CS_RAG_PG_DSN": pg_server.dsn,
           "CS_RAG_INDEX_PG_SCHEMA": "replica_kb", "CS_RAG_API_KEYS": CLIENT_KEY,
           "CS_RAG_ADMIN_KEYS": ADMIN_KEY, "CS_RAG_SERVICE_CUSTOMER_RATE_LIMIT_PER_MINUTE": "0"}
    started: dict[str, Server] = {}
    failures: list[BaseException] = []

    def run(name: str) -> None:
        try:
            started[name] = start(root, name, root / "kb", knowledge, env, data_dir=root / "shared-data")
        except BaseException as exc:  # noqa: BLE001 - reported below, after both tried
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(name,)) for name in ("r1", "r2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        if failures:
            raise failures[0]
        yield started["r1"], started["r2"]
    finally:
        for server in started.values():
            stop(server)


def test_replica_the_first_index_is_built_once(replicas):
    first, second = replicas
    jobs = first.json("GET", "/v1/jobs?limit=50", key=ADMIN_KEY)["jobs"]
    builds = [job for job in jobs if job["kind"] == "build"]
    assert len(builds) == 1 and builds[0]["status"] == "done", jobs
    assert second.json("GET", "/v1/jobs?limit=50", key=ADMIN_KEY)["jobs"] == jobs


def test_replica_a_conversation_continues_on_the_other(replicas):
    first, second = replicas
    opened = first.json("POST", "/v1/answer", {"question": "退款多久到账"})
    follow = second.json("POST", "/v1/answer", {"question": "那发票呢", "session_id": opened["session_id"]})
    assert follow["session_id"] == opened["session_id"] and not follow["new_session"]
    assert follow["expired_session"] is None


def test_replica_a_review_decided_on_one_leaves_every_queue(replicas):
    first, second = replicas
    answer = first.json("POST", "/v1/answer", {"question": "问了三次了还没人管，退款多久到账"})
    assert answer["routing"] == "review", answer
    pending = second.json("GET", "/v1/reviews?status=pending", key=ADMIN_KEY)["reviews"]
    assert answer["review_id"] in [r["id"] for r in pending]
    decided = second.json("POST", f"/v1/reviews/{answer['review_id']}", {"action": "approve"}, key=ADMIN_KEY)
    assert decided["review"]["status"] == "approved"
    still = first.json("GET", "/v1/reviews?status=pending", key=ADMIN_KEY)["reviews"]
    assert answer["review_id"] not in [r["id"] for r in still]
    assert first.call("POST", f"/v1/reviews/{answer['review_id']}", {"action": "approve"}, ADMIN_KEY)[0] == 409


def test_replica_feedback_and_the_learning_queue_are_shared(replicas):
    first, second = replicas
    refused = first.json("POST", "/v1/answer", {"question": UNSERVED})
    assert refused["outcome"] == "refused", refused
    rated = second.json("POST", "/v1/feedback", {"answer_id": refused["trace_id"], "helpful": False},
                        expect=201)
    assert rated["feedback"]["answer_id"] == refused["trace_id"]
    groups = second.json("GET", "/v1/learning", key=ADMIN_KEY)["groups"]
    group = next(g for g in groups if UNSERVED in [w["text"] for w in g["wordings"]])
    ignored = first.json("POST", f"/v1/learning/{group['id']}", {"action": "ignore", "reason": "not ours"},
                         key=ADMIN_KEY)
    assert ignored["action"]["kind"] == "ignore"
    assert group["id"] not in [g["id"] for g in second.json("GET", "/v1/learning", key=ADMIN_KEY)["groups"]]
    assert second.call("POST", f"/v1/learning/{group['id']}", {"action": "ignore", "reason": "again"},
                       ADMIN_KEY)[0] == 409


def test_replica_an_upload_on_one_is_searchable_on_the_other(replicas):
    first, second = replicas
    status, upload = first.upload("gift.jsonl", json.dumps(NEW_ENTRY, ensure_ascii=False).encode())
    assert status == 202, upload
    assert second.wait_job(upload["job"]["id"])["status"] == "done"   # the job is visible everywhere
    hits = second.json("POST", "/v1/search", {"query": "礼品卡能不能送给别人", "k": 3})
    assert hits["hits"][0]["id"] == "f-gift-card"
    assert json.loads(second.call("GET", "/healthz")[2])["documents"] == len(FAQ) + 1


def test_replica_a_console_sign_in_holds_on_every_replica(replicas):
    first, second = replicas
    status, cookie = _sign_in(first)
    assert status == 303 and cookie.startswith("cs_rag_console="), (status, cookie)
    assert second.call("GET", "/console/settings", headers={"Cookie": cookie})[0] == 200
    assert second.call("GET", "/console/settings", headers={"Cookie": "cs_rag_console=forged"})[0] == 401


def _sign_in(server: Server) -> tuple[int, str]:
    """(status, the session cookie) of a console sign-in, its redirect not followed."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.request("POST", "/console/login", urllib.parse.urlencode({"key": ADMIN_KEY}),
                           {"Content-Type": "application/x-www-form-urlencoded"})
        response = connection.getresponse()
        return response.status, (response.getheader("set-cookie") or "").split(";")[0]
    finally:
        connection.close()


def test_replica_an_ingest_killed_mid_publish_leaves_the_previous_version_everywhere(replicas, pg_server):
    first, second = replicas
    before = [json.loads(server.call("GET", "/healthz")[2])["index_version"] for server in replicas]
    extra = first.data_dir.parent / "extra-knowledge"
    extra.mkdir()
    write_jsonl(extra / "bulk.jsonl", [{"id": f"bulk-{n}", "question": f"第{n}号批量问题怎么处理",
                                        "answer": f"第{n}号问题的处理办法。"} for n in range(400)])
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "CS_RAG_INDEX_BACKEND": "postgres",
           "CS_RAG_INDEX_PG_SCHEMA": "replica_kb",
           "CS_RAG_PG_DSN": f"{pg_server.dsn} application_name={KILLED}"}
    ingest = subprocess.Popen([sys.executable, "-m", "cs_rag.cli", "ingest", str(first.data_dir.parent / "knowledge"),
                               str(extra), "--index", str(first.index_dir)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert _wait_until_publishing(pg_server.dsn, ingest), "the ingest ended before it published"
        ingest.send_signal(signal.SIGKILL)
    finally:
        ingest.wait(30)
    for server, version in zip(replicas, before):
        assert json.loads(server.call("GET", "/healthz")[2])["index_version"] == version
        hits = server.json("POST", "/v1/search", {"query": "第7号批量问题怎么处理", "k": 3})["hits"]
        assert not any(hit["id"].startswith("bulk-") for hit in hits)
    assert second.json("POST", "/v1/answer", {"question": "退款多久到账"})["outcome"] == "answered"


def _wait_until_publishing(dsn: str, ingest: subprocess.Popen) -> bool:
    """True once the ingest's connection has written rows in its open publish transaction."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        while ingest.poll() is None:
            if conn.execute("SELECT 1 FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
                            "WHERE a.application_name = %s AND l.mode = 'RowExclusiveLock' "
                            "AND l.relation = 'replica_kb.match_rows'::regclass", (KILLED,)).fetchone():
                return True
            time.sleep(0.005)
    return False


def test_replica_a_database_restart_is_503_then_recovers_with_nothing_lost(replicas, pg_server):
    first, second = replicas
    opened = first.json("POST", "/v1/answer", {"question": "退款多久到账"})
    results: list[tuple[int, str | None, bytes]] = []
    stop = threading.Event()

    def customers() -> None:
        turn = 0
        while not stop.is_set():
            status, headers, raw = replicas[turn % 2].call("POST", "/v1/answer", {"question": "怎么开发票"},
                                                           CLIENT_KEY, timeout=60)
            retry_after = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
            results.append((status, retry_after, raw))
            turn += 1
            time.sleep(0.05)

    load = threading.Thread(target=customers)
    load.start()
    try:
        time.sleep(1.0)
        pg_server.halt()
        time.sleep(POOL_TIMEOUT_SECONDS + 1.0)   # longer than a request waits for the database
        pg_server.resume()
        recovered = _answering_again(replicas, deadline=time.monotonic() + 30)
    finally:
        stop.set()
        load.join(90)
    assert recovered, "a replica did not answer again within 30 s of the database's return"
    statuses = [status for status, _, _ in results]
    assert set(statuses) <= {200, 503} and 503 in statuses, sorted(set(statuses))
    assert all(retry for status, retry, _ in results if status == 503)
    answered = {json.loads(raw)["trace_id"] for status, _, raw in results if status == 200}
    with psycopg.connect(pg_server.dsn, autocommit=True) as conn:
        logged = {row[0] for row in conn.execute("SELECT trace_id FROM replica_kb_state.answers")}
    assert answered <= logged                                  # every answer a customer got is in the log
    follow = second.json("POST", "/v1/answer", {"question": "那发票呢", "session_id": opened["session_id"]})
    assert not follow["new_session"]                           # the session outlived the restart


def _answering_again(replicas, deadline: float) -> bool:
    waiting = list(replicas)
    while waiting and time.monotonic() < deadline:
        waiting = [server for server in waiting
                   if server.call("POST", "/v1/answer", {"question": "下单后多久发货"}, CLIENT_KEY)[0] != 200]
        time.sleep(0.2)
    return not waiting
