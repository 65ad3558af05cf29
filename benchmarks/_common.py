"""Helpers shared by the benchmarks: data paths, timing percentiles, tables."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("CS_RAG_SHARED_DATA", REPO.parent / "shared" / "data"))
RESULTS = REPO / "benchmarks" / "results"


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def percentiles_ms(seconds: list[float]) -> tuple[float, float]:
    """(p50, p95) in milliseconds."""
    values = np.asarray(seconds) * 1000
    return float(np.percentile(values, 50)), float(np.percentile(values, 95))


def print_table(title: str, header: list[str], rows: list[list]) -> str:
    """Print a Markdown table and return it."""
    def cell(v) -> str:
        return f"{v:.3f}" if isinstance(v, float) else str(v)
    lines = [f"### {title}", "", "| " + " | ".join(header) + " |",
             "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    text = "\n".join(lines) + "\n"
    print(text, flush=True)
    return text


def free_port() -> int:
    """A free TCP port on 127.0.0.1, for a server a benchmark starts."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def eval_questions() -> list[str]:
    """The questions of eval/questions.jsonl, in order."""
    return [q["question"] for q in read_jsonl(REPO / "eval" / "questions.jsonl")]


def service_index() -> Path:
    """`knowledge/` indexed in benchmarks/results/service-index, brought up to date (the service
    ingests at start only when there is no index)."""
    index = RESULTS / "service-index"
    ingest = subprocess.run([sys.executable, "-m", "cs_rag.cli", "ingest", str(REPO / "knowledge"),
                             "--index", str(index)], check=False, capture_output=True, text=True,
                            env={**os.environ, "HF_HUB_OFFLINE": "1"})
    if ingest.returncode != 0:
        raise SystemExit(ingest.stderr)
    print(ingest.stdout.strip(), flush=True)
    return index


def start_service(index: Path, data_dir: Path, env: Mapping[str, str], log_path: Path,
                  timeout: float = 600) -> tuple[subprocess.Popen, int]:
    """`cs-rag serve` on 127.0.0.1 (a free port, log level warning) with `env` added to this
    process's environment, once /healthz says ready: (the process, its port). Its output goes
    to `log_path`; stop it with SIGTERM."""
    port = free_port()
    with open(log_path, "wb") as log:
        server = subprocess.Popen([sys.executable, "-m", "cs_rag.cli", "serve", "--index", str(index),
                                   "--knowledge", str(REPO / "knowledge"), "--port", str(port),
                                   "--data-dir", str(data_dir), "--log-level", "warning"],
                                  env={**os.environ, "HF_HUB_OFFLINE": "1", **env},
                                  stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited {server.returncode}; see {log_path}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/healthz")
            if json.loads(connection.getresponse().read())["ready"]:
                return server, port
        except OSError:
            pass
        time.sleep(0.5)
    server.kill()
    raise SystemExit("the server did not get ready")


def run_clients(client: Callable[[int], None], count: int) -> float:
    """Run `client(0)` ... `client(count - 1)` on threads at once; the seconds until all ended."""
    threads = [threading.Thread(target=client, args=(n,)) for n in range(count)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.monotonic() - started
