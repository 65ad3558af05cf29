"""Rate limits of the client routes: a token bucket per key, per end customer within a key and
per widget visitor, and who the client is when the service sits behind proxies.

The buckets live in this process's memory, so **limits are per replica**: behind a load
balancer over N replicas a key may make N times `rate_limit_per_minute` requests. That is the
chosen trade: a shared count (in PostgreSQL or elsewhere) would put a round trip to another
server in front of every request, and make every request fail when that server does. Size the
limits per replica (docs/service.md#limits).
"""

from __future__ import annotations

import hashlib
import ipaddress
import threading
import time
from collections.abc import Callable
from enum import StrEnum

from starlette.requests import HTTPConnection

from cs_rag.config import ServiceSettings


class Limit(StrEnum):
    """Which limit a request is over; what a 429 and the metrics name."""

    KEY = "key"             # all requests of one key (or one address, when no client key is set)
    CUSTOMER = "customer"   # one end customer of a key
    WIDGET = "widget"       # one visitor of a page carrying a widget key


class TokenBuckets:
    """A token bucket per caller: `burst` requests at once, refilled at `per_minute`.
    `per_minute` 0 turns limiting off. Thread-safe."""

    MAX_BUCKETS = 10000

    def __init__(self, per_minute: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.rate = per_minute / 60.0
        self.burst = burst
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}   # caller -> (tokens, updated)
        self._lock = threading.Lock()

    def take(self, caller: str) -> float:
        """0 if the request may proceed, else the seconds until it may."""
        if self.rate <= 0:
            return 0.0
        now = self._clock()
        with self._lock:
            tokens, updated = self._buckets.get(caller, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - updated) * self.rate)
            if tokens >= 1.0:
                self._buckets[caller] = (tokens - 1.0, now)
                if len(self._buckets) > self.MAX_BUCKETS:
                    self._forget_full(now)
                return 0.0
            self._buckets[caller] = (tokens, now)
            return (1.0 - tokens) / self.rate

    def give_back(self, caller: str) -> None:
        """Return the token of a request that was refused after all (never above `burst`)."""
        with self._lock:
            if caller in self._buckets:
                tokens, updated = self._buckets[caller]
                self._buckets[caller] = (min(float(self.burst), tokens + 1.0), updated)

    def _forget_full(self, now: float) -> None:
        # a bucket that has refilled completely behaves exactly like a new one
        full = [c for c, (t, u) in self._buckets.items() if t + (now - u) * self.rate >= self.burst]
        for caller in full:
            del self._buckets[caller]


class RateLimits:
    """The three limits of `[service]`, and the client's address by its `trusted_proxies`."""

    def __init__(self, settings: ServiceSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self._buckets = {
            Limit.KEY: TokenBuckets(settings.rate_limit_per_minute, settings.rate_limit_burst, clock),
            Limit.CUSTOMER: TokenBuckets(settings.customer_rate_limit_per_minute,
                                         settings.customer_rate_limit_burst, clock),
            Limit.WIDGET: TokenBuckets(settings.widget_rate_limit_per_minute,
                                       settings.widget_rate_limit_burst, clock)}
        self._trusted = [ipaddress.ip_network(n, strict=False) for n in settings.trusted_proxies]
        self._header = settings.forwarded_header

    def take(self, limit: Limit, who: str) -> float:
        """0 if `who` may make one more request under `limit`, else the seconds until it may."""
        return self._buckets[limit].take(who)

    def give_back(self, limit: Limit, who: str) -> None:
        """Undo one `take` of a request refused by another limit."""
        self._buckets[limit].give_back(who)

    def describe(self, limit: Limit) -> str:
        buckets = self._buckets[limit]
        return f"{buckets.per_minute:g} a minute, {buckets.burst} at once, per replica"

    def client_address(self, request: HTTPConnection) -> str:
        """The client's address: the peer's, unless the peer is a trusted proxy; then, walking
        the forwarding header from its right end (the entry the peer itself added), the first
        address that is not a trusted proxy. Entries left of it were written by the client and
        are never read, so a client cannot choose its address by sending the header itself."""
        address = request.client.host if request.client else "-"
        if not self._trusted:
            return address
        hops = _forwarded_for(",".join(request.headers.getlist(self._header)), self._header)
        while hops and self._is_trusted(address):
            address = hops.pop()
        return address

    def _is_trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self._trusted)


def _forwarded_for(value: str, header: str) -> list[str]:
    """The addresses of an X-Forwarded-For value, or the `for=` of a Forwarded (RFC 7239) one,
    client first; ports and brackets removed."""
    if header == "forwarded":
        found = []
        for element in value.split(","):
            for pair in element.split(";"):
                name, _, node = pair.strip().partition("=")
                if name.strip().lower() == "for":
                    found.append(node.strip().strip('"'))
        entries = found
    else:
        entries = [part.strip() for part in value.split(",")]
    return [_host(entry) for entry in entries if entry]


def _host(node: str) -> str:
    """'[2001:db8::1]:4711' -> '2001:db8::1', '192.0.2.1:80' -> '192.0.2.1'; others unchanged."""
    if node.startswith("["):
        return node[1:].partition("]")[0]
    if node.count(":") == 1:
        return node.partition(":")[0]
    return node


def customer_bucket(key: str, customer: str) -> str:
    """The bucket of an end customer of a key; a digest, so that a long identity a client sends
    costs no more memory than a short one."""
    return key + "|" + hashlib.blake2b(customer.encode("utf-8"), digest_size=12).hexdigest()
