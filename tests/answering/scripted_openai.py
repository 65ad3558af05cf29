"""A scripted chat-completions test double: an OpenAI-shaped HTTP server whose replies follow a script.

    with ScriptedOpenAI(["500", "ok:三到五个工作日"]) as api:
        client = openai.OpenAI(base_url=api.base_url, api_key="sk-test")
        ...
        assert api.requests[-1].body["messages"][-1]["content"] == "退款多久到账"

Each POST to /v1/chat/completions consumes the next step of the script, whatever the request
asks for (so a test can also script a protocol mismatch). Steps:

    "ok:<content>"      200, a chat.completion whose one choice says <content>
    "stream:<content>"  200, Server-Sent Events: a role chunk, one chunk per character of
                        <content>, a finish chunk, then `data: [DONE]`
    "<status>"          that HTTP error (400-599) with an OpenAI error body; "429" also
                        sends `Retry-After: 0`
    "timeout"           no reply for `hang_seconds` (longer than the client's timeout), then
                        the connection is closed; leaving the `with` block ends the wait
    "malformed"         200 with a body that is not JSON
    "empty"             200, a chat.completion with `choices: []`
    "cut"               200, a stream that sends the role chunk and two content chunks of
                        "部分回答", then closes the connection mid-body (chunked encoding,
                        no terminating chunk, no [DONE]): httpx sees an incomplete read

A request after the script is used up gets a 500 naming it. GET /v1/models lists "scripted"
and, like every request, is recorded but consumes no step. Every request is recorded in
`requests` (method, path, lower-cased headers, JSON body or raw text) before it is answered.
The server binds 127.0.0.1 on a free port and runs in a background thread.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

_FIXED_STEPS = {"timeout", "malformed", "empty", "cut"}
CUT_TEXT = "部分回答"


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the double received it."""

    method: str
    path: str
    headers: dict[str, str]          # names lower-cased
    body: Any                        # parsed JSON, or the raw text when it is not JSON


def _check_step(step: str) -> str:
    if step in _FIXED_STEPS or step.startswith(("ok:", "stream:")):
        return step
    if step.isdigit() and 400 <= int(step) <= 599:
        return step
    raise ValueError(f"unknown script step {step!r}: use ok:<content>, stream:<content>, a 4xx/5xx status, "
                     f"{', '.join(sorted(_FIXED_STEPS))}")


class ScriptedOpenAI:
    """The double; see the module docstring for the script language."""

    def __init__(self, script: Iterable[str], *, hang_seconds: float = 5.0) -> None:
        self._steps = deque(_check_step(step) for step in script)
        self.hang_seconds = hang_seconds
        self.requests: list[RecordedRequest] = []
        self.base_url = ""
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def unused(self) -> list[str]:
        """The steps no request has consumed yet."""
        with self._lock:
            return list(self._steps)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        """The recorded POSTs to /v1/chat/completions, in order."""
        return [r for r in self.requests if r.method == "POST" and r.path == "/v1/chat/completions"]

    def __enter__(self) -> ScriptedOpenAI:
        double = self

        class Handler(_Handler):
            owner = double

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        port = self._server.server_address[1]
        self.base_url = f"http://127.0.0.1:{port}/v1"
        # A short poll interval: shutdown() waits up to one interval.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,),
                                        name="scripted-openai", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _record(self, request: RecordedRequest, consume: bool) -> str | None:
        with self._lock:
            self.requests.append(request)
            if not consume:
                return None
            return self._steps.popleft() if self._steps else ""


def _completion(content: str, model: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-scripted", "object": "chat.completion", "created": int(time.time()), "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": len(content), "total_tokens": 10 + len(content)},
    }


def _chunk(delta: dict[str, Any], model: str, finish: str | None = None) -> dict[str, Any]:
    return {"id": "chatcmpl-scripted", "object": "chat.completion.chunk", "created": int(time.time()),
            "model": model, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


class _Handler(BaseHTTPRequestHandler):
    owner: ScriptedOpenAI
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        self._receive(consume=False)
        if self.path.rstrip("/") == "/v1/models":
            self._json(200, {"object": "list", "data": [{"id": "scripted", "object": "model", "created": 0,
                                                          "owned_by": "tests"}]})
        else:
            self._error(404, "not found")

    def do_POST(self) -> None:
        is_chat = self.path.rstrip("/") == "/v1/chat/completions"
        request, step = self._receive(consume=is_chat)
        if not is_chat:
            self._error(404, "not found")
            return
        model = request.body.get("model", "scripted") if isinstance(request.body, dict) else "scripted"
        if step == "":
            self._error(500, f"scripted double: no script step left for request {len(self.owner.chat_requests)}")
        elif step.startswith("ok:"):
            self._json(200, _completion(step[3:], model))
        elif step.startswith("stream:"):
            self._stream([_chunk({"content": char}, model) for char in step[7:]], model, complete=True)
        elif step == "cut":
            self._stream([_chunk({"content": part}, model) for part in (CUT_TEXT[:2], CUT_TEXT[2:])], model,
                         complete=False)
        elif step == "empty":
            self._json(200, {**_completion("", model), "choices": []})
        elif step == "malformed":
            self._raw(200, b'{"choices": [{"message": ', "application/json")
        elif step == "timeout":
            self.owner._stopping.wait(self.owner.hang_seconds)
            self.close_connection = True
        else:
            status = int(step)
            headers = {"Retry-After": "0"} if status == 429 else {}
            self._error(status, f"scripted {status}", headers)

    def _receive(self, consume: bool) -> tuple[RecordedRequest, str | None]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        try:
            body: Any = json.loads(raw) if raw else None
        except json.JSONDecodeError:
            body = raw
        request = RecordedRequest(self.command, self.path.split("?", 1)[0],
                                  {k.lower(): v for k, v in self.headers.items()}, body)
        return request, self.owner._record(request, consume)

    def _stream(self, chunks: list[dict[str, Any]], model: str, *, complete: bool) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        events = [_chunk({"role": "assistant", "content": ""}, model), *chunks]
        if complete:
            events.append(_chunk({}, model, finish="stop"))
        for event in events:
            self._write_chunk(f"data: {json.dumps(event, ensure_ascii=False)}\n\n".encode())
        if complete:
            self._write_chunk(b"data: [DONE]\n\n")
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.close_connection = True
        self.wfile.flush()

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        body = {"error": {"message": message, "type": "scripted_error", "param": None, "code": status}}
        self._json(status, body, headers)

    def _json(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        self._raw(status, json.dumps(body, ensure_ascii=False).encode(), "application/json", headers)

    def _raw(self, status: int, payload: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)
