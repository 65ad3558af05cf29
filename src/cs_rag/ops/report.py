"""The operator's report: an eval run (and optionally the question log and a previous run) as
one self-contained HTML file with embedded charts, and the same as Markdown.

Where each chart's numbers come from:

- recall@k, confidence by result, latency, per-category accuracy: the eval results
  (`cs-rag eval --json`), per question: `rank`, `gold_ids`, `confidence`, `latency_ms`,
  `category`, `decision`;
- decision mix: the eval's retrieval decisions (answer / clarify / none = refuse) — a record
  carrying an `outcome` (answered / clarify / refused / handoff) counts as that instead — and,
  beside them, the outcomes in the question log;
- guard flags by kind: the question log (`cs_rag.ops.insights` describes its format); eval records
  carrying `flags` are used when no log is given. Retrieval alone raises no flags and never
  hands off, so without either the chart is left out and the report says why.

A previous run's metrics are compared metric by metric; a quality metric that drops by more
than `tolerance` (absolute) or a latency percentile that grows by more than
`latency_tolerance` (relative) is a regression, marked REGRESSION and shown in red.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, Field

from cs_rag.errors import InputError
from cs_rag.ops import plots
from cs_rag.ops.insights import HotWords, QuestionRecord
from cs_rag.ops.moods import mood_blocks
from cs_rag.ops.render import Block, write_blocks

QUALITY_METRICS = ("R@1", "R@5", "R@10", "MRR@10", "nDCG@10", "R@1_with_refusal",
                   "refusal_precision", "refusal_recall")
LATENCY_METRICS = ("latency_ms_p50", "latency_ms_p95")
DECISION_LABELS = {"answer": "answer", "answered": "answer", "clarify": "clarify", "none": "refuse",
                   "refused": "refuse", "handoff": "hand-off", "smalltalk": "small talk"}
DECISION_ORDER = ("answer", "clarify", "refuse", "hand-off")
LOG_ORDER = (*DECISION_ORDER, "small talk")  # a question log also holds small-talk replies
MAX_K = 10


class EvalRun(BaseModel):
    """What `cs-rag eval --json` printed: summary metrics plus per-question `results`."""

    summary: dict
    results: list[dict] = Field(default_factory=list)
    source: str = ""


def load_eval(path: Path) -> EvalRun:
    """An eval results file; with `--compare` output, the first config's run. InputError when
    the file is not such a JSON object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(str(path), f"cannot read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise InputError(str(path), f"not JSON: {exc.msg}", line=exc.lineno) from None
    if isinstance(data, dict) and "results" not in data and isinstance(data.get("config"), dict):
        data = data["config"]
    if not isinstance(data, dict) or not isinstance(data.get("results"), list):
        raise InputError(str(path), "expected the JSON object of `cs-rag eval --json` "
                                    "(metrics and a 'results' list)")
    for number, record in enumerate(data["results"]):
        if not isinstance(record, dict) or not isinstance(record.get("question"), str):
            raise InputError(str(path), "every result needs a 'question'", field=f"results[{number}]")
    summary = {k: v for k, v in data.items() if k != "results"}
    return EvalRun(summary=summary, results=data["results"], source=str(path))


class Change(BaseModel):
    """One metric in this run against the previous run."""

    metric: str
    before: float | None
    after: float | None
    regression: bool = False

    @property
    def delta(self) -> float | None:
        return None if self.before is None or self.after is None else self.after - self.before


def counts(run: EvalRun) -> dict[str, int]:
    """How many questions each decision label got (answer / clarify / refuse / hand-off)."""
    found = Counter(_decision(r) for r in run.results)
    return {label: found.get(label, 0) for label in DECISION_ORDER}


def category_accuracy(run: EvalRun) -> dict[str, tuple[int, float, str]]:
    """{category: (questions, accuracy, measure)}: R@1 over a category's in-scope questions;
    for a category of out-of-scope questions only, the share refused."""
    groups: dict[str, list[dict]] = {}
    for record in run.results:
        groups.setdefault(record.get("category") or "(none)", []).append(record)
    out = {}
    for name, records in sorted(groups.items()):
        in_scope = [r for r in records if r.get("gold_ids")]
        if in_scope:
            out[name] = (len(records), sum(r.get("rank") == 1 for r in in_scope) / len(in_scope), "R@1")
        else:
            out[name] = (len(records), sum(_decision(r) == "refuse" for r in records) / len(records),
                         "refused")
    return out


def compare(current: EvalRun, previous: EvalRun, *, tolerance: float = 0.01,
            latency_tolerance: float = 0.25) -> list[Change]:
    """Quality metrics, latency percentiles, decision counts and per-category accuracy, this
    run against `previous`. Counts are informational (more refusals can be right or wrong);
    the others are regressions past their tolerance."""
    changes = []
    for metric in QUALITY_METRICS:
        before, after = _number(previous.summary.get(metric)), _number(current.summary.get(metric))
        if before is None and after is None:
            continue
        changes.append(Change(metric=metric, before=before, after=after,
                              regression=_dropped(before, after, tolerance)))
    for metric in LATENCY_METRICS:
        before, after = _number(previous.summary.get(metric)), _number(current.summary.get(metric))
        if before is None and after is None:
            continue
        changes.append(Change(metric=metric, before=before, after=after,
                              regression=bool(before and after is not None
                                              and after > before * (1 + latency_tolerance))))
    before_counts, after_counts = counts(previous), counts(current)
    for label in DECISION_ORDER:
        name = {"refuse": "refusals", "clarify": "clarifications", "answer": "answers",
                "hand-off": "hand-offs"}[label]
        changes.append(Change(metric=name, before=before_counts[label], after=after_counts[label]))
    before_categories = category_accuracy(previous)
    for name, (_, accuracy, measure) in category_accuracy(current).items():
        old = before_categories.get(name)
        before = old[1] if old and old[2] == measure else None
        changes.append(Change(metric=f"{measure} [{name}]", before=before, after=accuracy,
                              regression=_dropped(before, accuracy, tolerance)))
    return changes


def _dropped(before: float | None, after: float | None, tolerance: float) -> bool:
    # a hair of slack: a drop of exactly `tolerance` must not count through rounding
    return before is not None and after is not None and after < before - tolerance - 1e-9


def headline(changes: list[Change]) -> str:
    """One line: R@1 before -> after, the change in refusals, and the regressions."""
    by_name = {c.metric: c for c in changes}
    parts = []
    if (r1 := by_name.get("R@1")) and r1.before is not None and r1.after is not None:
        parts.append(f"R@1 {r1.before:.3f} -> {r1.after:.3f}")
    if (refusals := by_name.get("refusals")) is not None:
        parts.append(f"refusals {refusals.delta:+.0f}")
    regressions = [c.metric for c in changes if c.regression]
    parts.append(f"REGRESSION: {', '.join(regressions)}" if regressions else "no regression")
    return ", ".join(parts)


class ReportFiles(BaseModel):
    """What `write_report` wrote."""

    html: Path
    markdown: Path
    plots: list[Path]
    regressions: list[str]
    headline: str | None = None


def write_report(run: EvalRun, out_dir: Path, *, log: list[QuestionRecord] | None = None,
                 previous: EvalRun | None = None, hot_words: HotWords | None = None,
                 tolerance: float = 0.01, latency_tolerance: float = 0.25,
                 sections: Sequence[list[Block]] = (),
                 title: str = "cs_rag operator report") -> ReportFiles:
    """Write `report.html` (charts embedded as base64 PNG data URIs: one file, readable
    offline), `report.md` and the charts as `plots/*.png` (which the Markdown links) into
    `out_dir`, created if needed. `sections` (lists of blocks, see Block) come last, e.g.
    the team's figures and the knowledge health of `cs_rag.learning.report_sections`."""
    changes = compare(run, previous, tolerance=tolerance,
                      latency_tolerance=latency_tolerance) if previous else []
    blocks = _blocks(run, log, previous, hot_words, changes, tolerance, latency_tolerance)
    blocks += [block for section in sections for block in section]
    html_path, md_path, written = write_blocks(blocks, out_dir, title)
    return ReportFiles(html=html_path, markdown=md_path, plots=written,
                       regressions=[c.metric for c in changes if c.regression],
                       headline=headline(changes) if previous else None)


def _blocks(run, log, previous, hot_words, changes, tolerance, latency_tolerance) -> list[tuple]:
    blocks: list[tuple] = [("p", f"Generated {dt.datetime.now().isoformat(timespec='seconds')} "
                                 f"from {run.source or 'an eval run'}"
                                 + (f", compared with {previous.source}" if previous else "")
                                 + (f"; question log: {len(log)} questions" if log is not None else "")
                                 + ".")]
    if previous:
        blocks.append(("p", headline(changes)))
    blocks += _summary_blocks(run, changes, tolerance, latency_tolerance)
    in_scope = [r for r in run.results if r.get("gold_ids")]
    if in_scope:
        blocks += [("h2", "Recall at k"),
                   ("img", "recall_at_k", plots.recall_curve(
                       _recall_curve(run), _recall_curve(previous) if previous else None),
                    "Share of in-scope questions with a right hit within the first k.")]
    groups = {"correct": [r["confidence"] for r in in_scope if r.get("rank") == 1],
              "wrong": [r["confidence"] for r in in_scope if r.get("rank") != 1],
              "out-of-scope": [r["confidence"] for r in run.results if not r.get("gold_ids")]}
    blocks += [("h2", "Confidence"),
               ("img", "confidence", plots.confidence_histogram(
                   {k: v for k, v in groups.items() if v}),
                "Correct: the first hit is right; wrong: an in-scope question whose first hit is "
                "not; out-of-scope: the knowledge cannot answer it. Good calibration puts "
                "correct to the right and the others to the left.")]
    blocks += _decision_blocks(run, log)
    latencies = [r["latency_ms"] for r in run.results if isinstance(r.get("latency_ms"), (int, float))]
    if latencies:
        blocks += [("h2", "Latency"),
                   ("img", "latency", plots.latency_histogram(latencies),
                    "Retrieval time per question in the eval run, up to the 99th percentile.")]
    blocks += _flag_blocks(run, log)
    if log:
        blocks += _unknown_name_blocks(log)
        blocks += mood_blocks(log)
    blocks += _category_blocks(run, previous, changes)
    if hot_words is not None:
        blocks += _hot_word_blocks(hot_words)
    return blocks


def _summary_blocks(run, changes, tolerance, latency_tolerance) -> list[tuple]:
    keys = ["questions", "in_scope", "out_of_scope", *QUALITY_METRICS,
            *(f"decision_{d}" for d in ("answer", "clarify", "none")), *LATENCY_METRICS]
    present = [k for k in keys if k in run.summary]
    if not changes:
        return [("h2", "Summary"), ("table", ["metric", "value"],
                                    [[k, _fmt(run.summary[k])] for k in present], set())]
    rows, flagged = [], set()
    for change in changes:
        if change.metric.startswith(("R@1 [", "refused [")):
            continue   # per category, in its own section
        status = "REGRESSION" if change.regression else ""
        if change.regression:
            flagged.add(len(rows))
        rows.append([change.metric, _fmt(change.before), _fmt(change.after), _signed(change.delta), status])
    note = (f"A regression: a quality metric down by more than {tolerance:g}, or a latency "
            f"percentile up by more than {latency_tolerance:.0%}.")
    return [("h2", "Summary against the previous run"),
            ("table", ["metric", "previous", "this run", "change", "status"], rows, flagged),
            ("p", note)]


def _decision_blocks(run, log) -> list[tuple]:
    n = len(run.results) or 1
    series = {"eval": {label: count / n for label, count in counts(run).items()}}
    if log:
        found = Counter(DECISION_LABELS[r.outcome.value] for r in log if r.outcome is not None)
        total = sum(found.values())
        if total:
            series["question log"] = {label: found.get(label, 0) / total for label in LOG_ORDER}
    order = LOG_ORDER if "question log" in series else DECISION_ORDER
    rows = [[label, *(f"{values.get(label, 0.0):.1%}" for values in series.values())] for label in order]
    return [("h2", "Decision mix"),
            ("img", "decisions", plots.grouped_bars(series, "Decision mix", "share of questions",
                                                    percent=True),
             "What happened to each question: answered, clarified (options offered), refused "
             "(the knowledge does not cover it) or handed off to a person."),
            ("table", ["decision", *series], rows, set())]


def _flag_blocks(run, log) -> list[tuple]:
    if log is not None:
        kinds = Counter(kind for r in log for kind in r.flags)
        source = "the question log"
        asked = len(log)
    elif any("flags" in r for r in run.results):
        kinds = Counter(kind if isinstance(kind, str) else kind.get("kind")
                        for r in run.results for kind in r.get("flags") or [])
        source = "the eval results"
        asked = len(run.results)
    else:
        return [("h2", "Guard flags"),
                ("p", "No flags to show: eval results carry retrieval decisions only. Pass "
                      "--log with the service's question log to chart the guard's flags.")]
    if not kinds:
        return [("h2", "Guard flags"), ("p", f"No flag raised on the {asked} questions of {source}.")]
    ordered = dict(kinds.most_common())
    return [("h2", "Guard flags"),
            ("img", "flags", plots.horizontal_bars(ordered, "Guard flags by kind", "flags raised"),
             f"Flags raised on the {asked} questions of {source}."),
            ("table", ["kind", "flags", "per 100 questions"],
             [[k, str(v), f"{100 * v / asked:.1f}"] for k, v in ordered.items()], set())]


def _unknown_name_blocks(log: list[QuestionRecord]) -> list[tuple]:
    """Names of other platforms, events and services customers asked about that the knowledge
    never mentions (retrieval.near_miss_names): topics to write up, or to decline."""
    asked: dict[str, list[str]] = {}
    for record in log:
        for name in record.unknown_names:
            asked.setdefault(name, []).append(record.question)
    if not asked:
        return []
    ranked = sorted(asked.items(), key=lambda item: (-len(item[1]), item[0]))
    return [("h2", "Names your knowledge never mentions"),
            ("p", ("Questions naming another platform, a shopping event or a service your knowledge "
                   "never mentions were not answered directly (retrieval.near_miss_names). A name asked "
                   "about often is a topic to write up, or to decline in the learning queue.")),
            ("table", ["name", "questions", "for example"],
             [[name, str(len(questions)), questions[0]] for name, questions in ranked], set())]


def _category_blocks(run, previous, changes) -> list[tuple]:
    accuracy = category_accuracy(run)
    if not accuracy:
        return []
    names = list(accuracy)
    # without a CJK font, Chinese names would be boxes: chart them by code, keyed in the table
    cjk = plots.cjk_font() is not None or all(name.isascii() for name in names)
    labels = {name: name if cjk or name.isascii() else f"C{i}" for i, name in enumerate(names, start=1)}
    chart = plots.horizontal_bars({labels[n]: accuracy[n][1] for n in names}, "Per-category accuracy",
                                  "R@1 (in-scope) or share refused (out-of-scope)", percent=True,
                                  colours=[plots.CURRENT if accuracy[n][2] == "R@1" else plots.NEUTRAL
                                           for n in names])
    regressed = {c.metric for c in changes if c.regression}
    before = category_accuracy(previous) if previous else {}
    headers = (["chart", "category"] if not cjk else ["category"]) + ["questions", "measure", "value"]
    if previous:
        headers += ["previous", "status"]
    rows, flagged = [], set()
    for name in names:
        n, value, measure = accuracy[name]
        row = ([labels[name]] if not cjk else []) + [name, str(n), measure, f"{value:.3f}"]
        if previous:
            old = before.get(name)
            is_regression = f"{measure} [{name}]" in regressed
            row += [f"{old[1]:.3f}" if old else "-", "REGRESSION" if is_regression else ""]
            if is_regression:
                flagged.add(len(rows))
        rows.append(row)
    return [("h2", "Per-category accuracy"),
            ("img", "categories", chart, "Blue: R@1 of a category's in-scope questions; orange: "
             "share refused of a category of out-of-scope questions."),
            ("table", headers, rows, flagged)]


def _hot_word_blocks(words: HotWords) -> list[tuple]:
    blocks: list[tuple] = [("h2", "What customers ask")]
    for name, terms in (("terms", words.terms), ("phrases", words.phrases)):
        if terms:
            blocks.append(("table", [name[:-1], "questions", "share", "category"],
                           [[t.term, str(t.count), f"{t.share:.1%}",
                             f"{t.category} ({t.category_share:.0%})" if t.category else "-"]
                            for t in terms], set()))
    if words.rising:
        blocks += [("p", f"Rising since {words.split:%Y-%m-%d %H:%M} ({words.early_questions} "
                         f"questions before, {words.late_questions} after):"),
                   ("table", ["term", "before", "after", "ratio"],
                    [[r.term, str(r.early), str(r.late), f"{r.ratio:.1f}"] for r in words.rising], set())]
    return blocks


def _decision(record: dict) -> str:
    value = record.get("outcome") or record.get("decision") or "none"
    return DECISION_LABELS.get(value, value)


def _recall_curve(run: EvalRun) -> list[float]:
    ranks = [r.get("rank") for r in run.results if r.get("gold_ids")]
    if not ranks:
        return []
    return [sum(1 for rank in ranks if rank is not None and rank <= k) / len(ranks)
            for k in range(1, MAX_K + 1)]


def _number(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.3f}"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _signed(delta: float | None) -> str:
    if delta is None:
        return "-"
    return f"{delta:+.0f}" if float(delta).is_integer() else f"{delta:+.3f}"
