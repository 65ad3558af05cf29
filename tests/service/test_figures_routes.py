"""GET /v1/stats and GET /v1/knowledge/health in process, on a service over an empty index (no
model needed): who may call them, bad query values, and the figures of answers it gave.
tests/service/test_routes.py reads the health of a real index."""

from __future__ import annotations

import pytest

from cs_rag.learning.feedback import FeedbackReason
from cs_rag.service.reviews import ReviewStatus
from cs_rag.types import Answer, Citation, DocumentKind, Outcome, Routing

from helpers import service_client

CLIENT, ADMIN = "client-key-figures", "admin-key-figures"
AS_CLIENT = {"Authorization": f"Bearer {CLIENT}"}
AS_ADMIN = {"Authorization": f"Bearer {ADMIN}"}


@pytest.fixture(scope="module")
def client(tmp_path_factory, settings):
    with service_client(tmp_path_factory.mktemp("figures"), settings, [CLIENT], [ADMIN], knowledge=False) as client:
        yield client


def _answer(trace_id: str, outcome: Outcome, routing: Routing = Routing.SEND) -> Answer:
    cited = [Citation(marker=1, id="f-refund", doc_id="f-refund", source="faq.jsonl", kind=DocumentKind.FAQ,
                      title="退款多久到账", score=1.0)] if outcome is Outcome.ANSWERED else []
    return Answer(question="退款多久到账", text="…", outcome=outcome, confidence=0.9, citations=cited,
                  routing=routing, trace_id=trace_id, trace={"trace_id": trace_id, "timings_ms": {"total": 5.0}})


def test_figures_are_for_admins_only(client):
    for path in ("/v1/stats", "/v1/knowledge/health"):
        assert client.get(path).status_code == 401
        assert client.get(path, headers=AS_CLIENT).status_code == 403


def test_stats_count_the_answers_the_service_gave(client):
    service = client.app.state.service
    for trace_id, outcome in [("s-a1", Outcome.ANSWERED), ("s-a2", Outcome.ANSWERED),
                              ("s-r1", Outcome.REFUSED), ("s-h1", Outcome.HANDOFF)]:
        service.record(_answer(trace_id, outcome), "session-1")
    service.feedback.record("s-a1", False, FeedbackReason.WRONG)
    queued = _answer("s-a2", Outcome.ANSWERED, Routing.REVIEW)
    review_id = service.reviews.add(queued, "session-1", [], None)
    service.reviews.decide(review_id, ReviewStatus.REJECTED, final_text=None, note=None, decided_by="-")
    figures = client.get("/v1/stats", headers=AS_ADMIN).json()
    total = figures["total"]
    assert total["questions"] == 4 and total["no_answer_rate"] == total["handoff_rate"] == 0.25
    assert total["resolved"] == 0 and total["rejected_in_review"] == 1   # s-a1 disliked, s-a2 rejected
    assert total["satisfaction"] == 0.0 and total["rated_share"] == 0.25 and total["wrong_share"] == 1.0
    assert len(figures["days"]) == 30 and figures["days"][-1]["questions"] == 4
    assert figures["categories"] == [{**total, "category": None}]   # no entries: no categories
    only = client.get("/v1/stats", params={"granularity": "total", "since": "2020-01-01"}, headers=AS_ADMIN)
    assert only.json()["days"] == [] and only.json()["total"]["questions"] == 4


@pytest.mark.parametrize("query, field", [({"since": "yesterday"}, "since"), ({"until": "2026-13-01"}, "until"),
                                          ({"since": "2026-11-03", "until": "2026-11-02"}, "until"),
                                          ({"since": "2020-01-01"}, "since"),   # over a year, by day
                                          ({"granularity": "week"}, "granularity")])
def test_a_bad_window_is_a_422_naming_the_query_field(client, query, field):
    response = client.get("/v1/stats", params=query, headers=AS_ADMIN)
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["query", field]


def test_the_health_of_an_empty_index_is_empty(client):
    health = client.get("/v1/knowledge/health", params={"days": 7}, headers=AS_ADMIN).json()
    assert health["entries"] == 0 and health["days"] == 7 and health["never_matched"] == []
    assert client.get("/v1/knowledge/health", params={"days": 0}, headers=AS_ADMIN).status_code == 422
