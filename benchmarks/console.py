"""The console's server time per page with 10,000 logged questions and 1,000 learning groups,
and the chat widget's first token beside /v1/answer's stream, in one run.

    python benchmarks/console.py                  # 20 renders a page, 30 questions each way
    python benchmarks/console.py --renders 5 --questions 10

Builds an index of knowledge/ (benchmarks/results/console-index, incremental) and a service on
it (create_app) whose store is filled with 10,000 answers spread over the last 30 days
(questions from eval/questions.jsonl; outcomes 70% answered, 10% clarify, 15% refused, 5%
hand-off; a fifth rated) and 1,000 open learning groups (3,000 refused answers, written to the
queue's table directly: what is timed is rendering, not grouping). Each console page is
requested in process (FastAPI's TestClient, signed in), so the time is the server's; the first
render of a page is reported apart (cold caches). The dashboard's figures and hot words are a
snapshot (console/dashboard.py), retaken on a background thread on a log this large: it is
also timed with the snapshot taken in the request, which is what that thread spends. Then the same app runs under uvicorn on
127.0.0.1: chromium (Playwright) asks on /demo and times from submitting to the first text in
the reply bubble, and an HTTP client times from sending /v1/answer with stream=true to its first
`delta` event, alternating which goes first, over the same questions.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import shutil
import statistics
import threading
import time
import uuid

import numpy as np
from _common import REPO, RESULTS, free_port, print_table, read_jsonl

from cs_rag import KnowledgeBase
from cs_rag.config import load_settings
from cs_rag.learning.answers import AnswerLog
from cs_rag.service import create_app
from cs_rag.service.auth import ApiKeys
from cs_rag.service.console import dashboard
from cs_rag.types import Answer, Citation, DocumentKind, Flag, FlagKind, Outcome, Routing

ADMIN, WIDGET = "bench-admin-key", "bench-widget-key"
ANSWERS, GROUPS, ITEMS_PER_GROUP = 10_000, 1_000, 3
DAY = 86_400.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--renders", type=int, default=20, help="timed renders a page (default 20)")
    parser.add_argument("--questions", type=int, default=30, help="questions each way (default 30)")
    args = parser.parse_args()
    from fastapi.testclient import TestClient

    settings = load_settings(REPO / "knowledge" / "cs_rag.toml")
    # measure the service, not the limiter
    settings = settings.model_copy(update={"service": settings.service.model_copy(update={
        "rate_limit_per_minute": 0.0, "customer_rate_limit_per_minute": 0.0,
        "widget_rate_limit_per_minute": 0.0})})
    index = RESULTS / "console-index"
    print(KnowledgeBase(index, settings).ingest([REPO / "knowledge"]).summary(), flush=True)
    data_dir = RESULTS / "console-data"
    shutil.rmtree(data_dir, ignore_errors=True)
    questions = [q["question"] for q in read_jsonl(REPO / "eval" / "questions.jsonl")]
    app = create_app(index, [REPO / "knowledge"], settings=settings, data_dir=data_dir,
                     keys=ApiKeys([], [ADMIN], [WIDGET]))
    with TestClient(app) as client:
        service = app.state.service
        service.warm.wait(120)
        started = time.perf_counter()
        trace_ids = _fill(service, questions)
        print(f"filled {ANSWERS} answers and {GROUPS} groups in {time.perf_counter() - started:.1f} s", flush=True)
        client.post("/console/login", data={"key": ADMIN}, headers={"Origin": "http://testserver"})
        pages = {"dashboard": "/console", "conversations": "/console/conversations",
                 "conversations, filtered": "/console/conversations?outcome=refused&rated=unhelpful&text=退",
                 "conversation detail": f"/console/conversations/{trace_ids[0]}",
                 "reviews": "/console/reviews", "learning queue": "/console/learning",
                 "knowledge": "/console/knowledge", "knowledge, filtered": "/console/knowledge?q=退&validity=current",
                 "hit test": "/console/hittest?q=" + questions[0], "settings": "/console/settings"}
        rows = []
        for name, path in pages.items():
            first, times = _render(client, path, args.renders)
            if name == "dashboard":   # and with its snapshot recomputed at every render
                rows.append(_row("dashboard snapshot, taken in the request", *_render(client, path, args.renders, fresh=True)))
                print(rows[-1], flush=True)
            rows.append(_row(name, first, times))
            print(rows[-1], flush=True)
        tables = [print_table(f"Console pages, server time in ms ({ANSWERS:,} answers, {GROUPS:,} learning groups)",
                              ["page", "first render", "p50", "p95"], rows)]
        tables.append(_first_tokens(app, questions[: args.questions]))
    (RESULTS / "console.md").write_text("\n".join(tables), encoding="utf-8")
    return 0


def _fill(service, questions: list[str]) -> list[str]:
    """ANSWERS answers over the last 30 days, a fifth rated, and GROUPS open learning groups
    of refused answers. Returns the trace ids, newest last."""
    rng = random.Random(7)
    now = time.time()
    clock = [now]
    log = AnswerLog(service.database, clock=lambda: clock[0])
    outcomes = [Outcome.ANSWERED] * 14 + [Outcome.CLARIFY] * 2 + [Outcome.REFUSED] * 3 + [Outcome.HANDOFF]
    trace_ids, refused = [], []
    for i in range(ANSWERS):
        clock[0] = now - 30 * DAY * (ANSWERS - i) / ANSWERS
        outcome = rng.choice(outcomes)
        trace_id = uuid.uuid4().hex
        cited = [Citation(marker=1, id="faq-1", doc_id="faq-1", source="faq.jsonl", kind=DocumentKind.FAQ,
                          title="示例", score=0.9)] if outcome is Outcome.ANSWERED else []
        flags = [Flag(kind=FlagKind.NEGATIVE_EMOTION, evidence="气死", level=2)] if i % 17 == 0 else []
        hits = [{"id": f"faq-{k}", "score": 0.9 - k / 10, "confidence": 0.5, "scores": {"dense": 0.8, "bm25": 3.1}}
                for k in range(5)]
        answer = Answer(question=rng.choice(questions), text="您好！示例回复。", outcome=outcome, confidence=0.6,
                        citations=cited, flags=flags,
                        routing=Routing.HANDOFF if outcome is Outcome.HANDOFF else Routing.SEND,
                        trace_id=trace_id, trace={"trace_id": trace_id, "timings_ms": {"total": 40.0},
                                                  "retrieval": {"decision": "answer", "hits": hits}})
        log.remember(answer, f"s-{i // 3}")
        trace_ids.append(trace_id)
        if outcome is Outcome.REFUSED:
            refused.append(trace_id)
        if i % 5 == 0:
            service.feedback.record(trace_id, rng.random() < 0.8, None)
    dimension = service.knowledge_base.index().manifest.dimension
    vectors = np.random.default_rng(7).normal(size=(GROUPS * ITEMS_PER_GROUP, dimension)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    items = refused * (GROUPS * ITEMS_PER_GROUP // len(refused) + 1)
    with service.database.transaction() as db:
        db.executemany("INSERT OR IGNORE INTO learning_items (trace_id, reason, at, group_id, vector) "
                       "VALUES (?, 'refused', ?, ?, ?)",
                       [(items[k], now, f"g{k % GROUPS:04d}", vectors[k].tobytes())
                        for k in range(min(len(set(items)), GROUPS * ITEMS_PER_GROUP))])
    return trace_ids[::-1]


def _row(name: str, first: float, times: list[float]) -> list:
    return [name, f"{first * 1000:.0f}", f"{statistics.median(times) * 1000:.0f}",
            f"{float(np.percentile(times, 95)) * 1000:.0f}"]


def _render(client, path: str, renders: int, fresh: bool = False) -> tuple[float, list[float]]:
    """(the first render's seconds, the next `renders`' seconds); `fresh`: the dashboard's
    snapshot is dropped before each render."""
    times = []
    for _ in range(renders + 1):
        if fresh:
            dashboard._snapshots.clear()
        started = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
    return times[0], times[1:]


def _first_tokens(app, questions: list[str]) -> str:
    """The widget's and /v1/answer's first token over the same questions, on one server."""
    import uvicorn
    from playwright.sync_api import sync_playwright

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    widget, stream = [], []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=shutil.which("chromium"))
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{port}/demo")
            page.get_by_test_id("chat-open").click()
            for i, question in enumerate(questions):
                order = [(widget, lambda q=question: _widget_first(page, q)),
                         (stream, lambda q=question: _stream_first(port, q))]
                for times, measure in order if i % 2 == 0 else order[::-1]:
                    times.append(measure())
                page.evaluate("sessionStorage.clear()")
                if i % 5 == 4:    # a fresh conversation now and then: the panel stays small
                    page.reload()
            browser.close()
    finally:
        server.should_exit = True
        thread.join(10)
    rows = [[name, len(t), statistics.median(t) * 1000, float(np.percentile(t, 95)) * 1000]
            for name, t in (("widget (chromium, submit to first text shown)", widget),
                            ("/v1/answer stream=true (first delta event)", stream))]
    return print_table("First token, ms (same server, same questions, alternating)",
                       ["path", "questions", "p50", "p95"], rows)


_WIDGET_FIRST = """async (question) => {
  const root = document.querySelector('#cs-rag-widget').shadowRoot;
  const log = root.querySelector('.log');
  const before = log.querySelectorAll('[data-testid=chat-answer]').length;
  root.querySelector('[data-testid=chat-input]').value = question;
  return await new Promise((resolve) => {
    const shown = () => {
      const replies = log.querySelectorAll('[data-testid=chat-answer]');
      const text = replies.length > before ? replies[replies.length - 1].querySelector('.text') : null;
      return text && text.textContent.length > 0;
    };
    const observer = new MutationObserver(() => {
      if (shown()) { observer.disconnect(); resolve((performance.now() - started) / 1000); }
    });
    observer.observe(log, {subtree: true, childList: true, characterData: true});
    const started = performance.now();
    root.querySelector('form.ask').requestSubmit();
  });
}"""


def _widget_first(page, question: str) -> float:
    seconds = page.evaluate(_WIDGET_FIRST, question)
    page.wait_for_function("() => !document.querySelector('#cs-rag-widget').shadowRoot"
                           ".querySelector('[data-testid=chat-send]').disabled")
    return seconds


def _stream_first(port: int, question: str) -> float:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    body = json.dumps({"question": question, "stream": True})
    started = time.perf_counter()
    connection.request("POST", "/v1/answer", body, {"Content-Type": "application/json",
                                                    "Authorization": f"Bearer {WIDGET}",
                                                    "Origin": f"http://127.0.0.1:{port}"})
    response = connection.getresponse()
    first = None
    for line in response:
        if line.startswith(b"event: delta") and first is None:
            first = time.perf_counter() - started
    connection.close()
    if first is None:
        raise SystemExit(f"no delta event for {question!r}")
    return first


if __name__ == "__main__":
    raise SystemExit(main())
