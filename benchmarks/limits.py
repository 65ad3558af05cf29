"""Rate limits under a front-end's load: answers and 429s with the old defaults (120 a minute,
burst 20, per key; no customer limit) and the new ones (per key 6000 a minute, burst 300; per
end customer 120 a minute, burst 20).

    python benchmarks/limits.py                  # 30 s per scenario
    python benchmarks/limits.py --seconds 10

For each set of limits, starts `cs-rag serve` (one uvicorn process, the embedded extractive
default) on 127.0.0.1 over knowledge/ with one client key per scenario, then runs each scenario
for the given time: 6 client threads, each with its own keep-alive connection, post eval/
questions to /v1/answer as fast as the service answers, never waiting on a 429 (as the issue's
`openai` clients did). Scenarios:

- one session per client: each client continues the session its first answer started;
- a customer per request: every question names a new session (a front-end carrying many
  customers on one key, each asking once).

Loopback only, bounded in time; the clients share the machine's cores with the server.
"""

from __future__ import annotations

import argparse
import http.client
import json
import shutil
import signal
import threading
import time
from collections import Counter

import _common
import numpy as np
from _common import RESULTS, print_table

CLIENTS = 6
LIMITS = {
    "old defaults (key 120/min, burst 20)": {
        "CS_RAG_SERVICE_RATE_LIMIT_PER_MINUTE": "120", "CS_RAG_SERVICE_RATE_LIMIT_BURST": "20",
        "CS_RAG_SERVICE_CUSTOMER_RATE_LIMIT_PER_MINUTE": "0"},
    "new defaults (key 6000/min, burst 300; customer 120/min, burst 20)": {},
}
SCENARIOS = ("one session per client", "a customer per request")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30.0, help="per scenario (default 30)")
    seconds = parser.parse_args().seconds
    index, questions = _common.service_index(), _common.eval_questions()
    keys = {scenario: f"bench-limits-key-{n}" for n, scenario in enumerate(SCENARIOS)}
    rows = []
    for name, limits in LIMITS.items():
        data_dir = RESULTS / "limits-data"
        shutil.rmtree(data_dir, ignore_errors=True)
        server, port = _common.start_service(index, data_dir, {"CS_RAG_API_KEYS": ",".join(keys.values()), **limits},
                                     RESULTS / "limits.log")
        try:
            for scenario in SCENARIOS:
                counts, latencies, elapsed = _run(port, keys[scenario], scenario, questions, seconds)
                p50 = float(np.percentile(np.asarray(latencies) * 1000, 50)) if latencies else float("nan")
                rows.append([name, scenario, counts[200], counts["429 key"], counts["429 customer"],
                             counts["other"], counts[200] / elapsed, p50])
                print(rows[-1], flush=True)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
    table = print_table(f"{CLIENTS} clients on one key, /v1/answer as fast as answered, "
                        f"{seconds:.0f} s per row, one replica on 127.0.0.1",
                        ["limits", "scenario", "answers", "429 key", "429 customer", "other", "answers/s",
                         "answer p50 ms"], rows)
    (RESULTS / "limits.md").write_text(table, encoding="utf-8")
    return 0


def _run(port: int, key: str, scenario: str, questions: list[str],
         seconds: float) -> tuple[Counter, list[float], float]:
    """(responses counted as 200, "429 key", "429 customer" or "other"; latencies of the
    answers; elapsed seconds)."""
    stop_at = time.monotonic() + seconds
    counts: Counter = Counter()
    latencies: list[float] = []
    lock = threading.Lock()

    def client(number: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        session, i = None, number * 7
        while time.monotonic() < stop_at:
            if scenario == "a customer per request":
                session = f"customer-{number}-{i}"
            body = {"question": questions[i % len(questions)], "session_id": session}
            i += 1
            started = time.perf_counter()
            connection.request("POST", "/v1/answer", body=json.dumps(body, ensure_ascii=False).encode(),
                               headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
            response = connection.getresponse()
            payload = response.read()
            taken = time.perf_counter() - started
            if response.status == 200 and scenario == "one session per client":
                session = json.loads(payload)["session_id"]
            outcome = (200 if response.status == 200 else
                       f"429 {response.getheader('X-RateLimit-Scope')}" if response.status == 429 else "other")
            with lock:
                counts[outcome] += 1
                if response.status == 200:
                    latencies.append(taken)
        connection.close()

    elapsed = _common.run_clients(client, CLIENTS)
    return counts, latencies, elapsed


if __name__ == "__main__":
    raise SystemExit(main())
