"""The operator console (/console) and the chat widget (/widget.js, /demo): server-rendered
pages over the service's own parts, signed in with an admin key (signin), one module per area.

`install(app)` adds their routes (left out of the OpenAPI document: they are pages, not the
API), the static files and the sign-in handling."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles

from cs_rag.service.console import (
    conversations,
    dashboard,
    hittest,
    knowledge,
    learning,
    quality,
    reviews,
    settings_page,
    signin,
    widget,
)
from cs_rag.service.console.render import STATIC, sign_in_page
from cs_rag.errors import ForbiddenPost, SignInRequired
from cs_rag.service.console.signin import ConsoleSessions, console_root
from cs_rag.service.gate import route_path

ROUTERS = [signin.router, dashboard.router, conversations.router, reviews.router, learning.router,
           quality.router, knowledge.router, hittest.router, settings_page.router, widget.router]


def install(app: FastAPI) -> None:
    settings = app.state.service.limits
    app.state.console_sessions = ConsoleSessions(app.state.service.database,
                                                 settings.console_session_minutes * 60)
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")
    app.add_exception_handler(SignInRequired, _sign_in)
    app.add_exception_handler(ForbiddenPost, _forbidden)


async def _sign_in(request: Request, exc: SignInRequired) -> Response:
    status = 200 if route_path(request.scope) in ("/console", "/console/") else 401
    return sign_in_page(exc.next_path, exc.message, status, console_root(request))


async def _forbidden(request: Request, exc: ForbiddenPost) -> Response:
    return PlainTextResponse(str(exc), status_code=403)
