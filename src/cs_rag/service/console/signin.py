"""Console sign-in: an admin key exchanged for a session cookie (HttpOnly, SameSite=Strict,
expiring), a CSRF token per session for every POST, and sign-out.

Sessions live in the service process's memory: a restart signs everyone out, which is the
safe side for a tool that holds admin rights.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from cs_rag.errors import ForbiddenPost, SignInRequired
from cs_rag.service.auth import key_fingerprint
from cs_rag.service.console.render import sign_in_page
from cs_rag.service.state import Service

COOKIE = "cs_rag_console"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
MAX_SESSIONS = 1000

router = APIRouter(prefix="/console", include_in_schema=False)


@dataclass(frozen=True)
class Operator:
    """A signed-in console user: the fingerprint of the admin key they signed in with."""

    session: str
    id: str
    csrf: str
    expires: float


class ConsoleSessions:
    """Signed-in operators by session id, each expiring `ttl_seconds` after sign-in. Thread-safe."""

    def __init__(self, ttl_seconds: float, clock=time.time) -> None:
        self.ttl = ttl_seconds
        self._clock = clock
        self._sessions: dict[str, Operator] = {}
        self._lock = threading.Lock()

    def open(self, operator_id: str) -> Operator:
        now = self._clock()
        operator = Operator(secrets.token_urlsafe(32), operator_id, secrets.token_urlsafe(32), now + self.ttl)
        with self._lock:
            self._sessions = {k: v for k, v in self._sessions.items() if v.expires > now}
            if len(self._sessions) >= MAX_SESSIONS:   # the oldest sign-in goes first
                del self._sessions[min(self._sessions, key=lambda k: self._sessions[k].expires)]
            self._sessions[operator.session] = operator
        return operator

    def get(self, session: str | None) -> Operator | None:
        if not session:
            return None
        with self._lock:
            operator = self._sessions.get(session)
            if operator is not None and operator.expires <= self._clock():
                del self._sessions[session]
                return None
        return operator

    def close(self, session: str) -> None:
        with self._lock:
            self._sessions.pop(session, None)


def sessions_of(request: Request) -> ConsoleSessions:
    return request.app.state.console_sessions


def _signed_in(request: Request) -> Operator:
    operator = sessions_of(request).get(request.cookies.get(COOKIE))
    if operator is None:
        raise SignInRequired(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    return operator


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


def safe_next(path: str | None) -> str:
    """Where to go after sign-in: a console path only (never another site)."""
    if path and path.startswith("/console") and not path.startswith("//") and "\\" not in path:
        return path
    return "/console"


@router.post("/login")
def sign_in(request: Request, key: Annotated[str, Form(max_length=512)] = "",
            next_path: Annotated[str, Form(alias="next", max_length=2000)] = "/console") -> Response:
    service: Service = request.app.state.service
    if not same_origin(request):
        return sign_in_page(next_path, "请从本站登录 · Sign in from this site's own page", 403)
    if not key or service.keys.role(key) != "admin":
        return sign_in_page(next_path, "管理员密钥无效 · That is not an admin key", 401)
    operator = sessions_of(request).open(key_fingerprint(key))
    response = RedirectResponse(safe_next(next_path), status_code=303)
    response.set_cookie(COOKIE, operator.session, max_age=int(sessions_of(request).ttl), path="/",
                        httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return response


@router.post("/logout")
def sign_out(request: Request, operator: PostDep) -> Response:
    sessions_of(request).close(operator.session)
    response = RedirectResponse("/console", status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response


@router.get("/login")
def sign_in_form(request: Request, next_path: Annotated[str, Query(alias="next", max_length=2000)] = "/console") -> Response:
    if sessions_of(request).get(request.cookies.get(COOKIE)) is not None:
        return RedirectResponse(safe_next(next_path), status_code=303)
    return sign_in_page(safe_next(next_path))
