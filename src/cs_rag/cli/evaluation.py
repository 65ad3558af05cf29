"""eval: retrieval and decision metrics on a question set, one config or two side by side."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from cs_rag.config import Settings, load_settings
from cs_rag.errors import InputError
from cs_rag.knowledge_base import KnowledgeBase
from cs_rag.retrieval.calibrate import fit_calibration
from cs_rag.retrieval.hybrid import HybridRetriever


def add_eval(commands) -> None:
    evaluate = commands.add_parser(
        "eval", help="retrieval metrics on a question set",
        description="Run every question of DIR/questions.jsonl and print R@1/5/10, MRR@10, nDCG@10, "
                    "refusal precision/recall (questions with empty gold_ids), decision shares, latency "
                    "and a per-category breakdown. Without --index, DIR's knowledge.jsonl or "
                    "passages.jsonl is ingested into a temporary index.")
    evaluate.add_argument("dir", metavar="DIR", type=Path)
    evaluate.add_argument("--index", metavar="DIR", help="an index already built (else a temporary one)")
    evaluate.add_argument("--compare", metavar="FILE",
                          help="a second TOML config: run both and print them side by side (its "
                               "confidence is refitted under its retrieval settings; settings fixed "
                               "at ingest must match)")
    evaluate.add_argument("--json", action="store_true",
                          help="print one JSON object (with per-question results under 'results')")
    evaluate.set_defaults(run=_eval)


def _eval(args: argparse.Namespace, settings: Settings) -> int:
    from cs_rag.ops.evaluate import (
        load_questions,
        run_questions,
        summarise,
        unknown_gold_ids,
    )

    questions_path = args.dir / "questions.jsonl"
    if not questions_path.is_file():
        raise InputError(str(questions_path), "no questions.jsonl in the evaluation folder")
    questions = load_questions(questions_path)
    configs = [("config", settings)]
    if args.compare:
        compare = load_settings(args.compare)
        _require_same_ingest_settings(settings, compare, args.compare)
        configs.append(("compare", compare))
    with tempfile.TemporaryDirectory(prefix="cs-rag-eval-") as tmp:
        index_dir = Path(args.index) if args.index else _temporary_index(args.dir, Path(tmp), settings)
        knowledge_base = KnowledgeBase(index_dir, settings)
        base = knowledge_base.retriever()
        unknown = unknown_gold_ids(questions, set(base.index.manifest.documents))
        if unknown:
            print(f"warning: {len(unknown)} gold id(s) in {questions_path} name nothing in the index "
                  f"(their questions count as misses): {', '.join(unknown[:10])}"
                  + (" ..." if len(unknown) > 10 else ""), file=sys.stderr)
        results = {}
        for name, config in configs:
            retriever = base if _fitted_under(base, config) else _refitted(knowledge_base, config)
            retriever.embedder.clear_query_cache()  # each config pays for its own query embeddings
            outcomes = run_questions(lambda q: retriever.retrieve(q, k=10), questions)
            results[name] = {**summarise(outcomes), "results": [o.model_dump(mode="json") for o in outcomes]}
    if args.json:
        print(json.dumps(results["config"] if len(results) == 1 else results, ensure_ascii=False))
    else:
        _print_summaries(results)
    return 0


# Settings an index is built with: a config changing them needs its own index to be compared.
_INGEST_SECTIONS = ("embedding", "chunking", "text")
_INGEST_INDEX_KEYS = ("backend", "faq_answers", "adapter", "fine_tune", "pg_schema")


def _require_same_ingest_settings(settings: Settings, compare: Settings, path: str) -> None:
    changed = [section for section in _INGEST_SECTIONS if getattr(settings, section) != getattr(compare, section)]
    changed += [f"index.{key}" for key in _INGEST_INDEX_KEYS
                if getattr(settings.index, key) != getattr(compare.index, key)]
    if changed:
        raise InputError(path, f"changes settings fixed when an index is built ({', '.join(changed)}); "
                               "ingest with `cs-rag --config` into an index of its own and run "
                               "`cs-rag eval` on each")


def _fitted_under(retriever, config: Settings) -> bool:
    """Whether `retriever` ranks with `config`'s retrieval settings and its confidence was fitted
    under them (a calibration saved before settings were recorded is taken as fitted under its own)."""
    return retriever.settings == config.retrieval and retriever.calibration.fitted_under(config.retrieval)


def _refitted(knowledge_base: KnowledgeBase, config: Settings) -> HybridRetriever:
    """A retriever over the same live index with `config`'s retrieval settings and a confidence
    refitted under them on the index's content, as an ingest with that config would fit it (the
    index's own calibration was fitted under the settings it was ingested with)."""
    retriever = knowledge_base.retriever()
    content = knowledge_base.store.export()
    calibration = fit_calibration(content, retriever.tokenizer, retriever.embedder, config.retrieval) \
        if content is not None else None
    return HybridRetriever(retriever.index, retriever.tokenizer, retriever.embedder, config.retrieval,
                           calibration or retriever.calibration)  # too few entries to fit: the default, as at ingest


def _temporary_index(folder: Path, index_dir: Path, settings: Settings) -> Path:
    knowledge = [folder / n for n in ("knowledge.jsonl", "passages.jsonl") if (folder / n).is_file()]
    if not knowledge:
        raise InputError(str(folder), "no --index given and no knowledge.jsonl or passages.jsonl to ingest")
    KnowledgeBase(index_dir, settings).ingest(knowledge)
    return index_dir


def _print_summaries(results: dict[str, dict]) -> None:
    names = list(results)
    keys = [k for k in results[names[0]] if k not in ("per_category", "results")]
    print("metric".ljust(24) + "".join(n.rjust(12) for n in names) + ("       delta" if len(names) == 2 else ""))
    for key in keys:
        values = [results[n].get(key) for n in names]
        row = key.ljust(24) + "".join(_fmt(v).rjust(12) for v in values)
        if len(names) == 2 and all(isinstance(v, (int, float)) for v in values):
            row += f"{values[1] - values[0]:+12.3f}"
        print(row)
    for name in names:
        print(f"\nper category ({name})")
        for category, metrics in results[name]["per_category"].items():
            print("  " + _pad(category, 22) + "  ".join(f"{k} {_fmt(v)}" for k, v in metrics.items()))


def _fmt(value) -> str:
    if value is None:
        return "n/a"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _pad(text: str, width: int) -> str:
    """`text` padded to `width` terminal columns (a CJK character takes two)."""
    import unicodedata

    columns = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(width - columns, 1)
