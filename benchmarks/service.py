"""The HTTP service under load: requests/s and latency of /v1/search, Dify's /retrieval and
/v1/answer, and what Dify's contract adds to a search.

    python benchmarks/service.py                 # 1, 4 and 16 concurrent clients, 20 s each
    python benchmarks/service.py --seconds 5     # a quicker, noisier look

Starts `cs-rag serve` (uvicorn, one process, the embedded extractive default, no LLM) on
127.0.0.1 over knowledge/ (index in benchmarks/results/service-index, built incrementally), then
for each client count and route (the routes one after another at each count) runs that many
client threads, each with its own keep-alive
connection, asking eval/ questions in turn for the given time. `/retrieval` asks for top_k 10,
as many hits as `/v1/search` returns by default. Then one client asks each question of /v1/search
and of /retrieval back to back (alternating which goes first) for the given time: the paired
differences are what the contract adds, with the machine's load the same for both. Every request
is loopback only and the run is bounded in time. The clients share the machine's cores with the
server, so the figures are a floor for what a separate client machine would see.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import threading
import time

import numpy as np
from _common import (
    RESULTS,
    eval_questions,
    print_table,
    run_clients,
    service_index,
    start_service,
)

KEY = "bench-client-key"
CLIENTS = (1, 4, 16)
ROUTES = ("/v1/search", "/retrieval", "/v1/answer")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0, help="per route and client count (default 20)")
    args = parser.parse_args()

    questions = eval_questions()
    index = service_index()
    data_dir = RESULTS / "service-data"
    shutil.rmtree(data_dir, ignore_errors=True)   # sessions and reviews from an earlier run
    server, port = start_service(index, data_dir, {
        "CS_RAG_API_KEYS": KEY,   # measure the service, not the limiter:
        "CS_RAG_SERVICE_RATE_LIMIT_PER_MINUTE": "0", "CS_RAG_SERVICE_CUSTOMER_RATE_LIMIT_PER_MINUTE": "0"},
        RESULTS / "service.log")
    try:
        rows = []
        for route in ROUTES:
            _run(port, route, questions, 2, 2.0)   # warm connections and caches
        # routes side by side at each client count, so that a drift in the machine's load
        # between rows of one client count stays small
        for clients in CLIENTS:
            for route in ROUTES:
                latencies, errors, elapsed = _run(port, route, questions, clients, args.seconds)
                ms = np.asarray(latencies) * 1000
                rows.append([route, clients, len(latencies), len(latencies) / elapsed,
                             float(np.percentile(ms, 50)), float(np.percentile(ms, 95)),
                             float(np.percentile(ms, 99)), errors])
                print(rows[-1], flush=True)
        rows.sort(key=lambda row: ROUTES.index(row[0]))
        added = np.asarray(_paired(port, questions, args.seconds)) * 1000
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    table = print_table(f"cs-rag serve on 127.0.0.1, embedded default, {args.seconds:.0f} s per row "
                        f"({os.cpu_count()} cores shared by server and clients)",
                        ["route", "clients", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors"], rows)
    table += "\n" + print_table(
        f"/retrieval minus /v1/search, the same question back to back on one connection, 1 client, "
        f"{args.seconds:.0f} s", ["pairs", "median ms", "p25 ms", "p75 ms", "p95 ms"],
        [[len(added), *(float(np.percentile(added, q)) for q in (50, 25, 75, 95))]])
    (RESULTS / "service.md").write_text(table, encoding="utf-8")
    return 0


def _body(route: str, question: str) -> bytes:
    if route == "/retrieval":
        payload = {"knowledge_id": "default", "query": question,
                   "retrieval_setting": {"top_k": 10, "score_threshold": 0.0}}
    else:
        payload = {"query" if route == "/v1/search" else "question": question}
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def _post(connection: http.client.HTTPConnection, route: str, body: bytes) -> bool:
    connection.request("POST", route, body=body, headers={
        "Authorization": f"Bearer {KEY}", "Content-Type": "application/json"})
    response = connection.getresponse()
    response.read()
    return response.status == 200


def _paired(port: int, questions: list[str], seconds: float) -> list[float]:
    """Seconds /retrieval took beyond /v1/search for each question, asked back to back."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    differences: list[float] = []
    stop_at = time.monotonic() + seconds
    i = 0
    while time.monotonic() < stop_at:
        question = questions[i % len(questions)]
        order = ("/v1/search", "/retrieval") if i % 2 == 0 else ("/retrieval", "/v1/search")
        taken = {}
        for route in order:
            started = time.perf_counter()
            if not _post(connection, route, _body(route, question)):
                raise SystemExit(f"{route} failed during the paired run")
            taken[route] = time.perf_counter() - started
        differences.append(taken["/retrieval"] - taken["/v1/search"])
        i += 1
    connection.close()
    return differences


def _run(port: int, route: str, questions: list[str], clients: int,
         seconds: float) -> tuple[list[float], int, float]:
    """(latencies of successful requests, error count, elapsed seconds)."""
    stop_at = time.monotonic() + seconds
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def client(number: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        i = number * 7
        while time.monotonic() < stop_at:
            body = _body(route, questions[i % len(questions)])
            i += 1
            started = time.perf_counter()
            try:
                ok = _post(connection, route, body)
            except (OSError, http.client.HTTPException):
                ok = False
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            seconds_taken = time.perf_counter() - started
            with lock:
                if ok:
                    latencies.append(seconds_taken)
                else:
                    errors[0] += 1
        connection.close()

    elapsed = run_clients(client, clients)
    return latencies, errors[0], elapsed


if __name__ == "__main__":
    raise SystemExit(main())
