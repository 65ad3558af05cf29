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
# The figures and hot words are a snapshot, retaken whenever the answers, ratings or pending
# reviews changed: at once for a log of fewer than FRESH_BELOW answers, else on a background
# thread at most every SNAPSHOT_SECONDS while the page shows the last one (for 10,000 answers,
# counting them and tokenizing their questions takes seconds: no page should wait for it).
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
    retaking: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


_snapshots: dict[int, _Snapshot] = {}


@router.get("")
def dashboard(request: Request, operator: OperatorDep) -> Response:
    service: Service = request.app.state.service
    figures, hot, taken = _snapshot(service)
    charts = [bar_chart("每日提问 · Questions a day", figures.days, lambda d: d.questions),
              bar_chart("每日解决率 · Resolution rate a day", figures.days,
                        lambda d: d.resolution_rate, percent=True)]
    gaps = service.learning.groups(8, candidates=False)
    return page(operator, "dashboard.html", "dashboard", "概览 · Dashboard", figures=figures,
                charts=charts, hot=hot, gaps=gaps, days=DAYS, taken=taken)


def _snapshot(service: Service) -> tuple[TeamFigures, list[Term], dt.datetime]:
    """(figures, hot words, when) of the service's snapshot: taken now when there is none or
    the log is small, else retaken in the background when due (see SNAPSHOT_SECONDS)."""
    snapshot = _snapshots.setdefault(id(service), _Snapshot())
    tz = team_timezone(service.settings.retrieval.timezone)
    start, end = window(None, None, days=DAYS, tz=tz)
    count = service.answers.count(start)
    key = (start, count, service.feedback.version(), service.reviews.pending())
    with snapshot.lock:
        stale = key != snapshot.key
        now = snapshot.figures is None or (stale and count < FRESH_BELOW)
        later = stale and not snapshot.retaking and time.monotonic() - snapshot.at >= SNAPSHOT_SECONDS
        if now:
            _take(service, snapshot, key, start, end, tz)
        elif later:
            snapshot.retaking = True
            threading.Thread(target=_retake, args=(service, snapshot, key, start, end, tz),
                             name="cs-rag-dashboard", daemon=True).start()
        return snapshot.figures, snapshot.hot, snapshot.taken


def _retake(service: Service, snapshot: _Snapshot, key: tuple, start, end, tz) -> None:
    try:
        fresh = _Snapshot()
        _take(service, fresh, key, start, end, tz)
        with snapshot.lock:
            snapshot.key, snapshot.at, snapshot.taken = fresh.key, fresh.at, fresh.taken
            snapshot.figures, snapshot.hot = fresh.figures, fresh.hot
    finally:
        snapshot.retaking = False


def _take(service: Service, snapshot: _Snapshot, key: tuple, start, end, tz) -> None:
    snapshot.figures = service_figures(service.knowledge_base, service.answers, service.feedback,
                                       service.reviews, start, end, Granularity.DAY, tz)
    snapshot.hot = _hot_words(service, start)
    snapshot.key, snapshot.at, snapshot.taken = key, time.monotonic(), dt.datetime.now(tz)


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
