"""The outermost middleware: body limit, request metrics, masked access and error logs."""

from __future__ import annotations

import json
import logging
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from starlette.routing import Match

from cs_rag.guard import mask_pii
from cs_rag.service.dify import DIFY_PATH, error_body
from cs_rag.service.state import Service

log = logging.getLogger("cs_rag.service")


MULTIPART_OVERHEAD = 64 * 1024      # allowed on top of upload_max_bytes for the form around the file
CONSOLE_UPLOAD = "/console/knowledge/upload"   # the console's upload form (service/console/knowledge.py)
CONSOLE_QA_UPLOAD = "/console/qa/upload"       # conversations to inspect (service/console/quality.py)


class Gate:
    """Outermost middleware: the request body limit (413), request metrics, the access log
    (paths with personal data masked) and a masked log of any unhandled error (answered 500).
    Its own errors are in Dify's body on Dify's route."""

    def __init__(self, app: Any, service: Service, routes: Sequence[Any] = ()) -> None:
        self.app = app
        self.service = service
        self.routes = routes   # to name the route of a request answered before routing (413)

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 499, "sent": False}   # 499: the client went away before a response

        async def send_and_note(message: dict) -> None:
            if message["type"] == "http.response.start":
                status["code"], status["sent"] = message["status"], True
            await send(message)

        try:
            replay = await self._read_body(scope, receive, send_and_note)
            if replay is not None:
                await self.app(scope, replay, send_and_note)
        except Exception as exc:  # noqa: BLE001 - logged masked here, never by the server
            log_exception(exc)
            if not status["sent"]:
                await _send_error(send_and_note, scope, 500, "internal error; see the service log")
        finally:
            route = scope.get("route") or next(
                (r for r in self.routes if r.matches(scope)[0] is not Match.NONE), None)
            label = getattr(route, "path", None) or "unmatched"
            seconds = time.perf_counter() - started
            self.service.metrics.request(label, scope["method"], status["code"], seconds)
            state = scope.get("state") or {}
            query = scope.get("query_string", b"").decode("latin-1")
            log.info("%s %s %d %.1fms %s", scope["method"],
                     mask_pii(scope["path"] + (f"?{query}" if query else "")), status["code"],
                     seconds * 1000, state.get("caller", "-"))

    async def _read_body(self, scope: dict, receive: Callable, send: Callable) -> Callable | None:
        """A receive that replays the whole body, or None after answering 413 (or when the
        client went away)."""
        limits, path = self.service.limits, route_path(scope)
        if scope["method"] == "POST" and path in ("/v1/knowledge", CONSOLE_UPLOAD, CONSOLE_QA_UPLOAD):
            limit = limits.upload_max_bytes + MULTIPART_OVERHEAD
        elif scope["method"] == "POST" and path == "/v1/qa":   # batches of conversations
            limit = limits.upload_max_bytes
        else:
            limit = limits.max_body_bytes
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _send_error(send, scope, 413, f"the request body is larger than {limit} bytes")
            return None
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _send_error(send, scope, 413, f"the request body is larger than {limit} bytes")
                return None
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        delivered = False

        async def replay() -> dict:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()
        return replay


async def _send_error(send: Callable, scope: dict, status: int, message: str) -> None:
    """The error in the body of the route's contract: Dify's on Dify's route, else `detail`."""
    payload = error_body(status, message) if route_path(scope) == DIFY_PATH else {"detail": message}
    body = json.dumps(payload).encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def route_path(scope: dict) -> str:
    """The request's path within this app: without the /kb/<name> prefix of a knowledge base
    mounted under it (service/tenants.py)."""
    return scope["path"].removeprefix(scope.get("root_path", ""))


def log_exception(exc: BaseException) -> None:
    text = "".join(traceback.format_exception(exc))
    log.error("unhandled error: %s", mask_pii(text))


