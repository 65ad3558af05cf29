"""Prometheus counters and histograms of requests, answers and ingest jobs, rendered as text."""

from __future__ import annotations

import threading
from collections.abc import Mapping

from cs_rag.service.jobs import JobStatus
from cs_rag.types import Answer


class Metrics:
    """Counters and a latency histogram, rendered in the Prometheus text format. Thread-safe."""

    BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: dict[tuple[str, str, str], int] = {}
        self._latency: dict[str, list[float]] = {}   # route -> bucket counts, then sum, count
        self._answers: dict[tuple[str, str], int] = {}
        self._flags: dict[str, int] = {}
        self._jobs: dict[str, int] = {}
        self._limited: dict[str, int] = {}

    def request(self, route: str, method: str, status: int, seconds: float) -> None:
        with self._lock:
            key = (route, method, str(status))
            self._requests[key] = self._requests.get(key, 0) + 1
            counts = self._latency.setdefault(route, [0.0] * (len(self.BUCKETS) + 2))
            for i, bound in enumerate(self.BUCKETS):
                if seconds <= bound:
                    counts[i] += 1
            counts[-2] += seconds
            counts[-1] += 1

    def answer(self, answer: Answer) -> None:
        with self._lock:
            key = (answer.outcome.value, answer.routing.value)
            self._answers[key] = self._answers.get(key, 0) + 1
            for flag in answer.flags:
                self._flags[flag.kind.value] = self._flags.get(flag.kind.value, 0) + 1

    def job(self, status: JobStatus) -> None:
        with self._lock:
            self._jobs[status.value] = self._jobs.get(status.value, 0) + 1

    def limited(self, limit: str) -> None:
        """A request answered 429 by the rate limit `limit` (key, customer or widget)."""
        with self._lock:
            self._limited[limit] = self._limited.get(limit, 0) + 1

    def render(self, gauges: Mapping[str, tuple[str, float]]) -> str:
        """The exposition text; `gauges` maps a metric name to (help, value)."""
        out: list[str] = []
        with self._lock:
            _family(out, "cs_rag_http_requests_total", "counter", "HTTP requests by route, method and status.",
                    [({"route": r, "method": m, "status": s}, v) for (r, m, s), v in sorted(self._requests.items())])
            out += ["# HELP cs_rag_http_request_duration_seconds Time from request to the last byte "
                    "of the response, by route.",
                    "# TYPE cs_rag_http_request_duration_seconds histogram"]
            for route, counts in sorted(self._latency.items()):
                for bound, count in zip(self.BUCKETS, counts):
                    out.append(_sample("cs_rag_http_request_duration_seconds_bucket",
                                       {"route": route, "le": repr(bound)}, count))
                out.append(_sample("cs_rag_http_request_duration_seconds_bucket",
                                   {"route": route, "le": "+Inf"}, counts[-1]))
                out.append(_sample("cs_rag_http_request_duration_seconds_sum", {"route": route}, counts[-2]))
                out.append(_sample("cs_rag_http_request_duration_seconds_count", {"route": route}, counts[-1]))
            _family(out, "cs_rag_answers_total", "counter", "Answers by outcome and routing.",
                    [({"outcome": o, "routing": r}, v) for (o, r), v in sorted(self._answers.items())])
            _family(out, "cs_rag_flags_total", "counter", "Flags raised on answers, by kind.",
                    [({"kind": k}, v) for k, v in sorted(self._flags.items())])
            _family(out, "cs_rag_ingest_jobs_total", "counter", "Finished ingest jobs by status.",
                    [({"status": s}, v) for s, v in sorted(self._jobs.items())])
            _family(out, "cs_rag_rate_limited_total", "counter",
                    "Requests answered 429, by the rate limit they were over (per replica).",
                    [({"limit": k}, v) for k, v in sorted(self._limited.items())])
        for name, (help_text, value) in gauges.items():
            _family(out, name, "gauge", help_text, [({}, value)])
        return "\n".join(out) + "\n"


def _family(out: list[str], name: str, kind: str, help_text: str,
            samples: list[tuple[dict[str, str], float]]) -> None:
    out += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    out += [_sample(name, labels, value) for labels, value in samples]


def _sample(name: str, labels: dict[str, str], value: float) -> str:
    def escape(v: str) -> str:
        return v.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n")
    label_text = ",".join(f'{k}="{escape(v)}"' for k, v in labels.items())
    number = repr(float(value)) if not float(value).is_integer() else str(int(value))
    return f"{name}{{{label_text}}} {number}" if label_text else f"{name} {number}"


