"""The HTTP service: answers (JSON or server-sent events), OpenAI-compatible chat, search,
reply suggestions, server-side sessions, the review queue and knowledge admin.

`create_app(index_dir, knowledge)` builds the FastAPI app; `serve(...)` (`cs-rag serve`) runs it
with uvicorn on 127.0.0.1 by default. The request and response bodies are cs_rag's pydantic
models; `/openapi.json` describes every route.

Keys come from the environment only: CS_RAG_API_KEYS (clients) and CS_RAG_ADMIN_KEYS (admins),
comma-separated, sent as `Authorization: Bearer KEY`. Client routes (answer, chat, search,
suggest, and Dify's `/retrieval`) take a client or an admin key, and are open when no client
key is configured. `/retrieval` answers its errors in Dify's body (`service/dify.py`). Admin
routes (reviews, knowledge, jobs) take an admin key only and are never open: a missing or
unknown key is 401, a client key 403. `/healthz` and `/metrics` need no key.

Knowledge: the index is always ingested from the same list of paths, the `knowledge` sources
given at start plus the service's own folder `<data_dir>/knowledge` (uploads, and FAQ entries
saved from reviews), because an ingest removes documents whose file disappeared from the
paths it is given. Ingests run one at a time on a worker thread; searches keep using the live
index version until the new one is switched in.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse

from cs_rag import __version__
from cs_rag.answering.assistant import Assistant
from cs_rag.config import Settings
from cs_rag.errors import IndexStoreError, InputError
from cs_rag.extras import require
from cs_rag.service.auth import ADMIN_KEYS_ENV, API_KEYS_ENV, ApiKeys
from cs_rag.service.console import install as install_console
from cs_rag.service.gate import Gate
from cs_rag.service.responses import unavailable
from cs_rag.service.routes import ROUTERS
from cs_rag.service.state import Service
from cs_rag.service.tenants import KB_PREFIX, knowledge_base_services

log = logging.getLogger("cs_rag.service")


async def _input_error(request: Request, exc: InputError) -> JSONResponse:
    return JSONResponse({"detail": [{"type": "value_error", "loc": ["body", exc.source], "msg": str(exc)}]},
                        status_code=422)


async def _store_error(request: Request, exc: IndexStoreError) -> JSONResponse:
    """503 with Retry-After for an index or database the service cannot use now (PostgreSQL
    down: DatabaseUnavailableError), never 500."""
    error = unavailable(exc)
    return JSONResponse({"detail": error.detail}, status_code=error.status_code, headers=error.headers)


def create_app(index_dir: str | Path, knowledge: Sequence[str | Path] = (), *,
               settings: Settings | None = None, data_dir: str | Path | None = None,
               keys: ApiKeys | None = None, assistant: Assistant | None = None) -> FastAPI:
    """The service over the index in `index_dir`, ingesting from `knowledge` (plus the
    service's own folder) whenever knowledge changes.

    `data_dir` (default `settings.service.data_dir`, else `<index_dir>.service`) holds the
    SQLite database (sessions, reviews) and the service's knowledge folder. `keys` default to
    CS_RAG_API_KEYS / CS_RAG_ADMIN_KEYS. Without an index, the first ingest starts at once
    and answer routes return 503 until it is live. Starts the ingest worker thread; the app's
    shutdown stops it.
    """
    settings = settings or Settings()
    index_dir = Path(index_dir)
    data_dir = Path(data_dir or settings.service.data_dir or f"{index_dir}.service")
    keys = keys if keys is not None else ApiKeys.from_environment()
    service = Service(index_dir, [Path(p) for p in knowledge], settings, data_dir, keys, assistant)
    _warn_about_keys(keys)
    return service_app(service, closing=[service])


def service_app(service: Service, closing: Sequence[Service] = ()) -> FastAPI:
    """The routes, console and middleware over one Service; the app's shutdown closes the
    services in `closing` (an app mounted under another is not shut down by itself)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        for each in closing:
            each.close()

    # FastAPI's own OpenTelemetry hooks would see request bodies (personal data): off
    app = FastAPI(title="cs_rag", version=__version__, lifespan=lifespan,
                  description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
                  telemetry={"auto_configure": False, "tracing": False, "metrics": False,
                             "logs": False, "operation_spans": False})
    app.state.service = service
    for router in ROUTERS:
        app.include_router(router)
    install_console(app)
    app.add_exception_handler(InputError, _input_error)
    app.add_exception_handler(IndexStoreError, _store_error)
    limits = service.limits
    origins = list(dict.fromkeys([*limits.cors_origins, *limits.widget_origins]))
    if origins:
        app.add_middleware(CORSMiddleware, allow_origins=origins,
                           allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["Authorization", "Content-Type"])
    app.add_middleware(Gate, service=service, routes=[route for router in ROUTERS for route in router.routes])
    return app


def create_tenant_app(settings: Settings, keys: ApiKeys | None = None) -> FastAPI:
    """Every knowledge base of `settings.knowledge_bases`, each its own app mounted at
    /kb/<name>; the first is also served at the routes' own paths. A key scoped to some
    knowledge bases is unknown to the others' apps (ApiKeys.for_knowledge_base)."""
    keys = keys if keys is not None else ApiKeys.from_environment()
    services = knowledge_base_services(settings, keys)
    names = list(services)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        for service in services.values():
            service.close()

    root = FastAPI(title="cs_rag", version=__version__, lifespan=lifespan, openapi_url=None,
                   telemetry={"auto_configure": False, "tracing": False, "metrics": False,
                              "logs": False, "operation_spans": False})
    apps = {name: service_app(service) for name, service in services.items()}
    for name, app in apps.items():
        app.state.knowledge_bases = names
        root.mount(f"{KB_PREFIX}/{name}", app)
    root.mount("", apps[names[0]])
    root.state.service, root.state.services = services[names[0]], services
    return root


def _warn_about_keys(keys: ApiKeys) -> None:
    if not keys.client_configured:
        log.warning("no client keys (%s): answer, chat, search, suggest and Dify's retrieval "
                    "are open to anyone who can reach this address", API_KEYS_ENV)
    if not keys.admin_configured:
        log.warning("no admin keys (%s): review and knowledge routes are closed (401)", ADMIN_KEYS_ENV)


def serve(index_dir: str | Path | None, knowledge: Sequence[str | Path] = (), *, host: str = "127.0.0.1",
          port: int = 8000, data_dir: str | Path | None = None, settings: Settings | None = None,
          log_level: str = "info") -> None:
    """Run the service with uvicorn until interrupted (uvicorn's own access log is off: the
    service writes one with personal data masked). Without `index_dir`, the knowledge bases of
    `settings.knowledge_bases` (service/tenants.py)."""
    uvicorn = require("uvicorn", "server", "cs-rag serve")

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if index_dir is None:
        settings = settings or Settings()
        keys = ApiKeys.from_environment()
        _warn_about_keys(keys)
        app = create_tenant_app(settings, keys)
    else:
        app = create_app(index_dir, knowledge, settings=settings, data_dir=data_dir)
    if not _loopback(host) and not app.state.service.keys.client_configured:
        log.warning("listening on %s without client keys: anyone on the network can ask", host)
    uvicorn.run(app, host=host, port=port, access_log=False, log_level=log_level,
                timeout_graceful_shutdown=5)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
