"""report, hotwords and gaps: the operator's view of eval runs and the question log."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from cs_rag.config import Settings
from cs_rag.knowledge_base import KnowledgeBase

EXIT_REGRESSION = 3


def add_operator_commands(commands) -> None:
    """report, hotwords, gaps: the operator's view of eval runs and the question log."""
    report = commands.add_parser(
        "report", help="an HTML + Markdown report of an eval run, with charts",
        description="Write DIR/report.html (self-contained: charts embedded) and DIR/report.md "
                    "(charts in DIR/plots/) from `cs-rag eval --json` output: recall@k, confidence "
                    "by result, decision mix, latency, guard flags (from --log), per-category "
                    "accuracy and, with --previous, each metric against that run with regressions "
                    "marked. The question-log format is described in cs_rag.ops.insights. With the "
                    "service's data folder (--service-data, or --index's), the team's figures over "
                    "the last --days days; with --index too, the knowledge health.")
    report.add_argument("--eval", required=True, metavar="RESULTS.json", type=Path, dest="eval_results")
    report.add_argument("--log", metavar="PATH", type=Path,
                        help="the question log: a JSONL file or a folder of *.jsonl")
    report.add_argument("--previous", metavar="RESULTS.json", type=Path, help="an earlier eval run")
    report.add_argument("--service-data", metavar="DIR", type=Path,
                        help="the service's data folder, holding service.db (`cs-rag serve --data-dir`; "
                             "default with --index: INDEX.service): adds the team's figures")
    report.add_argument("--index", metavar="DIR",
                        help="the service's index: categories for the team's figures, and the "
                             "knowledge health")
    report.add_argument("--days", type=_positive_days, default=30,
                        help="the team's figures and the knowledge health cover this many days, "
                             "up to today (default 30)")
    report.add_argument("--out", required=True, metavar="DIR", type=Path)
    report.add_argument("--tolerance", type=float, default=0.01,
                        help="a quality metric dropping more than this is a regression (default 0.01)")
    report.add_argument("--latency-tolerance", type=float, default=0.25,
                        help="a latency percentile growing more than this share is one (default 0.25)")
    report.add_argument("--fail-on-regression", action="store_true",
                        help=f"exit {EXIT_REGRESSION} when a regression is found")
    report.set_defaults(run=_report)

    hotwords = commands.add_parser(
        "hotwords", help="frequent and rising terms in customers' questions",
        description="Most frequent terms and phrases (token bigrams/trigrams) in the questions of "
                    "FILE (JSONL with a 'question' field, optional 'ts' and 'category'; or a folder "
                    "of them), rising terms between the periods before and after --split (default: "
                    "the midpoint of the timestamps), and the category each falls in.")
    hotwords.add_argument("file", metavar="FILE", type=Path)
    hotwords.add_argument("--split", metavar="DATE", type=_datetime_arg,
                          help="ISO date or date-time where the late period starts")
    hotwords.add_argument("--top", type=int, default=20, help="how many of each (default 20)")
    hotwords.add_argument("--min-count", type=int, default=2,
                          help="questions a term needs to be listed (default 2)")
    hotwords.add_argument("--index", metavar="DIR",
                          help="tokenize as this index does and take a category from its first FAQ "
                               "hit for records without one")
    hotwords.add_argument("--json", action="store_true")
    hotwords.set_defaults(run=_hotwords)

    gaps = commands.add_parser(
        "gaps", help="unanswered questions grouped by meaning: the FAQ entries to write next",
        description="Cluster the questions of FILE whose outcome was refused, clarify or handoff "
                    "(a question log, or `cs-rag eval --json` output, whose 'none' and 'clarify' "
                    "decisions count) by embedding similarity; print each group's size and the "
                    "question closest to its centre.")
    gaps.add_argument("file", metavar="FILE", type=Path)
    gaps.add_argument("--threshold", type=float, default=None,
                      help="cosine distance at which groups stop merging (default "
                           "cs_rag.ops.insights.DEFAULT_GAP_THRESHOLD); larger: fewer, broader groups")
    gaps.add_argument("--json", action="store_true")
    gaps.set_defaults(run=_gaps)



def _datetime_arg(text: str):
    import datetime as dt

    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date or date-time: {text!r}") from None


def _settings_tokenizer(settings: Settings):
    from cs_rag.text import Tokenizer

    text = settings.text
    return Tokenizer.create(text.user_dict, text.stopwords, text.synonyms)


def _report(args: argparse.Namespace, settings: Settings) -> int:
    from cs_rag.ops.insights import hot_words, load_records
    from cs_rag.ops.report import load_eval, write_report

    run = load_eval(args.eval_results)
    previous = load_eval(args.previous) if args.previous else None
    log = load_records(args.log) if args.log else None
    words = hot_words(log, _settings_tokenizer(settings), top=10) if log else None
    data_dir = args.service_data or (Path(f"{args.index}.service") if args.index else None)
    sections = _learning_sections(data_dir, args.index, args.days, settings) if data_dir else []
    files = write_report(run, args.out, log=log, previous=previous, hot_words=words,
                         tolerance=args.tolerance, latency_tolerance=args.latency_tolerance,
                         sections=sections)
    print(f"wrote {files.html} and {files.markdown} ({len(files.plots)} charts)")
    if files.headline:
        print(files.headline)
    return EXIT_REGRESSION if args.fail_on_regression and files.regressions else 0


def _learning_sections(data_dir: Path, index: str | None, days: int, settings: Settings) -> list:
    """The team's figures from the service's database and, with its index, the knowledge health."""
    from cs_rag.errors import InputError
    from cs_rag.knowledge_base import SERVICE_DB, state_database
    from cs_rag.learning.answers import AnswerLog
    from cs_rag.learning.feedback import FeedbackStore
    from cs_rag.learning.report_sections import figure_blocks, health_blocks
    from cs_rag.learning.stats import team_timezone, window
    from cs_rag.service.figures import service_figures, service_health
    from cs_rag.service.reviews import ReviewStore

    postgres = settings.index.backend == "postgres"
    if not postgres and not (data_dir / SERVICE_DB).is_file():
        raise InputError(str(data_dir), f"no {SERVICE_DB} here: --service-data is the folder `cs-rag serve "
                                        "--data-dir` writes (by default INDEX.service)")
    if postgres and not (index or settings.index.pg_schema):
        raise InputError("--service-data", "with index.backend = postgres the state is in the database: "
                                           "give --index (or index.pg_schema) to name its schema")
    knowledge_base = KnowledgeBase(index, settings) if index else None
    database = state_database(Path(index or "."), settings, data_dir)
    try:
        answers, reviews = AnswerLog(database), ReviewStore(database)
        feedback = FeedbackStore(database, answers)
        tz = team_timezone(settings.retrieval.timezone)
        since, until = window(days=days, tz=tz)
        sections = [figure_blocks(service_figures(knowledge_base, answers, feedback, reviews, since, until,
                                                  tz=tz))]
        if knowledge_base is not None:
            sections.append(health_blocks(service_health(knowledge_base, answers, feedback, reviews, days, tz=tz)))
    finally:
        database.close()
    return sections


def _positive_days(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 366:
        raise argparse.ArgumentTypeError(f"a number of days from 1 to 366: {text!r}")
    return int(text)


def _hotwords(args: argparse.Namespace, settings: Settings) -> int:
    from cs_rag.ops.insights import hot_words, load_records

    records = load_records(args.file)
    categorise = None
    tokenizer = _settings_tokenizer(settings)
    if args.index:
        kb = KnowledgeBase(args.index, settings)
        tokenizer = kb.retriever().tokenizer

        def categorise(question: str) -> str | None:
            hits = kb.search(question, k=1)
            return hits[0].category if hits else None

    result = hot_words(records, tokenizer, top=args.top, min_count=args.min_count,
                       split=args.split, categorise=categorise)
    if args.json:
        print(result.model_dump_json(indent=1))
        return 0
    print(f"{result.questions} questions")
    for name, terms in (("terms", result.terms), ("phrases", result.phrases)):
        print(f"\n{name}")
        for term in terms:
            where = f"  {term.category} {term.category_share:.0%}" if term.category else ""
            print(f"  {term.count:>5}  {term.share:6.1%}  {term.term}{where}")
    if result.split is not None:
        print(f"\nrising since {result.split.isoformat()} ({result.early_questions} questions "
              f"before, {result.late_questions} after)")
        for rising in result.rising:
            print(f"  {rising.early:>5} -> {rising.late:<5} x{rising.ratio:4.1f}  {rising.term}")
    return 0


def _gaps(args: argparse.Namespace, settings: Settings) -> int:
    from cs_rag.models.embedding import Embedder
    from cs_rag.ops.insights import (
        DEFAULT_GAP_THRESHOLD,
        find_gaps,
        gap_records,
        load_records,
    )

    records = load_records(args.file)
    embedder = Embedder(settings.embedding)
    threshold = DEFAULT_GAP_THRESHOLD if args.threshold is None else args.threshold
    found = find_gaps(records, lambda texts: embedder.encode(texts, "query"), threshold=threshold)
    if args.json:
        print(json.dumps([g.model_dump(mode="json") for g in found], ensure_ascii=False, indent=1))
        return 0
    print(f"{len(gap_records(records))} unanswered of {len(records)} questions, "
          f"{len(found)} groups (threshold {threshold:g})")
    for gap in found:
        outcomes = ", ".join(f"{k} {v}" for k, v in gap.outcomes.items())
        print(f"\n{gap.count:>5}  {gap.representative}  ({outcomes})")
        for question in [q for q in gap.questions if q != gap.representative][:3]:
            print(f"         {question}")
    return 0


