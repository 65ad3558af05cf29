"""The operator report's learning-loop sections: the team's figures (with a trend chart by
day) and the knowledge health, as blocks for `cs_rag.ops.report.write_report(sections=...)`."""

from __future__ import annotations

from cs_rag.learning.health import KnowledgeHealth
from cs_rag.learning.stats import Figures, TeamFigures
from cs_rag.ops import plots
from cs_rag.ops.report import Block

_RATES = (("answered", "answered_rate"), ("clarified", "clarify_rate"), ("refused (无答案率)", "no_answer_rate"),
          ("handed off (转人工率)", "handoff_rate"), ("resolved", "resolution_rate"),
          ("satisfaction (helpful / rated)", "satisfaction"), ("rated share", "rated_share"),
          ("rated wrong (of rated)", "wrong_share"))
_BREAKDOWN = ["questions", "resolved", "satisfaction", "rated share", "无答案率", "转人工率"]


def figure_blocks(figures: TeamFigures) -> list[Block]:
    """The team's figures: the total, a satisfaction and resolution trend by day, a table by
    day and one by category."""
    total = figures.total
    window = (f"{figures.since:%Y-%m-%d %H:%M} to {figures.until:%Y-%m-%d %H:%M}"
              if figures.since and figures.until else "every answer kept")
    blocks: list[Block] = [
        ("h2", "The team's figures"),
        ("p", f"Answers the service gave, {window} ({figures.timezone}): {total.questions} questions "
              f"and {total.smalltalk} small-talk replies, which are left out of every rate. Resolved: "
              "answered and not rated unhelpful (nor rejected in review), or a clarify reply whose "
              "option was picked. Customers choose whether to rate, so satisfaction speaks for those "
              "who rated; the rated share is beside it."),
        ("table", ["figure", "value"],
         [["questions", str(total.questions)],
          *([name, _percent(getattr(total, field))] for name, field in _RATES),
          ["latency p50 / p95 (ms)", f"{_number(total.latency_ms_p50)} / {_number(total.latency_ms_p95)}"]],
         set())]
    if figures.days and total.questions:
        labels = [day.day.isoformat() for day in figures.days]
        blocks += [("img", "team_trend", plots.trend(
                        labels, {"satisfaction": [d.satisfaction for d in figures.days],
                                 "resolution": [d.resolution_rate for d in figures.days]},
                        "Satisfaction and resolution by day", "share", percent=True),
                    "Satisfaction: helpful over rated answers; resolution: resolved over questions. "
                    "A gap: no rating, or no question, that day."),
                   ("table", ["day", *_BREAKDOWN],
                    [[day.day.isoformat(), *_breakdown(day)] for day in figures.days if day.questions], set())]
    if figures.categories:
        blocks.append(("table", ["category", *_BREAKDOWN],
                       [[c.category or "(none)", *_breakdown(c)] for c in figures.categories], set()))
    return blocks


def health_blocks(health: KnowledgeHealth) -> list[Block]:
    """The knowledge health: one table per list, or a line saying it is empty."""
    blocks: list[Block] = [
        ("h2", "Knowledge health"),
        ("p", f"{health.entries} entries and documents in the live index; answers of the last "
              f"{health.days} days (to {health.until:%Y-%m-%d %H:%M} UTC).")]
    kinds = [("never_matched", "Never matched: valid today, no answered answer cited them", []),
             ("expiring", f"Validity ends within {health.days} days", ["valid to", "days left"]),
             ("expired", "Validity ended: still in the index, never returned", ["valid to", "days ago"]),
             ("disliked", "Most disliked: first in answers customers rated unhelpful", ["dislikes"]),
             ("rejected", "Most rejected in review", ["rejections"])]
    for name, caption, extra in kinds:
        entries = getattr(health, name)
        rows = [[e.id, e.title, e.category or "-", *_extra(name, e)] for e in entries]
        blocks += _listing(caption, ["id", "title", "category", *extra], rows, health.totals[name])
    pairs = [[d.first, d.first_question, d.second, d.second_question, f"{d.cosine:.3f}"]
             for d in health.near_duplicates]
    blocks += _listing(f"Near-duplicates: questions of two entries at cosine >= {health.duplicate_cosine:g}",
                       ["entry", "question", "other entry", "its question", "cosine"], pairs,
                       health.totals["near_duplicates"])
    return blocks


def _listing(caption: str, headers: list[str], rows: list[list[str]], total: int) -> list[Block]:
    if not rows:
        return [("p", f"{caption}: none.")]
    more = f" ({total - len(rows)} more not shown)" if total > len(rows) else ""
    return [("p", f"{caption}: {total}{more}."), ("table", headers, rows, set())]


def _extra(name: str, entry) -> list[str]:
    if name in ("expiring", "expired"):
        return [entry.valid_to.isoformat(), str(abs(entry.days_left))]
    return [str(entry.count)] if name in ("disliked", "rejected") else []


def _breakdown(f: Figures) -> list[str]:
    return [str(f.questions), _percent(f.resolution_rate), _percent(f.satisfaction), _percent(f.rated_share),
            _percent(f.no_answer_rate), _percent(f.handoff_rate)]


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"
