"""The rate limits' parts without a server: who the client is behind proxies, the key and
customer buckets, the settings and the metric (tests/service/test_limits_routes.py: the routes)."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from cs_rag.config import ServiceSettings, load_settings
from cs_rag.errors import ConfigError
from cs_rag.service.limits import Limit, RateLimits, customer_bucket
from cs_rag.service.metrics import Metrics


def _request(peer: str, *headers: tuple[str, str]) -> Request:
    return Request({"type": "http", "client": (peer, 4711),
                    "headers": [(k.lower().encode(), v.encode()) for k, v in headers]})


def _limits(**settings) -> RateLimits:
    return RateLimits(ServiceSettings(**settings))


def test_without_trusted_proxies_the_forwarding_headers_are_ignored():
    limits = _limits()
    spoofed = _request("198.51.100.7", ("X-Forwarded-For", "203.0.113.9"), ("Forwarded", "for=203.0.113.9"))
    assert limits.client_address(spoofed) == "198.51.100.7"


def test_a_trusted_proxys_header_is_read_from_its_right_end():
    limits = _limits(trusted_proxies=["10.0.0.0/8", "192.168.1.1"])
    # the client wrote "6.6.6.6" itself; 192.168.1.1 is an inner trusted proxy
    chain = _request("10.1.2.3", ("X-Forwarded-For", "6.6.6.6, 203.0.113.9:5123, 192.168.1.1"))
    assert limits.client_address(chain) == "203.0.113.9"
    two_lines = _request("10.1.2.3", ("X-Forwarded-For", "6.6.6.6"), ("X-Forwarded-For", "203.0.113.10"))
    assert limits.client_address(two_lines) == "203.0.113.10"
    assert limits.client_address(_request("10.1.2.3")) == "10.1.2.3"   # no header: the proxy itself
    untrusted = _request("198.51.100.7", ("X-Forwarded-For", "203.0.113.9"))
    assert limits.client_address(untrusted) == "198.51.100.7"


def test_the_forwarded_header_is_read_only_when_configured():
    header = ("Forwarded", 'for=6.6.6.6, for="[2001:db8:cafe::17]:4711";proto=https')
    both = _request("10.0.0.2", header, ("X-Forwarded-For", "203.0.113.9"))
    assert _limits(trusted_proxies=["10.0.0.2"], forwarded_header="Forwarded").client_address(both) == \
        "2001:db8:cafe::17"
    assert _limits(trusted_proxies=["10.0.0.2"]).client_address(both) == "203.0.113.9"


def test_key_and_customer_buckets_are_separate_and_customers_are_counted_per_key():
    now = [0.0]
    limits = RateLimits(ServiceSettings(rate_limit_per_minute=60, rate_limit_burst=4,
                                        customer_rate_limit_per_minute=60, customer_rate_limit_burst=2),
                        clock=lambda: now[0])
    one, other = customer_bucket("key:a", "session:s1"), customer_bucket("key:b", "session:s1")
    assert one != other and len(customer_bucket("key:a", "user:" + "x" * 5000)) == len(one)
    assert [limits.take(Limit.CUSTOMER, one) for _ in range(3)] == [0.0, 0.0, pytest.approx(1.0)]
    assert limits.take(Limit.CUSTOMER, other) == 0.0
    assert [limits.take(Limit.KEY, "key:a") for _ in range(5)][-1] == pytest.approx(1.0)
    limits.give_back(Limit.KEY, "key:a")   # a request the customer limit refused
    assert limits.take(Limit.KEY, "key:a") == 0.0 and limits.take(Limit.KEY, "key:a") > 0
    limits.give_back(Limit.KEY, "key:new")   # never more than a burst
    assert [limits.take(Limit.KEY, "key:new") for _ in range(5)][-1] > 0
    now[0] = 1.0   # a second refills one of each
    assert limits.take(Limit.CUSTOMER, one) == 0.0 and limits.take(Limit.KEY, "key:a") == 0.0
    assert limits.describe(Limit.CUSTOMER) == "60 a minute, 2 at once, per replica"


def test_proxy_settings_from_the_environment_and_bad_ones_named():
    settings = load_settings(None, {"CS_RAG_SERVICE_TRUSTED_PROXIES": "10.0.0.0/8, 2001:db8::1",
                                    "CS_RAG_SERVICE_FORWARDED_HEADER": "Forwarded"})
    assert settings.service.trusted_proxies == ["10.0.0.0/8", "2001:db8::1"]
    assert settings.service.forwarded_header == "forwarded"
    with pytest.raises(ConfigError, match="CS_RAG_SERVICE_TRUSTED_PROXIES.*'proxy.example' is not an IP address"):
        load_settings(None, {"CS_RAG_SERVICE_TRUSTED_PROXIES": "proxy.example"})
    with pytest.raises(ConfigError, match="CS_RAG_SERVICE_FORWARDED_HEADER"):
        load_settings(None, {"CS_RAG_SERVICE_FORWARDED_HEADER": "X-Real-IP"})


def test_429s_are_counted_by_limit():
    metrics = Metrics()
    for limit in (Limit.CUSTOMER, Limit.CUSTOMER, Limit.KEY):
        metrics.limited(limit.value)
    text = metrics.render({})
    assert 'cs_rag_rate_limited_total{limit="customer"} 2' in text
    assert 'cs_rag_rate_limited_total{limit="key"} 1' in text
