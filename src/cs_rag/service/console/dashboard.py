"""The console's dashboard: the team's figures (as /v1/stats), day trends as bar charts, hot
words of the window's questions and the largest open learning groups (the knowledge gaps)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from fastapi import APIRouter, Request
from fastapi.responses import Response

from cs_rag.learning.stats import DayFigures, Granularity, team_timezone, window
from cs_rag.ops.insights import QuestionRecord, Term, hot_words
from cs_rag.service.console.render import page
from cs_rag.service.console.signin import OperatorDep
from cs_rag.service.figures import service_figures
from cs_rag.service.state import Service

router = APIRouter(prefix="/console", include_in_schema=False)

DAYS = 30
HOT_WORDS_SECONDS = 60.0    # a large log's hot words are recounted at most this often (tokenizing
FRESH_BELOW = 1000          # every question); a log smaller than FRESH_BELOW at every change
CHART_WIDTH, CHART_HEIGHT = 300, 90


@dataclass
class _HotWordsCache:
    at: float = -HOT_WORDS_SECONDS
    counted: int = -1
    terms: list[Term] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


_hot_cache: dict[int, _HotWordsCache] = {}


@router.get("")
def dashboard(request: Request, operator: OperatorDep) -> Response:
    service: Service = request.app.state.service
    tz = team_timezone(service.settings.retrieval.timezone)
    start, end = window(None, None, days=DAYS, tz=tz)
    figures = service_figures(service.knowledge_base, service.answers, service.feedback, service.reviews,
                              start, end, Granularity.DAY, tz)
    charts = [bar_chart("每日提问 · Questions a day", figures.days, lambda d: d.questions),
              bar_chart("每日解决率 · Resolution rate a day", figures.days,
                        lambda d: d.resolution_rate, percent=True)]
    gaps = service.learning.groups(8, candidates=False)
    return page(request, operator, "dashboard.html", "dashboard", "概览 · Dashboard", figures=figures,
                charts=charts, hot=_hot_words(service, start), gaps=gaps, days=DAYS)


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


def _hot_words(service: Service, since) -> list[Term]:
    """The window's top terms: recounted when the questions changed, for a large log at most
    every HOT_WORDS_SECONDS."""
    cache = _hot_cache.setdefault(id(service), _HotWordsCache())
    with cache.lock:
        if not service.knowledge_base.exists:
            return cache.terms
        count = service.answers.count(since)
        due = count < FRESH_BELOW or time.monotonic() - cache.at >= HOT_WORDS_SECONDS
        if count != cache.counted and due:
            records = [QuestionRecord(question=r.question, ts=r.at) for r in service.answers.between(since)
                       if r.outcome.value != "smalltalk"]
            tokenizer = service.knowledge_base.retriever().tokenizer
            cache.terms = hot_words(records, tokenizer, top=12).terms if records else []
            cache.at, cache.counted = time.monotonic(), count
        return cache.terms
