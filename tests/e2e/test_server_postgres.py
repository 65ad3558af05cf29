"""Two service processes on one PostgreSQL knowledge base see each other's updates.

Uses the session's PostgreSQL + pgvector (conftest.py `pg_server`) and starts two real uvicorn
servers with `index.backend = postgres` on the same schema.
"""

from __future__ import annotations

import json

import pytest

from helpers import FAQ, write_jsonl
from servers import ADMIN_KEY, CLIENT_KEY, start, stop

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

NEW_ENTRY = {"id": "f-gift-card", "question": "礼品卡可以转赠给朋友吗",
             "similar_questions": ["礼品卡能送人吗"], "answer": "未绑定的礼品卡可以转赠，绑定后仅限本人使用。",
             "category": "支付"}


def test_two_services_share_one_postgres_knowledge_base(tmp_path, pg_server):
    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    write_jsonl(knowledge / "faq.jsonl", FAQ)
    env = {"CS_RAG_INDEX_BACKEND": "postgres", "CS_RAG_PG_DSN": pg_server.dsn,
           "CS_RAG_INDEX_PG_SCHEMA": "shop_kb", "CS_RAG_API_KEYS": CLIENT_KEY,
           "CS_RAG_ADMIN_KEYS": ADMIN_KEY}
    first = start(tmp_path, "pg-a", tmp_path / "kb", knowledge, env)
    try:
        second = start(tmp_path, "pg-b", tmp_path / "kb", knowledge, env)
        try:
            answer = second.json("POST", "/v1/answer", {"question": "退款多久到账"})
            assert answer["outcome"] == "answered" and answer["citations"][0]["id"] == "f-refund"
            health = json.loads(second.call("GET", "/healthz")[2])
            assert health["ready"] and health["documents"] == len(FAQ)

            status, upload = first.upload("gift.jsonl", json.dumps(NEW_ENTRY, ensure_ascii=False).encode())
            assert status == 202, upload
            assert first.wait_job(upload["job"]["id"])["status"] == "done"

            hits = second.json("POST", "/v1/search", {"query": "礼品卡能不能送给别人", "k": 3})
            assert hits["hits"][0]["id"] == "f-gift-card"
            assert json.loads(second.call("GET", "/healthz")[2])["documents"] == len(FAQ) + 1
        finally:
            stop(second)
    finally:
        stop(first)
