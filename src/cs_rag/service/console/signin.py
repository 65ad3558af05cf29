"""Console sign-in: an admin key exchanged for a session cookie (HttpOnly, SameSite=Strict,
expiring), a CSRF token per session for every POST, and sign-out.

Sessions live in the state database, so an operator signed in on one replica stays signed in on
every other; the database keeps only a hash of each session's cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, replace
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from cs_rag.errors import ForbiddenPost, SignInRequired
from cs_rag.service.auth import key_fingerprint
from cs_rag.service.console.render import sign_in_page
from cs_rag.service.state import Service
from cs_rag.service.tenants import KB_PREFIX
from cs_rag.state import StateDatabase

COOKIE = "cs_rag_console"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
MAX_SESSIONS = 1000

router = APIRouter(prefix="/console", include_in_schema=False)

_MIGRATIONS = ["""
CREATE TABLE IF NOT EXISTS console_sessions (
    token_hash TEXT PRIMARY KEY,
    operator TEXT NOT NULL,
    csrf TEXT NOT NULL,
    expires REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS console_sessions_expires ON console_sessions(expires)
"""]


@dataclass(frozen=True)
class Operator:
    """A signed-in console user: the fingerprint of the admin key they signed in with, and
    where the console is: `root` "/kb/<name>" for a knowledge base served under that prefix,
    "" at the routes' own paths; `knowledge_bases` every one the service serves."""

    session: str
    id: str
    csrf: str
    expires: float
    root: str = ""
    knowledge_bases: tuple[str, ...] = ()


class ConsoleSessions:
    """Signed-in operators, each expiring `ttl_seconds` after sign-in; at most MAX_SESSIONS
    (the oldest sign-in goes first). Thread-safe."""

    def __init__(self, database: StateDatabase, ttl_seconds: float, clock=time.time) -> None:
        self.ttl = ttl_seconds
        self._db = database
        self._clock = clock
        database.migrate("console_sessions", _MIGRATIONS)

    def open(self, operator_id: str) -> Operator:
        now = self._clock()
        operator = Operator(secrets.token_urlsafe(32), operator_id, secrets.token_urlsafe(32), now + self.ttl)
        with self._db.transaction() as db:
            db.execute("DELETE FROM console_sessions WHERE expires <= ?", (now,))
            db.execute("DELETE FROM console_sessions WHERE token_hash NOT IN (SELECT token_hash FROM "
                       "console_sessions ORDER BY expires DESC LIMIT ?)", (MAX_SESSIONS - 1,))
            db.execute("INSERT INTO console_sessions (token_hash, operator, csrf, expires) VALUES (?, ?, ?, ?)",
                       (_hash(operator.session), operator.id, operator.csrf, operator.expires))
        return operator

    def get(self, session: str | None) -> Operator | None:
        if not session:
            return None
        with self._db.transaction() as db:
            row = db.execute("SELECT operator, csrf, expires FROM console_sessions WHERE token_hash = ? "
                             "AND expires > ?", (_hash(session), self._clock())).fetchone()
        return Operator(session, *row) if row else None

    def close(self, session: str) -> None:
        with self._db.transaction() as db:
            db.execute("DELETE FROM console_sessions WHERE token_hash = ?", (_hash(session),))


def _hash(session: str) -> str:
    return hashlib.sha256(session.encode("utf-8")).hexdigest()


def sessions_of(request: Request) -> ConsoleSessions:
    return request.app.state.console_sessions


def console_root(request: Request) -> str:
    """"/kb/<name>" when the knowledge base is served under that prefix, else ""."""
    return request.scope.get("root_path", "")


def cookie_name(root: str) -> str:
    """One cookie per knowledge base: a browser signed in to two sends both."""
    return COOKIE + root.replace("/kb/", "_")


def _signed_in(request: Request) -> Operator:
    root = console_root(request)
    operator = sessions_of(request).get(request.cookies.get(cookie_name(root)))
    if operator is None:
        raise SignInRequired(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    return replace(operator, root=root,
                   knowledge_bases=tuple(getattr(request.app.state, "knowledge_bases", ())))


async def _checked_post(request: Request) -> Operator:
    """The operator of a POST that carries the session's CSRF token (form field or header)
    and, when the browser names one, comes from the service's own origin."""
    operator = _signed_in(request)
    if not same_origin(request):
        raise ForbiddenPost("a console form must be sent from the console's own pages")
    presented = request.headers.get(CSRF_HEADER)
    if presented is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        presented = str((await request.form()).get(CSRF_FIELD, ""))
    if not presented or not hmac.compare_digest(presented.encode(), operator.csrf.encode()):
        raise ForbiddenPost("the form's security token is missing or stale: reload the page")
    return operator


def same_origin(request: Request) -> bool:
    origin = request.headers.get("origin") or request.headers.get("referer")
    if origin is None:
        return True
    parts = urlsplit(origin)
    return f"{parts.scheme}://{parts.netloc}" == f"{request.url.scheme}://{request.url.netloc}"


OperatorDep = Annotated[Operator, Depends(_signed_in)]
PostDep = Annotated[Operator, Depends(_checked_post)]


def safe_next(path: str | None, root: str = "") -> str:
    """Where to go after sign-in: a path of this console only (never another site)."""
    if path and path.startswith(root + "/console") and not path.startswith("//") and "\\" not in path:
        return path
    return root + "/console"


@router.post("/login")
def sign_in(request: Request, key: Annotated[str, Form(max_length=512)] = "",
            next_path: Annotated[str, Form(alias="next", max_length=2000)] = "/console") -> Response:
    service: Service = request.app.state.service
    root = console_root(request)
    if not same_origin(request):
        return sign_in_page(next_path, "请从本站登录 · Sign in from this site's own page", 403, root)
    if not key or service.keys.role(key) != "admin":
        return sign_in_page(next_path, _refusal(root), 401, root)
    operator = sessions_of(request).open(key_fingerprint(key))
    response = RedirectResponse(safe_next(next_path, root), status_code=303)
    response.set_cookie(cookie_name(root), operator.session, max_age=int(sessions_of(request).ttl), path="/",
                        httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return response


def _refusal(root: str) -> str:
    """What a refused key is told. Under /kb/<name> it names the knowledge base: a key scoped to
    another one is a good admin key there, and "not an admin key" alone would puzzle its holder."""
    name = root.removeprefix(KB_PREFIX + "/") if root.startswith(KB_PREFIX + "/") else None
    if name is None:
        return "管理员密钥无效 · That is not an admin key"
    return f"此密钥不能管理知识库 {name} · That is not an admin key of knowledge base {name}"


@router.post("/logout")
def sign_out(request: Request, operator: PostDep) -> Response:
    sessions_of(request).close(operator.session)
    response = RedirectResponse(operator.root + "/console", status_code=303)
    response.delete_cookie(cookie_name(operator.root), path="/", httponly=True, samesite="strict")
    return response


@router.get("/login")
def sign_in_form(request: Request, next_path: Annotated[str, Query(alias="next", max_length=2000)] = "/console") -> Response:
    root = console_root(request)
    if sessions_of(request).get(request.cookies.get(cookie_name(root))) is not None:
        return RedirectResponse(safe_next(next_path, root), status_code=303)
    return sign_in_page(safe_next(next_path, root), root=root)
