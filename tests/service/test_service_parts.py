"""The service's parts without a server: stores, keys, rate limits, upload names, the knowledge
folder, metrics and the service settings."""

from __future__ import annotations

import json
import threading
import time

import pytest

from cs_rag.config import load_settings
from cs_rag.errors import ConfigError, ReviewConflict
from cs_rag.service.auth import ApiKeys
from cs_rag.service.limits import TokenBuckets
from cs_rag.service.jobs import Job, JobKind, JobRunner, JobStatus
from cs_rag.service.metrics import Metrics
from cs_rag.service.reviews import ReviewStatus, ReviewStore
from cs_rag.service.sessions import SessionStore
from cs_rag.service.storage import KnowledgeFolder, upload_name
from cs_rag.types import (
    Answer,
    Customer,
    FaqEntry,
    Flag,
    FlagKind,
    IngestReport,
    Outcome,
    Routing,
    Turn,
)


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def database(state_db):
    return state_db


def test_session_continues_within_the_ttl_and_ends_after(database):
    clock = Clock()
    sessions = SessionStore(database, ttl_seconds=60, clock=clock)
    first = sessions.open(None, 10, Customer(level="VIP"))
    assert first.new and first.expired is None and first.history == []
    sessions.append(first.id, [Turn(role="user", content="q1"), Turn(role="assistant", content="a1")])
    clock.now += 59
    again = sessions.open(first.id, 10)
    assert not again.new and [t.content for t in again.history] == ["q1", "a1"]
    assert again.customer.level == "VIP"                  # remembered from the first turn
    assert [t.content for t in sessions.open(first.id, 1).history] == ["a1"]   # newest turns only
    clock.now += 61                                       # idle since the last turn
    assert sessions.history(first.id, 10) is None
    later = sessions.open(first.id, 10)
    assert later.new and later.expired == first.id and later.id != first.id and later.history == []
    unknown = sessions.open("no-such-session", 10)
    assert unknown.new and unknown.expired == "no-such-session"


def test_ended_sessions_are_purged(database):
    clock = Clock()
    sessions = SessionStore(database, ttl_seconds=60, clock=clock)
    old = sessions.open(None, 10)
    sessions.append(old.id, [Turn(role="user", content="q")])
    clock.now += 3600
    sessions.open(None, 10)                               # purges on the way
    with database.transaction() as db:
        assert db.execute("SELECT COUNT(*) FROM turns").fetchone()[0] == 0
    assert sessions.count() == 1


def _answer(*kinds: FlagKind) -> Answer:
    return Answer(question="q", text="t", outcome=Outcome.ANSWERED, confidence=0.9,
                  flags=[Flag(kind=k) for k in kinds], routing=Routing.REVIEW)


def test_review_queue_filters_and_decides_once(database):
    reviews = ReviewStore(database)
    first = reviews.add(_answer(FlagKind.HEDGING, FlagKind.PII), "s1", [Turn(role="user", content="x")], None)
    second = reviews.add(_answer(FlagKind.INJECTION), None, [], Customer(level="VIP"))
    listed, total = reviews.list()
    assert total == 2 and [r.id for r in listed] == [second, first]     # newest first
    assert [r.id for r in reviews.list(flag=FlagKind.HEDGING)[0]] == [first]
    assert reviews.get(first).flag_kinds == [FlagKind.HEDGING, FlagKind.PII]
    assert reviews.get(first).history[0].content == "x"
    decided = reviews.decide(first, ReviewStatus.EDITED, final_text="better", note=None, decided_by="key:abc")
    assert decided.status is ReviewStatus.EDITED and decided.final_text == "better" and decided.decided
    with pytest.raises(ReviewConflict):
        reviews.decide(first, ReviewStatus.APPROVED, final_text="t", note=None, decided_by="key:abc")
    with pytest.raises(KeyError):
        reviews.decide(999, ReviewStatus.APPROVED, final_text="t", note=None, decided_by="key:abc")
    assert reviews.pending() == 1
    assert [r.id for r in reviews.list(status=ReviewStatus.PENDING)[0]] == [second]


def test_priority_reviews_are_listed_first(database):
    reviews = ReviewStore(database)
    urgent = reviews.add(_answer(FlagKind.NEGATIVE_EMOTION).model_copy(update={"priority": True}), None, [], None)
    later = reviews.add(_answer(FlagKind.HEDGING), None, [], None)
    assert [r.id for r in reviews.list()[0]] == [urgent, later]
    assert reviews.get(urgent).answer.priority


def test_keys_roles():
    keys = ApiKeys(client=["c1", "c2"], admin=["a1"])
    assert (keys.role("c2"), keys.role("a1"), keys.role("c"), keys.role("")) == ("client", "admin", None, None)
    assert ApiKeys(client=["same"], admin=["same"]).role("same") == "admin"
    from_env = ApiKeys.from_environment({"CS_RAG_API_KEYS": " x , ,y", "CS_RAG_ADMIN_KEYS": ""})
    assert from_env.client_configured and not from_env.admin_configured and from_env.role("y") == "client"


def test_token_bucket_allows_a_burst_then_refills():
    clock = Clock()
    buckets = TokenBuckets(per_minute=60, burst=3, clock=clock)
    assert [buckets.take("k") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("k") == pytest.approx(1.0)        # one token a second
    assert buckets.take("other") == 0.0                   # per caller
    clock.now += 1.0
    assert buckets.take("k") == 0.0
    assert TokenBuckets(per_minute=0, burst=1).take("k") == 0.0   # off


@pytest.mark.parametrize("filename, expected", [
    ("faq.csv", ("faq", ".csv")),
    ("../../etc/passwd", ("passwd", "")),
    ("..\\..\\Windows\\退货 政策.MD", ("退货_政策", ".md")),
    ("/abs/path/.hidden.md", ("hidden", ".md")),
    ("..", ("upload", ".")),
    ("", ("upload", "")),
    (None, ("upload", "")),
    ("a" * 100 + ".txt", ("a" * 64, ".txt")),
])
def test_upload_names_never_leave_the_folder(filename, expected):
    assert upload_name(filename) == expected


def test_knowledge_folder_edits_and_undo(tmp_path):
    folder = KnowledgeFolder(tmp_path / "knowledge")
    assert folder.reviewed.read_bytes() == b""
    undo = folder.add_faq(FaqEntry(id="review-1", question="q", answer="a"))
    assert json.loads(folder.reviewed.read_text())["id"] == "review-1"
    undo()
    assert folder.reviewed.read_bytes() == b""

    upload = folder.uploads / "faq.jsonl"
    folder.put(upload, b'{"id": "a", "question": "q", "answer": "x"}\n{"id": "b", "question": "q2", "answer": "y"}\n')
    assert folder.owns(upload) and not folder.owns(tmp_path / "elsewhere.md")
    undo = folder.remove_document(upload, "a")
    assert [json.loads(line)["id"] for line in upload.read_text().splitlines()] == ["b"]
    folder.remove_document(upload, "b")
    assert not upload.exists()                            # an emptied upload goes
    undo()                                                # changed since: left alone
    assert not upload.exists()
    assert not list(folder.root.rglob(".*"))              # no temporary files left


def test_metrics_text_format():
    metrics = Metrics()
    metrics.request("/v1/answer", "POST", 200, 0.02)
    metrics.request("/v1/answer", "POST", 200, 3.0)
    metrics.answer(_answer(FlagKind.HEDGING))
    text = metrics.render({"cs_rag_ready": ("ready", 1)})
    assert 'cs_rag_http_requests_total{route="/v1/answer",method="POST",status="200"} 2' in text
    assert 'cs_rag_http_request_duration_seconds_bucket{route="/v1/answer",le="0.025"} 1' in text
    assert 'cs_rag_http_request_duration_seconds_bucket{route="/v1/answer",le="+Inf"} 2' in text
    assert 'cs_rag_flags_total{kind="hedging"} 1' in text and "cs_rag_ready 1" in text
    assert 'cs_rag_answers_total{outcome="answered",routing="review"} 1' in text


def test_service_settings_from_the_environment():
    settings = load_settings(environ={"CS_RAG_SERVICE_CORS_ORIGINS": "https://a.example, https://b.example",
                                      "CS_RAG_SERVICE_SESSION_TTL_MINUTES": "5",
                                      "CS_RAG_API_KEYS": "not-a-setting", "CS_RAG_ADMIN_KEYS": "nor-this"})
    assert settings.service.cors_origins == ["https://a.example", "https://b.example"]
    assert settings.service.session_ttl_minutes == 5 and settings.service.max_question_chars == 2000
    with pytest.raises(ConfigError, match="CS_RAG_SERVICE_MAX_QUESTION_CHARS"):
        load_settings(environ={"CS_RAG_SERVICE_MAX_QUESTION_CHARS": "5000"})


def _wait_for(runner: JobRunner, job_id: str) -> Job:
    for _ in range(500):
        job = runner.get(job_id)
        if job.status in (JobStatus.DONE, JobStatus.FAILED):
            return job
        time.sleep(0.01)
    raise AssertionError(f"job {job_id} did not finish")


def test_jobs_queued_during_an_ingest_share_the_next_one(state_db):
    release, calls = threading.Event(), []

    def ingest(progress):
        calls.append(len(calls))
        release.wait(5)
        return IngestReport(seconds=0.0)

    runner = JobRunner(state_db, ingest, count=lambda status: None, after=lambda: None)
    first = runner.submit(JobKind.REINDEX)
    for _ in range(100):
        if runner.get(first.id).status is JobStatus.RUNNING:
            break
        time.sleep(0.01)
    queued = [runner.submit(JobKind.LEARNING, f"action {n}") for n in range(3)]
    release.set()
    assert all(_wait_for(runner, job.id).status is JobStatus.DONE for job in [first, *queued])
    assert calls == [0, 1]                        # three queued jobs, one more ingest
    runner.close()


def test_a_failed_shared_ingest_fails_every_job_and_undoes_each_change(state_db):
    release, undone = threading.Event(), []

    def ingest(progress):
        release.wait(5)
        raise RuntimeError("disk full")

    runner = JobRunner(state_db, ingest, count=lambda status: None, after=lambda: None)
    first = runner.submit(JobKind.REINDEX)
    time.sleep(0.05)
    queued = [runner.submit(JobKind.LEARNING, on_failure=lambda n=n: undone.append(n)) for n in range(2)]
    release.set()
    failed = [_wait_for(runner, job.id) for job in queued]
    assert all(j.status is JobStatus.FAILED and j.error.endswith("(the change was undone)") for j in failed)
    assert undone == [1, 0] and _wait_for(runner, first.id).error == "RuntimeError: disk full"
    runner.close()
