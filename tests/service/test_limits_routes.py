"""The client routes' rate limits and a database outage, in process through TestClient: a key
limit and a limit per end customer (session, OpenAI's `user`, the client's address, from a
trusted proxy's header only), and 503 with Retry-After when PostgreSQL cannot be reached."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from helpers import service_client

from cs_rag.errors import DatabaseUnavailableError

pytestmark = pytest.mark.slow   # a small index with the real embedding model

KEYS = [f"client-key-limits-{n}" for n in range(7)]
ROUTE_KEYS = [f"client-key-limits-route-{n}" for n in range(5)]   # one per route below
ADMIN = "admin-key-limits"
KEY_BURST, CUSTOMER_BURST = 12, 3
PROXY = "10.0.0.5"


@pytest.fixture(scope="module")
def client(tmp_path_factory, settings):
    # a token a minute: nothing refills during the test
    service = settings.service.model_copy(update={
        "rate_limit_per_minute": 1, "rate_limit_burst": KEY_BURST, "customer_rate_limit_per_minute": 1,
        "customer_rate_limit_burst": CUSTOMER_BURST, "trusted_proxies": ["10.0.0.0/8"]})
    with service_client(tmp_path_factory.mktemp("limits"), settings.model_copy(update={"service": service}),
                        KEYS + ROUTE_KEYS, [ADMIN]) as client:
        yield client


def _as(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _ask(client: TestClient, key: str, session: str) -> int:
    return client.post("/v1/answer", json={"question": "发票怎么开", "session_id": session},
                       headers=_as(key)).status_code


def test_each_session_has_its_own_limit_within_the_key(client):
    assert [_ask(client, KEYS[0], "s-1") for _ in range(CUSTOMER_BURST)] == [200] * CUSTOMER_BURST
    over = client.post("/v1/answer", json={"question": "发票怎么开", "session_id": "s-1"}, headers=_as(KEYS[0]))
    assert over.status_code == 429 and over.headers["x-ratelimit-scope"] == "customer"
    assert int(over.headers["retry-after"]) >= 1 and "customer rate limit" in over.json()["detail"]
    assert _ask(client, KEYS[0], "s-2") == 200
    assert _ask(client, KEYS[1], "s-1") == 200   # the same session id under another key


def test_the_key_limit_holds_however_many_customers(client):
    codes = [_ask(client, KEYS[2], f"many-{n}") for n in range(KEY_BURST + 2)]
    assert codes == [200] * KEY_BURST + [429] * 2
    over = client.post("/v1/search", json={"query": "发票"}, headers=_as(KEYS[2]))
    assert over.status_code == 429 and over.headers["x-ratelimit-scope"] == "key"
    metrics = client.get("/metrics").text
    assert 'cs_rag_rate_limited_total{limit="key"}' in metrics
    assert 'cs_rag_rate_limited_total{limit="customer"}' in metrics


def test_one_customers_refused_flood_leaves_the_key_to_the_others(client):
    flood = [_ask(client, KEYS[6], "flooding") for _ in range(CUSTOMER_BURST + 20)]
    assert flood.count(200) == CUSTOMER_BURST and flood.count(429) == 20
    others = [_ask(client, KEYS[6], f"other-{n}") for n in range(KEY_BURST - CUSTOMER_BURST + 1)]
    assert others == [200] * (KEY_BURST - CUSTOMER_BURST) + [429]


def test_openai_user_names_the_customer_of_a_chat_completion(client):
    def chat(user: str) -> int:
        body = {"messages": [{"role": "user", "content": "什么时候发货"}], "user": user}
        return client.post("/v1/chat/completions", json=body, headers=_as(KEYS[3])).status_code
    assert [chat("u-1") for _ in range(CUSTOMER_BURST + 1)] == [200] * CUSTOMER_BURST + [429]
    assert chat("u-2") == 200


_ROUTES = {
    "search": lambda c, h: c.post("/v1/search", json={"query": "发票"}, headers=h),
    "suggest": lambda c, h: c.post("/v1/suggest", json={"question": "发票"}, headers=h),
    "models": lambda c, h: c.get("/v1/models", headers=h),
    "feedback": lambda c, h: c.post("/v1/feedback", json={"answer_id": "no-such-answer", "helpful": True},
                                    headers=h),
    "retrieval": lambda c, h: c.post("/retrieval", json={"knowledge_id": "default", "query": "发票",
                                                         "retrieval_setting": {"top_k": 3, "score_threshold": 0}},
                                     headers=h)}


@pytest.mark.parametrize("number, route", list(enumerate(_ROUTES)))
def test_a_request_naming_no_customer_counts_for_the_clients_address(client, number, route):
    peer = TestClient(client.app, client=(f"198.51.100.{number + 1}", 4711))
    responses = [_ROUTES[route](peer, _as(ROUTE_KEYS[number])) for _ in range(CUSTOMER_BURST + 1)]
    assert 429 not in [r.status_code for r in responses[:CUSTOMER_BURST]]
    assert responses[-1].status_code == 429 and responses[-1].headers["x-ratelimit-scope"] == "customer"


def test_forwarded_addresses_count_only_from_a_trusted_proxy(client):
    proxy = TestClient(client.app, client=(PROXY, 4711))

    def search(through: TestClient, forwarded: str) -> int:
        return through.post("/v1/search", json={"query": "发票"},
                            headers={**_as(KEYS[5]), "X-Forwarded-For": forwarded}).status_code
    assert [search(proxy, "203.0.113.1") for _ in range(CUSTOMER_BURST + 1)] == [200] * CUSTOMER_BURST + [429]
    assert search(proxy, "203.0.113.2") == 200   # another customer behind the proxy
    # from an untrusted peer a new address in each header escapes nothing: the peer is the customer
    spoofer = TestClient(client.app, client=("198.51.100.251", 4711))
    codes = [search(spoofer, f"203.0.113.{n}") for n in range(10, 10 + CUSTOMER_BURST + 1)]
    assert codes == [200] * CUSTOMER_BURST + [429]


def test_an_unreachable_database_is_503_with_retry_after(client, monkeypatch):
    def down(*args, **kwargs):
        raise DatabaseUnavailableError("cannot connect to PostgreSQL at db.internal:5432/cs schema x")
    knowledge_base = client.app.state.service.knowledge_base
    monkeypatch.setattr(knowledge_base, "search", down)
    monkeypatch.setattr(knowledge_base, "retrieve", down)
    headers = _as(ADMIN)   # an admin key passes the client routes' limits too, on a bucket of its own
    for response in (client.post("/v1/search", json={"query": "发票"}, headers=headers),
                     client.post("/v1/answer", json={"question": "发票怎么开"}, headers=headers)):
        assert response.status_code == 503 and response.headers["retry-after"] == "10"
        assert response.json() == {"detail": "the database is unreachable; retry in 10 s"}
    dify = client.post("/retrieval", json={"knowledge_id": "default", "query": "发票",
                                           "retrieval_setting": {"top_k": 3, "score_threshold": 0}},
                       headers=headers)
    assert dify.status_code == 503 and dify.headers["retry-after"] == "10"
    assert dify.json()["error_code"] == 503 and "database is unreachable" in dify.json()["error_msg"]
