"""Helpers shared by the benchmarks: data paths, timing percentiles, tables."""

from __future__ import annotations

import json
import os
import socket
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
