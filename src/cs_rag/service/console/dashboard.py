"""The console's dashboard: the team's figures (as /v1/stats), day trends as bar charts, hot
words of the window's questions and the largest open learning groups (the knowledge gaps)."""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass, field

from fastapi import APIRouter, Request
from fastapi.responses import Response

from cs_rag.learning.stats import DayFigures, Granularity, TeamFigures, team_timezone, window
from cs_rag.ops.insights import QuestionRecord, Term, hot_words
from cs_rag.service.console.render import page
from cs_rag.service.console.signin import OperatorDep
from cs_rag.service.figures import service_figures
from cs_rag.service.state import Service

router = APIRouter(prefix="/console", include_in_schema=False)

DAYS = 30
# The figures and hot words are a snapshot: recomputed whenever the answers, ratings or pending
# reviews changed, but for a log of FRESH_BELOW answers or more at most every SNAPSHOT_SECONDS
# (counting 10,000 answers and tokenizing their questions takes longer than a page should).
SNAPSHOT_SECONDS = 30.0
FRESH_BELOW = 1000
CHART_WIDTH, CHART_HEIGHT = 300, 90


@dataclass
class _Snapshot:
    key: tuple = ()
    at: float = -SNAPSHOT_SECONDS
    taken: dt.datetime | None = None
    figures: TeamFigures | None = None
    hot: list[Term] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


_snapshots: dict[int, _Snapshot] = {}


@router.get("")
def dashboard(request: Request, operator: OperatorDep) -> Response:
    service: Service = request.app.state.service
    snapshot = _snapshot(service)
    figures = snapshot.figures
    charts = [bar_chart("每日提问 · Questions a day", figures.days, lambda d: d.questions),
              bar_chart("每日解决率 · Resolution rate a day", figures.days,
                        lambda d: d.resolution_rate, percent=True)]
    gaps = service.learning.groups(8, candidates=False)
    return page(request, operator, "dashboard.html", "dashboard", "概览 · Dashboard", figures=figures,
                charts=charts, hot=snapshot.hot, gaps=gaps, days=DAYS, taken=snapshot.taken)


def _snapshot(service: Service) -> _Snapshot:
    """The service's current snapshot, recomputed when due (see SNAPSHOT_SECONDS)."""
    tz = team_timezone(service.settings.retrieval.timezone)
    start, end = window(None, None, days=DAYS, tz=tz)
    snapshot = _snapshots.setdefault(id(service), _Snapshot())
    with snapshot.lock:
        count = service.answers.count(start)
        key = (start, count, service.feedback.version(), service.reviews.pending())
        due = count < FRESH_BELOW or time.monotonic() - snapshot.at >= SNAPSHOT_SECONDS
        if snapshot.figures is None or (key != snapshot.key and due):
            snapshot.figures = service_figures(service.knowledge_base, service.answers, service.feedback,
                                               service.reviews, start, end, Granularity.DAY, tz)
            snapshot.hot = _hot_words(service, start)
            snapshot.key, snapshot.at = key, time.monotonic()
            snapshot.taken = dt.datetime.now(tz)
        return snapshot


def _hot_words(service: Service, since: dt.datetime) -> list[Term]:
    if not service.knowledge_base.exists:
        return []
    records = [QuestionRecord(question=r.question, ts=r.at) for r in service.answers.between(since)
               if r.outcome.value != "smalltalk"]
    return hot_words(records, service.knowledge_base.retriever().tokenizer, top=12).terms if records else []


def bar_chart(title: str, days: list[DayFigures], value, percent: bool = False) -> dict:
    """A chart's bars in SVG coordinates (drawn by the template, no script needed)."""
    values = [value(d) or 0.0 for d in days]
    peak = max(values, default=0.0) or 1.0
    width = CHART_WIDTH / max(len(values), 1)
    bars = []
    for i, (day, v) in enumerate(zip(days, values)):
        height = round(v / peak * (CHART_HEIGHT - 4), 1)
        shown = f"{v * 100:.0f}%" if percent else f"{v:.0f}"
        bars.append({"x": round(i * width + 1, 1), "w": round(max(width - 2, 1), 1),
                     "y": round(CHART_HEIGHT - 1 - height, 1), "h": height, "label": f"{day.day}: {shown}"})
    shown_peak = f"{peak * 100:.0f}%" if percent else f"{peak:.0f}"
    return {"title": title, "bars": bars, "width": CHART_WIDTH, "height": CHART_HEIGHT,
            "first": str(days[0].day) if days else "", "last": str(days[-1].day) if days else "",
            "peak": f"max {shown_peak}"}
