"""Replicas of the service on one PostgreSQL database: throughput of 1 and of 3 replicas, and a
database restart under load.

    python benchmarks/replicas.py                      # 1 and 3 replicas, 30 s each, then the restart
    python benchmarks/replicas.py --seconds 10 --outage 3

Starts its own PostgreSQL + pgvector (cs_rag.testing.local_postgres), ingests knowledge/ into
schema `replica_bench` (index.backend = postgres), then for each replica count starts that many
`cs-rag serve` processes on 127.0.0.1 sharing the database and one data folder, with the state
emptied first. Simulated customers (threads, each with keep-alive connections) hold three-turn
conversations (an eval/ question, then two follow-ups in the same session), each request sent to
a replica picked at random as a load balancer would, and rate the last answer
(`/v1/feedback`). The run is bounded in time and stops by itself. Afterwards the state schema is
read directly: every answer a customer got (200) must be in the answer log, every rating (201/200)
in the feedback table, every review id returned in the review queue, and no follow-up may have
found its session gone.

The restart: the same load on the largest replica count; after a third of the time the database
is stopped (fast shutdown) for --outage seconds and started again. Reported: the statuses
customers got while it was down (503 with Retry-After expected, never 500), the seconds from the
database being back to every replica answering again, and what was lost. Rate limits are off: the
service is measured, not the limiter. The clients share the machine's 2 cores with the servers.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from _common import REPO, RESULTS, free_port, percentiles_ms, print_table, read_jsonl

from cs_rag.testing.local_postgres import LocalPostgres

KEY, ADMIN = "bench-client-key", "bench-admin-key"
SCHEMA = "replica_bench"
FOLLOW_UPS = ["那运费呢", "需要多久", "怎么申请", "会员也一样吗", "可以开发票吗", "还有别的办法吗"]
READY_SECONDS = 240


@dataclass
class Tally:
    """What the customers saw, and what they were told was stored."""

    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    answered: set[str] = field(default_factory=set)       # trace ids of 200 answers
    rated: set[str] = field(default_factory=set)          # answer ids rated 200/201
    reviews: set[int] = field(default_factory=set)        # review ids returned
    lost_sessions: int = 0
    no_retry_after: int = 0                               # 503s without Retry-After
    times: list[tuple[float, int, int]] = field(default_factory=list)   # (at, replica, status)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Customers:
    """Threads holding conversations against `ports` until stopped."""

    def __init__(self, ports: list[int], questions: list[str], count: int) -> None:
        self.ports, self.questions, self.count = ports, questions, count
        self.tally = Tally()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._customer, args=(n,), daemon=True) for n in range(count)]

    def run(self, seconds: float, during=None) -> Tally:
        for thread in self._threads:
            thread.start()
        if during is not None:
            during()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            time.sleep(0.1)
        self._stop.set()
        for thread in self._threads:
            thread.join(60)
        return self.tally

    def _customer(self, number: int) -> None:
        rng = random.Random(number)
        connections: dict[int, http.client.HTTPConnection] = {}
        while not self._stop.is_set():
            session, last = None, None
            for turn in range(3):
                question = rng.choice(self.questions) if turn == 0 else rng.choice(FOLLOW_UPS)
                body = {"question": question, **({"session_id": session} if session else {})}
                status, answer = self._post(connections, rng, "/v1/answer", body)
                if status != 200:
                    break
                with self.tally.lock:
                    self.tally.answered.add(answer["trace_id"])
                    if answer.get("review_id"):
                        self.tally.reviews.add(answer["review_id"])
                    if session is not None and answer["new_session"]:
                        self.tally.lost_sessions += 1
                session, last = answer["session_id"], answer
            if last is not None:
                rating = {"answer_id": last["trace_id"], "helpful": rng.random() < 0.7}
                status, _ = self._post(connections, rng, "/v1/feedback", rating)
                if status in (200, 201):
                    with self.tally.lock:
                        self.tally.rated.add(last["trace_id"])

    def _post(self, connections: dict, rng: random.Random, path: str, body: dict) -> tuple[int, dict]:
        replica = rng.randrange(len(self.ports))
        port = self.ports[replica]
        started = time.monotonic()
        for attempt in (1, 2):   # a kept-alive connection the server closed is retried once, fresh
            reused = port in connections
            try:
                connection = connections.get(port) or http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                connections[port] = connection
                connection.request("POST", path, json.dumps(body), {"Content-Type": "application/json",
                                                                    "Authorization": f"Bearer {KEY}"})
                response = connection.getresponse()
                raw, status, retry_after = response.read(), response.status, response.getheader("Retry-After")
                break
            except (OSError, http.client.HTTPException):
                connections.pop(port, None)
                status, raw, retry_after = 0, b"", None      # 0: the connection failed
                if not (reused and attempt == 1):
                    time.sleep(0.05)
                    break
        elapsed = time.monotonic() - started
        with self.tally.lock:
            self.tally.statuses[status] = self.tally.statuses.get(status, 0) + 1
            self.tally.times.append((time.monotonic(), replica, status))
            if path == "/v1/answer" and status == 200:
                self.tally.latencies.append(elapsed)
            if status == 503 and not retry_after:
                self.tally.no_retry_after += 1
        if status == 503:
            time.sleep(0.2)
        return status, (json.loads(raw) if status in (200, 201) else {})


def start_replicas(count: int, env: dict[str, str], data_dir: Path) -> list[tuple[subprocess.Popen, int]]:
    started = []
    for n in range(count):
        port = free_port()
        log = open(RESULTS / f"replica-{n}.log", "wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "cs_rag.cli", "serve", "--index", str(RESULTS / SCHEMA), "--knowledge",
             str(REPO / "knowledge"), "--port", str(port), "--data-dir", str(data_dir)],
            env=env, stdout=log, stderr=subprocess.STDOUT)
        started.append((process, port))
    deadline = time.monotonic() + READY_SECONDS
    for process, port in started:
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"replica on port {port} did not start; see benchmarks/results/replica-*.log")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                connection.request("GET", "/healthz")
                if json.loads(connection.getresponse().read()).get("ready"):
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.5)
    return started


def stop_replicas(started: list[tuple[subprocess.Popen, int]]) -> None:
    for process, _ in started:
        process.terminate()
    for process, _ in started:
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()


def lost(dsn: str, tally: Tally) -> dict[str, int]:
    """What customers were told was stored and the state schema does not hold."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"SET search_path = {SCHEMA}_state")
        answers = {row[0] for row in conn.execute("SELECT trace_id FROM answers")}
        ratings = {row[0] for row in conn.execute("SELECT answer_id FROM feedback")}
        reviews = {row[0] for row in conn.execute("SELECT id FROM reviews")}
    return {"answers": len(tally.answered - answers), "feedback": len(tally.rated - ratings),
            "reviews": len(tally.reviews - reviews), "sessions": tally.lost_sessions}


def reset_state(dsn: str, data_dir: Path) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA}_state CASCADE")
    shutil.rmtree(data_dir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30.0, help="load per replica count (default 30)")
    parser.add_argument("--customers", type=int, default=12, help="concurrent customers (default 12)")
    parser.add_argument("--replicas", default="1,3", help="replica counts (default 1,3)")
    parser.add_argument("--outage", type=float, default=5.0, help="seconds the database is down (0: skip)")
    args = parser.parse_args(argv)
    counts = [int(c) for c in args.replicas.split(",")]
    questions = [q["question"] for q in read_jsonl(REPO / "eval" / "questions.jsonl")]
    RESULTS.mkdir(exist_ok=True)
    data_dir = RESULTS / "replica-data"

    with LocalPostgres() as server:
        with psycopg.connect(server.dsn, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "CS_RAG_INDEX_BACKEND": "postgres",
               "CS_RAG_PG_DSN": server.dsn, "CS_RAG_INDEX_PG_SCHEMA": SCHEMA, "CS_RAG_API_KEYS": KEY,
               "CS_RAG_ADMIN_KEYS": ADMIN, "CS_RAG_SERVICE_RATE_LIMIT_PER_MINUTE": "0",
               "CS_RAG_SERVICE_CUSTOMER_RATE_LIMIT_PER_MINUTE": "0"}
        built = subprocess.run([sys.executable, "-m", "cs_rag.cli", "ingest", str(REPO / "knowledge"),
                                "--index", str(RESULTS / SCHEMA)], env=env, capture_output=True, text=True)
        if built.returncode != 0:
            raise SystemExit(built.stderr)
        rows, throughput = [], {}
        for count in counts:
            reset_state(server.dsn, data_dir)
            replicas = start_replicas(count, env, data_dir)
            try:
                tally = Customers([port for _, port in replicas], questions, args.customers).run(args.seconds)
            finally:
                stop_replicas(replicas)
            requests = sum(tally.statuses.values())
            throughput[count] = requests / args.seconds
            p50, p95 = percentiles_ms(tally.latencies) if tally.latencies else (float("nan"),) * 2
            missing = lost(server.dsn, tally)
            errors = {s: n for s, n in tally.statuses.items() if s not in (200, 201)}
            rows.append([count, args.customers, requests, round(throughput[count], 1), round(p50, 1), round(p95, 1),
                         _statuses(errors) or "0", missing["sessions"], missing["answers"], missing["feedback"],
                         missing["reviews"]])
        print_table(f"Replicas on one PostgreSQL ({args.seconds:.0f} s each, answers and feedback)",
                    ["replicas", "customers", "requests", "req/s", "answer p50 ms", "answer p95 ms", "errors",
                     "lost sessions", "lost answers", "lost feedback", "lost reviews"], rows)
        if len(counts) > 1:
            print(f"throughput {max(counts)} replicas / 1: {throughput[max(counts)] / throughput[min(counts)]:.2f}\n")
        if args.outage > 0:
            restart(server, env, data_dir, max(counts), questions, args)
    return 0


def restart(server: LocalPostgres, env: dict, data_dir: Path, count: int, questions: list[str],
            args: argparse.Namespace) -> None:
    reset_state(server.dsn, data_dir)
    replicas = start_replicas(count, env, data_dir)
    marks: dict[str, float] = {}

    def outage() -> None:
        def run() -> None:
            time.sleep(args.seconds / 3)
            marks["down"] = time.monotonic()
            server.halt()
            time.sleep(args.outage)
            server.resume()
            marks["up"] = time.monotonic()
        threading.Thread(target=run, daemon=True).start()

    try:
        tally = Customers([port for _, port in replicas], questions, args.customers).run(
            max(args.seconds, args.seconds / 3 + args.outage + 15), during=outage)
    finally:
        stop_replicas(replicas)
    during = [s for at, _, s in tally.times if marks["down"] <= at < marks["up"]]
    recovered = []
    for replica in range(count):
        firsts = [at for at, r, s in tally.times if r == replica and s == 200 and at >= marks["up"]]
        recovered.append(min(firsts) - marks["up"] if firsts else float("nan"))
    missing = lost(server.dsn, tally)
    by_status = _statuses({s: during.count(s) for s in set(during)})
    print_table(f"Database restart under load ({count} replicas, down {args.outage:.0f} s)",
                ["requests while down", "statuses while down", "500s (whole run)", "503 without Retry-After",
                 "seconds to recover (slowest replica)", "lost sessions", "lost answers", "lost feedback",
                 "lost reviews"],
                [[len(during), by_status or "-", tally.statuses.get(500, 0), tally.no_retry_after,
                  round(max(recovered), 2), missing["sessions"], missing["answers"], missing["feedback"],
                  missing["reviews"]]])


def _statuses(counts: dict[int, int]) -> str:
    """"503: 19, 500: 1" (0 is a failed connection)."""
    return ", ".join(f"{s or 'no connection'}: {n}" for s, n in sorted(counts.items()))


if __name__ == "__main__":
    sys.exit(main())
