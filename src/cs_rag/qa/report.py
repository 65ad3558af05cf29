"""The quality inspection report: per-agent scores against the standards, the team ranking,
findings by code and by agent with example evidence, the customers' emotion, and the
conversations most worth coaching; HTML (every text escaped) and Markdown via `ops.render`.

The standards are `[qa]` settings, each judged where the data allow: a mean first response
within `first_response_seconds` (conversations with an agent reply to a customer), a mean
handling time within `handling_minutes`, one-contact resolution (no unresolved finding) at least
`resolution_target`, and satisfaction (ratings of `satisfied_from` or more among rated
conversations) at least `satisfaction_target`.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from statistics import mean

from pydantic import BaseModel

from cs_rag.config import QaSettings
from cs_rag.ops import plots
from cs_rag.ops.render import Block, write_blocks
from cs_rag.qa.findings import FindingCode, Inspection

COACHING = 10          # conversations listed as most worth coaching
EXAMPLES = 2           # example evidence per code
_EMOTIONS = ("neutral", "dissatisfied", "disappointed", "angry")


class AgentSummary(BaseModel):
    """One agent's figures over the inspected conversations; a share is None without data."""

    agent_id: str
    conversations: int
    scores: dict[str, float]                  # mean per dimension and overall
    first_response_seconds: float | None      # mean first response (None: no agent reply)
    first_response_ok: float | None           # share answered within the standard
    handling_minutes: float                   # mean handling time
    handling_ok: float                        # share handled within the standard
    resolution: float                         # share without an unresolved finding
    satisfaction: float | None                # share of ratings >= satisfied_from
    rated: int
    findings: dict[str, int]                  # by code

    def below(self, settings: QaSettings) -> list[str]:
        """The standards this agent misses."""
        missed = []
        if self.first_response_seconds is not None and self.first_response_seconds > settings.first_response_seconds:
            missed.append("first response")
        if self.handling_minutes > settings.handling_minutes:
            missed.append("handling time")
        if self.resolution < settings.resolution_target:
            missed.append("resolution")
        if self.satisfaction is not None and self.satisfaction < settings.satisfaction_target:
            missed.append("satisfaction")
        return missed


def summarise(inspections: Sequence[Inspection], settings: QaSettings) -> list[AgentSummary]:
    """Per-agent figures, best overall score first."""
    by_agent: dict[str, list[Inspection]] = {}
    for inspection in inspections:
        by_agent.setdefault(inspection.agent_id, []).append(inspection)
    out = []
    for agent, own in by_agent.items():
        timed = [i.measures.first_response_seconds for i in own if i.measures.first_response_seconds is not None]
        ratings = [i.measures.satisfaction for i in own if i.measures.satisfaction is not None]
        out.append(AgentSummary(
            agent_id=agent, conversations=len(own),
            scores={d: mean(getattr(i.scores, d) for i in own)
                    for d in ("overall", "attitude", "competence", "communication", "efficiency")},
            first_response_seconds=mean(timed) if timed else None,
            handling_minutes=mean(i.measures.handling_seconds for i in own) / 60,
            first_response_ok=(sum(s <= settings.first_response_seconds for s in timed) / len(timed)
                               if timed else None),
            handling_ok=sum(i.measures.handling_seconds <= settings.handling_minutes * 60 for i in own) / len(own),
            resolution=sum(i.measures.resolved for i in own) / len(own),
            satisfaction=(sum(r >= settings.satisfied_from for r in ratings) / len(ratings)) if ratings else None,
            rated=len(ratings),
            findings=dict(Counter(f.code.value for i in own for f in i.findings))))
    return sorted(out, key=lambda s: (-s.scores["overall"], s.agent_id))


class QaReportFiles(BaseModel):
    """What `write_qa_report` wrote."""

    html: Path
    markdown: Path
    plots: list[Path]


def write_qa_report(inspections: Sequence[Inspection], out_dir: Path, settings: QaSettings, *,
                    source: str = "", texts: dict[str, list[str]] | None = None,
                    title: str = "cs_rag quality inspection report") -> QaReportFiles:
    """Write `report.html`, `report.md` and `plots/*.png` into `out_dir`. `texts` (conversation
    id -> its turns' texts) lets the coaching list quote the turns it names."""
    html, markdown, charts = write_blocks(qa_blocks(inspections, settings, source=source, texts=texts),
                                          out_dir, title)
    return QaReportFiles(html=html, markdown=markdown, plots=charts)


def qa_blocks(inspections: Sequence[Inspection], settings: QaSettings, *, source: str = "",
              texts: dict[str, list[str]] | None = None) -> list[Block]:
    """The report's blocks (see cs_rag.ops.render)."""
    agents = summarise(inspections, settings)
    checked = bool(inspections) and inspections[0].measures.wrong_info_checked
    blocks: list[Block] = [("p", f"Generated {dt.datetime.now().isoformat(timespec='seconds')} from "
                                 f"{source or 'the given conversations'}: {len(inspections)} conversations, "
                                 f"{len(agents)} agents, {sum(len(i.findings) for i in inspections)} findings.")]
    blocks.append(("p", "wrong_info was checked against the knowledge base's index." if checked else
                        "wrong_info was NOT checked: no index was given (cs-rag qa --index), so agents' "
                        "stated facts were not compared with the knowledge."))
    if not inspections:
        return blocks
    blocks += _standard_blocks(agents, settings)
    blocks += _ranking_blocks(agents)
    blocks += _finding_blocks(inspections, agents, texts)
    blocks += _emotion_blocks(inspections, settings)
    blocks += _coaching_blocks(inspections, texts)
    return blocks


def _standard_blocks(agents: list[AgentSummary], settings: QaSettings) -> list[Block]:
    rows, flagged = [], set()
    for summary in agents:
        missed = summary.below(settings)
        if missed:
            flagged.add(len(rows))
        first = ("-" if summary.first_response_seconds is None else
                 f"{summary.first_response_seconds:.0f} s ({_share(summary.first_response_ok)} within)")
        rows.append([summary.agent_id, str(summary.conversations), first,
                     f"{summary.handling_minutes:.1f} min ({_share(summary.handling_ok)} within)",
                     _share(summary.resolution),
                     f"{_share(summary.satisfaction)} of {summary.rated}" if summary.rated else "-",
                     ", ".join(missed) or "all met"])
    note = (f"Standards: first response within {settings.first_response_seconds:g} s and handling within "
            f"{settings.handling_minutes:g} min on average (the share of conversations within each beside "
            f"it), one-contact resolution at least "
            f"{settings.resolution_target:.0%} (no unresolved finding), satisfaction at least "
            f"{settings.satisfaction_target:.0%} (ratings of {settings.satisfied_from} or more among rated "
            "conversations; '-' without ratings). Rows in red miss a standard.")
    return [("h2", "Agents against the standards"),
            ("table", ["agent", "conversations", "first response", "handling", "resolution",
                       "satisfaction", "below standard"], rows, flagged),
            ("p", note)]


def _ranking_blocks(agents: list[AgentSummary]) -> list[Block]:
    labels = _labels([a.agent_id for a in agents], "A")
    keyed = any(label != name for name, label in labels.items())   # chart labels need a key
    rows = [[str(rank), *([labels[a.agent_id]] if keyed else []), a.agent_id,
             *(f"{a.scores[d]:.1f}" for d in ("overall", "attitude", "competence", "communication", "efficiency")),
             f"{sum(a.findings.values()) / a.conversations:.2f}"]
            for rank, a in enumerate(agents, start=1)]
    chart = plots.horizontal_bars({labels[a.agent_id]: round(a.scores["overall"], 1) for a in agents},
                                  "Team ranking", "mean overall score (0-100)")
    return [("h2", "Team ranking"),
            ("img", "ranking", chart, "Mean overall score per agent (docs/qa.md: how scores are computed)."),
            ("table", ["rank", *(["chart"] if keyed else []), "agent", "overall", "attitude", "competence", "communication",
                       "efficiency", "findings per conversation"], rows, set())]


def _finding_blocks(inspections: Sequence[Inspection], agents: list[AgentSummary],
                    texts: dict[str, list[str]] | None) -> list[Block]:
    counts = Counter(f.code.value for i in inspections for f in i.findings)
    if not counts:
        return [("h2", "Findings"), ("p", "No finding in any conversation.")]
    conversations = Counter(code for i in inspections for code in {f.code.value for f in i.findings})
    rows = []
    for code in FindingCode:
        if not counts.get(code.value):
            continue
        examples = [f"{i.id} turn {f.turn}: {f.evidence}" for i in inspections for f in i.findings
                    if f.code is code][:EXAMPLES]
        rows.append([code.value, str(counts[code.value]), str(conversations[code.value]), " / ".join(examples)])
    ordered = {code: counts[code] for code, _ in counts.most_common()}
    codes = [code.value for code in FindingCode if counts.get(code.value)]
    by_agent = [[a.agent_id, *(str(a.findings.get(code, 0)) for code in codes)] for a in agents]
    return [("h2", "Findings by code"),
            ("img", "findings", plots.horizontal_bars(ordered, "Findings by code", "findings"),
             f"Findings in the {len(inspections)} conversations."),
            ("table", ["code", "findings", "conversations", "example evidence"], rows, set()),
            ("h2", "Findings by agent"),
            ("table", ["agent", *codes], by_agent, set())]


def _emotion_blocks(inspections: Sequence[Inspection], settings: QaSettings) -> list[Block]:
    n = len(inspections)
    start = Counter(i.measures.emotion_start for i in inspections)
    end = Counter(i.measures.emotion_end for i in inspections)
    series = {"first message": {e: start.get(e, 0) / n for e in _EMOTIONS},
              "last message": {e: end.get(e, 0) / n for e in _EMOTIONS}}
    upset = sum(i.measures.upset_level >= settings.upset_level for i in inspections)
    calmed = sum(i.measures.emotion_start != "neutral" and i.measures.emotion_end == "neutral" for i in inspections)
    rows = [[e, str(start.get(e, 0)), str(end.get(e, 0))] for e in _EMOTIONS]
    return [("h2", "Customer emotion"),
            ("img", "emotion", plots.grouped_bars(series, "Customer emotion", "share of conversations",
                                                  percent=True),
             "The guard's reading of each customer's first and last message."),
            ("table", ["emotion", "first message", "last message"], rows, set()),
            ("p", f"{upset} of {n} conversations had a clearly upset customer (guard level "
                  f"{settings.upset_level} or more); {calmed} customers who started upset ended neutral.")]


def _coaching_blocks(inspections: Sequence[Inspection], texts: dict[str, list[str]] | None) -> list[Block]:
    worst = sorted((i for i in inspections if i.findings), key=lambda i: (i.scores.overall, i.id))[:COACHING]
    if not worst:
        return []
    rows = []
    for inspection in worst:
        evidence = []
        for finding in inspection.findings[:4]:
            said = texts[inspection.id][finding.turn] if texts and inspection.id in texts else ""
            quote = said if said and len(said) <= 80 else finding.evidence
            evidence.append(f"[{finding.code.value}, turn {finding.turn}] {quote}")
        rows.append([inspection.id, inspection.agent_id, str(inspection.scores.overall),
                     ", ".join(sorted({f.code.value for f in inspection.findings})), " / ".join(evidence)])
    return [("h2", "Conversations most worth coaching"),
            ("p", f"The {len(worst)} lowest overall scores, with what was said at their findings."),
            ("table", ["conversation", "agent", "overall", "codes", "evidence"], rows, set())]


def _labels(names: list[str], prefix: str) -> dict[str, str]:
    """Chart labels: a name as it is, unless it needs a CJK font that is not installed."""
    cjk = plots.cjk_font() is not None
    return {name: name if cjk or name.isascii() else f"{prefix}{i}" for i, name in enumerate(names, start=1)}


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"
