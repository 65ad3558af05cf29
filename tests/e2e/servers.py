"""Real service processes for the end-to-end tests: `cs-rag serve` (uvicorn) on a free
127.0.0.1 port, spoken to over HTTP, and the settings the shared servers of conftest.py run with."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

CLIENT_KEY = "client-key-0123456789"
ADMIN_KEY = "admin-key-0123456789"
CORS_ORIGIN = "https://desk.example"
MAX_QUESTION_CHARS = 500
MAX_BODY_BYTES = 32768
UPLOAD_MAX_BYTES = 100_000
B_TTL_MINUTES = 0.03        # 1.8 s
B_BURST = 5
READY_SECONDS = 180


@dataclass
class Server:
    url: str
    port: int
    process: subprocess.Popen
    log: Path
    data_dir: Path | None = None     # None for several knowledge bases: each names its own
    index_dir: Path | None = None

    def call(self, method: str, path: str, body: dict | bytes | None = None, key: str | None = None,
             headers: dict[str, str] | None = None, timeout: float = 60) -> tuple[int, dict, bytes]:
        """(status, headers, body) of one request; never raises for HTTP errors."""
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        request = urllib.request.Request(self.url + path, data=data, method=method)
        if isinstance(body, dict):
            request.add_header("Content-Type", "application/json")
        if key:
            request.add_header("Authorization", f"Bearer {key}")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()

    def json(self, method: str, path: str, body: dict | None = None, key: str | None = CLIENT_KEY,
             expect: int = 200) -> dict:
        status, _, raw = self.call(method, path, body, key)
        assert status == expect, (status, raw[:500])
        return json.loads(raw)

    def upload(self, filename: str, content: bytes, key: str = ADMIN_KEY) -> tuple[int, dict]:
        boundary = uuid.uuid4().hex
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
                f"filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                ).encode() + content + f"\r\n--{boundary}--\r\n".encode()
        status, _, raw = self.call("POST", "/v1/knowledge", body, key,
                                   {"Content-Type": f"multipart/form-data; boundary={boundary}"})
        return status, json.loads(raw)

    def wait_job(self, job_id: str, timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.json("GET", f"/v1/jobs/{job_id}", key=ADMIN_KEY)
            if job["status"] in ("done", "failed"):
                return job
            time.sleep(0.2)
        raise AssertionError(f"job {job_id} did not finish in {timeout} s")

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(root: Path, name: str, index_dir: Path, knowledge: Path, env: dict[str, str],
          data_dir: Path | None = None) -> Server:
    """`cs-rag serve` as `name`, ready; its data folder is `data_dir` (default root/<name>-data)."""
    data_dir = data_dir or root / f"{name}-data"
    return launch(root, name, ["serve", "--index", str(index_dir), "--knowledge", str(knowledge),
                               "--data-dir", str(data_dir)], env, data_dir=data_dir, index_dir=index_dir)


def start_knowledge_bases(root: Path, name: str, config: Path, knowledge_bases: Sequence[str],
                          env: dict[str, str]) -> Server:
    """`cs-rag --config <config> serve` over the config's [knowledge_bases.<name>] tables, ready
    when every one of `knowledge_bases` is (each answers under /kb/<name>)."""
    return launch(root, name, ["--config", str(config), "serve"], env,
                  health=[f"/kb/{kb}/healthz" for kb in knowledge_bases])


def launch(root: Path, name: str, arguments: list[str], env: dict[str, str], *,
           health: Sequence[str] = ("/healthz",), data_dir: Path | None = None,
           index_dir: Path | None = None) -> Server:
    """`cs-rag <arguments> --port <free port>` as `name` (log root/<name>.log), returned once
    every path of `health` says ready; the environment is this one without CS_RAG_* plus `env`."""
    port = free_port()
    log = root / f"{name}.log"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CS_RAG_")}
    environment.update({"HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1", **env})
    if "CS_RAG_CACHE_DIR" in os.environ:
        environment["CS_RAG_CACHE_DIR"] = os.environ["CS_RAG_CACHE_DIR"]
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "cs_rag.cli", *arguments, "--port", str(port)],
                                   cwd=root, env=environment, stdout=out, stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}", port, process, log, data_dir, index_dir)
    waiting = list(health)
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server {name} exited {process.returncode}:\n{server.log_text()}")
        try:
            while waiting and _ready(server, waiting[0]):
                waiting.pop(0)
            if not waiting:
                return server
        except OSError:
            pass
        time.sleep(0.3)
    stop(server)
    raise AssertionError(f"server {name} not ready in {READY_SECONDS} s:\n{server.log_text()}")


def _ready(server: Server, path: str) -> bool:
    status, _, raw = server.call("GET", path, timeout=5)
    return status == 200 and json.loads(raw)["ready"]


def stop(server: Server) -> None:
    server.process.send_signal(signal.SIGTERM)
    try:
        server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
