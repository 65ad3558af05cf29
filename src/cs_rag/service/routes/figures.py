"""The team's figures and the knowledge's health, from the answers this service gave."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from cs_rag.errors import WindowError
from cs_rag.learning.health import DUPLICATE_COSINE, KnowledgeHealth
from cs_rag.learning.stats import Granularity, TeamFigures, team_timezone, window
from cs_rag.service.deps import AdminDep, ServiceDep
from cs_rag.service.figures import service_figures, service_health
from cs_rag.service.responses import invalid, json_response
from cs_rag.service.schemas import ADMIN_ERRORS

router = APIRouter(prefix="/v1", tags=["figures"])

_WHEN = ("an ISO date (2026-11-01: that day's first moment in retrieval.timezone, else the server's; as "
         "`until`, the day is included) or date-time (2026-11-01T08:00:00+08:00)")


@router.get("/stats", response_model=TeamFigures, responses=ADMIN_ERRORS)
def stats(service: ServiceDep, caller: AdminDep,
          since: Annotated[str | None, Query(description=f"{_WHEN}; default 30 days before `until`")] = None,
          until: Annotated[str | None, Query(description=f"{_WHEN}; default the end of today")] = None,
          granularity: Granularity = Granularity.DAY) -> Response:
    """The team's figures over [since, until): questions, answered / clarified / refused
    (无答案率) / handed-off (转人工率) shares, resolution rate, satisfaction beside the share of
    answers rated (customers choose to rate: satisfaction speaks for those who did), the share
    of ratings saying "wrong", latency p50/p95; in total, by day and by category. Small talk
    is left out of every rate. Each figure is defined in `cs_rag.learning.stats.Figures`."""
    try:
        tz = team_timezone(service.settings.retrieval.timezone)
        start, end = window(since, until, tz=tz)
        figures = service_figures(service.knowledge_base, service.answers, service.feedback,
                                  service.reviews, start, end, granularity, tz)
    except WindowError as exc:
        invalid(("query", exc.field), "value_error", str(exc))
    return json_response(figures)


@router.get("/knowledge/health", response_model=KnowledgeHealth,
            responses=ADMIN_ERRORS)
def health(service: ServiceDep, caller: AdminDep,
           days: Annotated[int, Query(ge=1, le=366, description="the window, in days up to now")] = 30,
           limit: Annotated[int, Query(ge=1, le=1000, description="entries per list at most")] = 50,
           duplicate_cosine: Annotated[float, Query(gt=0, le=1)] = DUPLICATE_COSINE) -> Response:
    """Entries to look at: never matched in the window, expiring within `days` days or expired,
    most disliked, most rejected in review, and near-duplicates (see
    `cs_rag.learning.health.KnowledgeHealth`)."""
    service.require_index()
    return json_response(service_health(service.knowledge_base, service.answers, service.feedback,
                                        service.reviews, days, limit=limit, duplicate_cosine=duplicate_cosine,
                                        tz=team_timezone(service.settings.retrieval.timezone)))
