"""The operator report's charts: each a small function from plain numbers to PNG bytes.

matplotlib runs headless (Agg). Chinese labels need a CJK font; `cjk_font()` finds one that is
installed, and without one callers label with short codes and print the key beside the chart.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from functools import lru_cache

import numpy as np

from cs_rag.extras import require

matplotlib = require("matplotlib", "report", "cs-rag report's charts")
matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402 - the backend must be chosen first
from matplotlib import font_manager  # noqa: E402

CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Micro Hei",
                "WenQuanYi Zen Hei", "Microsoft YaHei", "SimHei", "PingFang SC", "Heiti SC",
                "AR PL UMing CN", "Droid Sans Fallback")
CURRENT, PREVIOUS, GOOD, BAD, NEUTRAL = "#1f77b4", "#9e9e9e", "#2ca02c", "#d62728", "#ff7f0e"
_DPI = 100


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The first installed font family of `CJK_FAMILIES`, or None."""
    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FAMILIES if name in installed), None)


def _figure(width: float = 6.4, height: float = 3.6):
    fig, ax = plt.subplots(figsize=(width, height), dpi=_DPI)
    ax.grid(True, axis="y", alpha=0.3)
    return fig, ax


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def recall_curve(current: Sequence[float], previous: Sequence[float] | None = None) -> bytes:
    """R@k for k = 1..len(current), and the previous run's curve dashed."""
    fig, ax = _figure()
    ks = range(1, len(current) + 1)
    ax.plot(ks, current, marker="o", color=CURRENT, label="this run")
    if previous is not None:
        ax.plot(range(1, len(previous) + 1), previous, marker="o", linestyle="--",
                color=PREVIOUS, label="previous run")
        ax.legend(loc="lower right")
    ax.set_xticks(list(ks))
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("k (hits read)")
    ax.set_ylabel("R@k (in-scope questions)")
    ax.set_title("Recall at k")
    return _png(fig)


def confidence_histogram(groups: Mapping[str, Sequence[float]], threshold: float | None = None) -> bytes:
    """Overlaid histograms of confidence on [0, 1] per group (e.g. correct / wrong /
    out-of-scope); a dotted line at `threshold` when given."""
    fig, ax = _figure()
    colours = [GOOD, BAD, NEUTRAL, CURRENT]
    bins = [i / 20 for i in range(21)]
    for (name, values), colour in zip(groups.items(), colours):
        ax.hist(list(values), bins=bins, alpha=0.55, color=colour, label=f"{name} ({len(values)})")
    if threshold is not None:
        ax.axvline(threshold, color="black", linestyle=":", label=f"answer threshold {threshold:.2f}")
    ax.set_xlim(0, 1)
    ax.set_xlabel("calibrated confidence of the first hit")
    ax.set_ylabel("questions")
    ax.set_title("Confidence by result")
    ax.legend()
    return _png(fig)


def grouped_bars(series: Mapping[str, Mapping[str, float]], title: str, ylabel: str,
                 percent: bool = False) -> bytes:
    """One group of bars per label, one bar per series ({series: {label: value}}), labels in
    the first series' order then any others."""
    labels = list(dict.fromkeys(label for values in series.values() for label in values))
    fig, ax = _figure()
    width = 0.8 / max(len(series), 1)
    for i, ((name, values), colour) in enumerate(zip(series.items(), [CURRENT, NEUTRAL, PREVIOUS])):
        xs = [j + (i - (len(series) - 1) / 2) * width for j in range(len(labels))]
        heights = [values.get(label, 0.0) for label in labels]
        bars = ax.bar(xs, heights, width=width, color=colour, label=name)
        ax.bar_label(bars, labels=[f"{h:.0%}" if percent else f"{h:g}" for h in heights], fontsize=8)
    ax.set_xticks(range(len(labels)), labels)
    return _finish(fig, ax, title, ylabel, percent=percent, top=1.1, legend=len(series) > 1)


def trend(labels: Sequence[str], series: Mapping[str, Sequence[float | None]], title: str,
          ylabel: str, percent: bool = False) -> bytes:
    """One line per series over `labels` (e.g. days); a None value is a gap in its line."""
    fig, ax = _figure()
    xs = range(len(labels))
    for (name, values), colour in zip(series.items(), [CURRENT, GOOD, NEUTRAL, BAD, PREVIOUS]):
        ys = [np.nan if v is None else v for v in values]
        ax.plot(xs, ys, marker="o", markersize=3, color=colour, label=name)
    step = max(1, len(labels) // 10)   # at most about ten tick labels
    ax.set_xticks(list(xs)[::step], list(labels)[::step], rotation=45, ha="right", fontsize=8)
    return _finish(fig, ax, title, ylabel, percent=percent, top=1.05, legend=len(series) > 1)


def _finish(fig, ax, title: str, ylabel: str, *, percent: bool, top: float, legend: bool) -> bytes:
    """Axis labels, a 0-`top` percent scale when `percent`, the legend; the chart as PNG."""
    if percent:
        ax.set_ylim(0, top)
        ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if legend:
        ax.legend()
    return _png(fig)


def latency_histogram(latencies_ms: Sequence[float]) -> bytes:
    """Histogram of latencies up to the 99th percentile (the slowest 1% would flatten the
    rest), with the median and 95th percentile marked."""
    values = np.asarray(latencies_ms, dtype=float)
    fig, ax = _figure()
    if len(values):
        p50, p95, cap = np.percentile(values, [50, 95, 99])
        ax.hist(values[values <= cap], bins=40, color=CURRENT, alpha=0.8)
        ax.axvline(p50, color="black", linestyle="--", label=f"p50 {p50:.1f} ms")
        ax.axvline(p95, color=BAD, linestyle="--", label=f"p95 {p95:.1f} ms")
        ax.legend()
    ax.set_xlabel("latency (ms)")
    ax.set_ylabel("questions")
    ax.set_title("Latency")
    return _png(fig)


def horizontal_bars(values: Mapping[str, float], title: str, xlabel: str, *, percent: bool = False,
                    colours: Sequence[str] | None = None) -> bytes:
    """One bar per label, top to bottom in the mapping's order."""
    labels = list(values)
    fig, ax = _figure(6.4, max(2.0, 0.38 * len(labels) + 1.0))
    ax.grid(True, axis="x", alpha=0.3)
    ax.grid(False, axis="y")
    heights = [values[label] for label in labels]
    bars = ax.barh(range(len(labels)), heights, color=list(colours) if colours else CURRENT)
    ax.bar_label(bars, labels=[f"{h:.0%}" if percent else f"{h:g}" for h in heights], fontsize=8,
                 padding=2)
    ax.set_yticks(range(len(labels)), labels, fontfamily=cjk_font() or "DejaVu Sans")
    ax.invert_yaxis()
    if percent:
        ax.set_xlim(0, 1.12)
        ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    return _png(fig)

