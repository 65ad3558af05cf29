"""Who may call: client, admin and widget keys from the environment, compared in constant time
(the rate limits are service/limits.py)."""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

API_KEYS_ENV = "CS_RAG_API_KEYS"
ADMIN_KEYS_ENV = "CS_RAG_ADMIN_KEYS"
WIDGET_KEYS_ENV = "CS_RAG_WIDGET_KEYS"


class ApiKeys:
    """Client, admin and widget keys. A presented key is compared with every configured key in
    constant time (on SHA-256 digests, so not even its length leaks). Widget keys are public (a
    web page carries them): `widget` keeps them, for the demo page to show."""

    def __init__(self, client: Sequence[str] = (), admin: Sequence[str] = (),
                 widget: Sequence[str] = ()) -> None:
        self._digests = ([(_digest(k), "admin") for k in admin] + [(_digest(k), "client") for k in client]
                         + [(_digest(k), "widget") for k in widget])
        self.client_configured = bool(client)
        self.admin_configured = bool(admin)
        self.widget = list(widget)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> "ApiKeys":
        environ = os.environ if environ is None else environ
        return cls(_split_keys(environ.get(API_KEYS_ENV, "")), _split_keys(environ.get(ADMIN_KEYS_ENV, "")),
                   _split_keys(environ.get(WIDGET_KEYS_ENV, "")))

    def role(self, presented: str) -> str | None:
        """"admin", "client", "widget" or None for an unknown key."""
        digest = _digest(presented)
        found = None
        for known, role in self._digests:
            if hmac.compare_digest(digest, known) and found is None:
                found = role
        return found


def _split_keys(value: str) -> list[str]:
    return [k.strip() for k in value.split(",") if k.strip()]


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


def key_fingerprint(key: str) -> str:
    """What logs and review records show of a key."""
    return "key:" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]


@dataclass(frozen=True)
class Caller:
    role: str    # "admin", "client", "widget", or "anonymous" on open client routes
    id: str      # a key fingerprint, or "addr:<client address>" when anonymous
    address: str = "-"   # the client's address (service/limits.py: trusted proxies)
