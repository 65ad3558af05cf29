"""Who may call: client, admin and widget keys from the environment, compared in constant time
(the rate limits are service/limits.py)."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

API_KEYS_ENV = "CS_RAG_API_KEYS"
ADMIN_KEYS_ENV = "CS_RAG_ADMIN_KEYS"
WIDGET_KEYS_ENV = "CS_RAG_WIDGET_KEYS"


class ApiKeys:
    """Client, admin and widget keys. A presented key is compared with every configured key in
    constant time (on SHA-256 digests, so not even its length leaks). Widget keys are public (a
    web page carries them): `widget` keeps them, for the demo page to show.

    A key may be scoped to knowledge bases: `shop_a:KEY` or `shop_a+shop_b:KEY` in the
    environment variable; an unscoped key serves every knowledge base. `scopes()` lists the
    names keys are scoped to; `for_knowledge_base(name)` keeps the keys that serve `name`."""

    def __init__(self, client: Sequence[str] = (), admin: Sequence[str] = (),
                 widget: Sequence[str] = ()) -> None:
        self._entries = ([(*_scoped(k), "admin") for k in admin] + [(*_scoped(k), "client") for k in client]
                         + [(*_scoped(k), "widget") for k in widget])
        self._digests = [(_digest(key), role) for _, key, role in self._entries]
        self.client_configured = bool(client)
        self.admin_configured = bool(admin)
        self.widget = [key for _, key, role in self._entries if role == "widget"]

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> ApiKeys:
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

    def scopes(self) -> set[str]:
        """Every knowledge base name a key is scoped to."""
        return {name for scope, _, _ in self._entries if scope for name in scope}

    def for_knowledge_base(self, name: str) -> ApiKeys:
        """The keys that serve knowledge base `name`: its scoped keys and the unscoped ones.
        A role none of whose keys serve `name` counts as configured still (its routes stay
        closed rather than opening)."""
        kept = {role: [key for scope, key, r in self._entries if r == role and (scope is None or name in scope)]
                for role in ("client", "admin", "widget")}
        keys = ApiKeys(kept["client"], kept["admin"], kept["widget"])
        keys.client_configured, keys.admin_configured = self.client_configured, self.admin_configured
        return keys


_SCOPE = re.compile(r"^([a-z][a-z0-9_-]{0,39}(?:\+[a-z][a-z0-9_-]{0,39})*):(.+)$")


def _scoped(entry: str) -> tuple[frozenset[str] | None, str]:
    """("shop_a+shop_b:KEY") -> ({"shop_a", "shop_b"}, "KEY"); an unscoped key -> (None, key)."""
    match = _SCOPE.match(entry)
    return (frozenset(match.group(1).split("+")), match.group(2)) if match else (None, entry)


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
