"""The cs-rag command line: ingest knowledge, search it, evaluate retrieval, answer questions,
guard messages and answers."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from cs_rag.config import Settings, load_settings
from cs_rag.errors import CsRagError, InputError
from cs_rag.index.base import SearchFilter
from cs_rag.knowledge_base import KnowledgeBase
from cs_rag.types import DocumentKind

EXIT_ERROR = 1
_PROGRESS_MIN_TEXTS = 200  # below this an ingest is quick; a bar would only flicker


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.config)
        return args.run(args, settings)
    except CsRagError as exc:
        print(f"cs-rag: error: {exc}", file=sys.stderr)
        return EXIT_ERROR


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cs-rag", description=__doc__)
    parser.add_argument("--config", metavar="FILE", help="TOML settings file "
                        "(CS_RAG_<SECTION>_<KEY> environment variables override it)")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    ingest = commands.add_parser("ingest", help="add or update knowledge in an index",
                                 description="Ingest FAQ files (.jsonl/.csv/.xlsx), passage sets "
                                 "and policy documents (.md/.txt/.html/.docx/.pdf) into an index. "
                                 "Only changed documents are re-embedded; documents whose source "
                                 "disappeared from PATH are removed.")
    ingest.add_argument("paths", nargs="+", metavar="PATH", help="files or directories")
    ingest.add_argument("--index", required=True, metavar="DIR", help="index directory")
    ingest.add_argument("--skip-bad", action="store_true",
                        help="ingest the rest when a file, line or row is bad, and list it")
    ingest.add_argument("--json", action="store_true", help="print the report as JSON")
    ingest.set_defaults(run=_ingest)

    search = commands.add_parser("search", help="ranked hits for a question",
                                 description="Search an index with hybrid (BM25 + dense) retrieval.")
    search.add_argument("query")
    search.add_argument("--index", required=True, metavar="DIR")
    search.add_argument("-k", type=int, default=10, help="number of hits (default 10)")
    _filter_options(search)
    search.add_argument("--kind", action="append", choices=[k.value for k in DocumentKind],
                        help="only this kind of knowledge: faq, policy or passage (repeatable)")
    search.add_argument("--json", action="store_true", help="print a JSON list of hits")
    search.set_defaults(run=_search)

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

    ask = commands.add_parser("ask", help="answer one question",
                              description="Answer a question from an index: retrieval, the configured "
                              "LLM or the embedded extractive default, and the guard.")
    ask.add_argument("question")
    _answer_options(ask)
    ask.add_argument("--history", metavar="FILE", type=Path,
                     help='earlier turns: a JSON list or JSONL of {"role": "user"|"assistant", "content"}')
    ask.add_argument("--customer", metavar="FILE", type=Path,
                     help='the customer profile as JSON: {"level", "tags", "open_orders", ...}')
    ask.add_argument("--json", action="store_true", help="print the answer as one JSON object")
    ask.set_defaults(run=_ask)

    chat = commands.add_parser("chat", help="interactive conversation that keeps history",
                               description="Ask question after question; the conversation is kept as "
                               "history for follow-ups. /reset starts over, /quit (or end of input) ends.")
    _answer_options(chat)
    chat.add_argument("--customer", metavar="FILE", type=Path, help="the customer profile as JSON")
    chat.set_defaults(run=_chat)

    guard = commands.add_parser(
        "guard", help="check customer messages or drafted answers and route them",
        description='Check every line of FILE, JSONL of {"id", "text"} (with --answers also '
                    '"evidence": [texts]), and write one JSON line per input: id, routing '
                    '(send, review or handoff), flags (kind, severity, level, span, evidence, '
                    'reason) and reasons.')
    guard.add_argument("file", metavar="FILE", type=Path)
    guard.add_argument("--answers", action="store_true",
                       help="the texts are drafted answers, checked against their evidence")
    guard.add_argument("--out", metavar="FILE", type=Path, help="write there instead of to stdout")
    guard.set_defaults(run=_guard)

    serve = commands.add_parser(
        "serve", help="run the HTTP service",
        description="Serve answers, OpenAI-compatible chat, search, suggestions, sessions, the review "
                    "queue and knowledge admin over HTTP (see cs_rag.service). Keys come from "
                    "CS_RAG_API_KEYS (clients) and CS_RAG_ADMIN_KEYS (admins), comma-separated.")
    serve.add_argument("--index", required=True, metavar="DIR", help="index directory (built at start if missing)")
    serve.add_argument("--knowledge", nargs="+", action="extend", default=[], metavar="PATH",
                       help="knowledge sources; every ingest re-reads these plus the service's own folder")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument("--data-dir", metavar="DIR",
                       help="sessions, reviews and uploads (default: service.data_dir, else <index>.service)")
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    serve.set_defaults(run=_serve)

    db = commands.add_parser(
        "db", help="create, migrate or inspect a knowledge base's PostgreSQL schema",
        description="For index.backend = postgres (connection string in CS_RAG_PG_DSN): `init` creates "
                    "the pgvector extension (if allowed), the schema and its tables; `migrate` brings an "
                    "older schema to this cs_rag's version; `status` prints the versions and what "
                    "keyword search runs on. The schema is index.pg_schema, else NAME.")
    db.add_argument("action", choices=["init", "migrate", "status"])
    db.add_argument("--index", required=True, metavar="NAME", help="the knowledge base")
    db.set_defaults(run=_db)
    _operator_commands(commands)
    return parser


def _db(args: argparse.Namespace, settings: Settings) -> int:
    from cs_rag.index.postgres import SCHEMA_VERSION

    settings = settings.model_copy(update={"index": settings.index.model_copy(update={"backend": "postgres"})})
    store = KnowledgeBase(args.index, settings).store
    if args.action == "init":
        applied = store.init()
        print(f"{store.where}: ready at schema version {SCHEMA_VERSION}"
              + (f" (applied {applied})" if applied else " (already current)"))
    elif args.action == "migrate":
        applied = store.migrate()
        print(f"{store.where}: " + (f"migrated to version {SCHEMA_VERSION} (applied {applied})"
                                    if applied else f"already at version {SCHEMA_VERSION}"))
    else:
        version = store.version()
        state = "missing" if version is None else f"version {version}"
        print(f"{store.where}: schema {state}, this cs_rag needs {SCHEMA_VERSION}; "
              f"keyword search: stored BM25 statistics (pg_search {'present' if store.keyword_engine() == 'pg_search' else 'absent'})")
    return 0


def _answer_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--index", required=True, metavar="DIR", help="index directory")
    parser.add_argument("--stream", action="store_true",
                        help="print the reply as it is written (with an LLM configured)")
    _filter_options(parser)


def _filter_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--category", action="append", type=_name, help="only this category (repeatable)")
    parser.add_argument("--product", action="append", type=_name,
                        help="only knowledge about this product or about no product in particular "
                             "(repeatable)")


def _name(value: str) -> str:
    if not value.strip():
        raise argparse.ArgumentTypeError("a name cannot be blank")
    return value.strip()


def _filter_from(args: argparse.Namespace) -> SearchFilter | None:
    """The SearchFilter that --category, --product (and --kind, where offered) ask for."""
    kinds = getattr(args, "kind", None)
    if not (args.category or args.product or kinds):
        return None
    return SearchFilter(categories=set(args.category) if args.category else None,
                        kinds={DocumentKind(k) for k in kinds} if kinds else None,
                        products=set(args.product) if args.product else None)


def _ingest(args: argparse.Namespace, settings) -> int:
    from tqdm import tqdm

    bar = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None and total >= _PROGRESS_MIN_TEXTS:
            bar = tqdm(total=total, unit="text", desc="embedding", file=sys.stderr)
        if bar is not None:
            bar.update(done - bar.n)

    try:
        report = KnowledgeBase(args.index, settings).ingest(args.paths, skip_bad=args.skip_bad,
                                                           progress=progress)
    finally:
        if bar is not None:
            bar.close()
    if args.json:
        print(report.model_dump_json(indent=1))
    else:
        print(report.summary())
        for skipped in report.skipped:
            print(f"skipped: {skipped.reason}")
    return 0


def _search(args: argparse.Namespace, settings) -> int:
    hits = KnowledgeBase(args.index, settings).search(args.query, k=args.k, where=_filter_from(args))
    if args.json:
        print(json.dumps([h.model_dump(mode="json") for h in hits], ensure_ascii=False, indent=1))
        return 0
    if not hits:
        print("no hits")
    for rank, hit in enumerate(hits, start=1):
        where_from = " > ".join(hit.heading_path) or hit.question or ""
        print(f"{rank:>2}. {hit.score:.3f}  {hit.id}  [{hit.source}]  {where_from}")
        print(f"    {hit.text[:120].replace(chr(10), ' ')}")
    return 0


def _eval(args: argparse.Namespace, settings: Settings) -> int:
    from cs_rag.ops.evaluate import load_questions, run_questions, summarise, unknown_gold_ids

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
        base = KnowledgeBase(index_dir, settings).retriever()
        unknown = unknown_gold_ids(questions, set(base.index.manifest.documents))
        if unknown:
            print(f"warning: {len(unknown)} gold id(s) in {questions_path} name nothing in the index "
                  f"(their questions count as misses): {', '.join(unknown[:10])}"
                  + (" ..." if len(unknown) > 10 else ""), file=sys.stderr)
        results = {}
        for name, config in configs:
            retriever = base if _fitted_under(base, config) else _refitted(base, config)
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
_INGEST_INDEX_KEYS = ("backend", "faq_answers", "adapter", "pg_schema")


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


def _refitted(retriever, config: Settings):
    """A retriever over the same index with `config`'s retrieval settings and a confidence
    refitted under them, as an ingest with that config would fit it (the index's own
    calibration was fitted under the settings it was ingested with)."""
    from cs_rag.retrieval.calibrate import fit_calibration
    from cs_rag.index.embedded import EmbeddedIndex
    from cs_rag.retrieval.hybrid import HybridRetriever

    if not isinstance(retriever.index, EmbeddedIndex):
        print("warning: on PostgreSQL cs-rag eval keeps the index's calibration: refusal and decision "
              "figures are those of the confidence fitted at ingest", file=sys.stderr)
        return retriever
    calibration = fit_calibration(retriever.index, retriever.tokenizer, retriever.embedder, config.retrieval)
    return HybridRetriever(retriever.index, retriever.tokenizer, retriever.embedder, config.retrieval,
                           calibration or retriever.calibration)  # too few entries to fit: the default, as at ingest


def _ask(args: argparse.Namespace, settings: Settings) -> int:
    from cs_rag.answering.assistant import Assistant

    history = _read_history(args.history) if args.history else None
    customer = _read_customer(args.customer) if args.customer else None
    assistant = Assistant.open(args.index, settings)
    answer = _answer(assistant, args.question, history, customer, args.stream and not args.json,
                     _filter_from(args))
    if args.json:
        print(json.dumps(answer.model_dump(mode="json"), ensure_ascii=False))
    else:
        _print_answer(answer, streamed=args.stream)
    return 0


def _chat(args: argparse.Namespace, settings: Settings) -> int:
    from cs_rag.answering.assistant import Assistant
    from cs_rag.types import Turn

    customer = _read_customer(args.customer) if args.customer else None
    assistant = Assistant.open(args.index, settings)
    where = _filter_from(args)
    history: list[Turn] = []
    print("cs-rag chat: ask a question; /reset starts over, /quit ends.", file=sys.stderr)
    while True:
        try:
            question = input("> ").strip()
        except EOFError:
            return 0
        if question in ("/quit", "/exit"):
            return 0
        if question == "/reset":
            history = []
            print("(new conversation)")
            continue
        if not question:
            continue
        answer = _answer(assistant, question, history, customer, args.stream, where)
        _print_answer(answer, streamed=args.stream)
        history += [Turn(role="user", content=answer.question),
                    Turn(role="assistant", content=answer.text)]


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from cs_rag.service import serve

    serve(args.index, args.knowledge, host=args.host, port=args.port, data_dir=args.data_dir,
          settings=settings, log_level=args.log_level)
    return 0


def _answer(assistant, question: str, history, customer, stream: bool, where: SearchFilter | None):
    """Run the pipeline, printing pieces as they come when streaming; return the Answer."""
    from cs_rag.types import Answer

    if not stream:
        return assistant.answer(question, history, customer, where)
    for item in assistant.stream(question, history, customer, where):
        if isinstance(item, Answer):
            print()
            return item
        print(item, end="", flush=True)
    raise AssertionError("the answer stream ended without an answer")


def _print_answer(answer, streamed: bool) -> None:
    if not streamed:
        print(answer.text)
    rewrite = answer.trace.get("rewrite", {})
    if rewrite.get("rule"):
        print(f"  (understood as: {rewrite['question']})")
    print(f"  [{answer.outcome.value}, confidence {answer.confidence:.2f}, routing "
          f"{answer.routing.value}, {answer.generator}]")
    for citation in answer.citations:
        print(f"  [{citation.marker}] {citation.title}  ({citation.source}, {citation.id}, "
              f"score {citation.score:.3f})")
    for flag in answer.flags:
        print(f"  ! {flag.kind.value} (severity {flag.severity}): {flag.reason}")


def _read_history(path: Path):
    from pydantic import ValidationError

    from cs_rag.types import Turn

    text = _read_json_file(path)
    stripped = text.strip()
    try:
        if stripped.startswith("["):
            items = json.loads(stripped)
            return [Turn.model_validate(item) for item in items]
        turns = []
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    turns.append(Turn.model_validate_json(line))
                except ValidationError as exc:
                    raise InputError(str(path), _first_problem(exc), line=number) from None
        return turns
    except json.JSONDecodeError as exc:
        raise InputError(str(path), f"not JSON: {exc.msg}", line=exc.lineno) from None
    except ValidationError as exc:
        raise InputError(str(path), _first_problem(exc)) from None


def _read_customer(path: Path):
    from pydantic import ValidationError

    from cs_rag.types import Customer

    try:
        return Customer.model_validate_json(_read_json_file(path))
    except ValidationError as exc:
        raise InputError(str(path), _first_problem(exc)) from None


def _read_json_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(str(path), f"cannot read: {exc}") from None


def _first_problem(exc) -> str:
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error["loc"])
    return f"{where}: {error['msg']}" if where else error["msg"]


def _guard(args: argparse.Namespace, settings: Settings) -> int:
    from cs_rag.guard import Guard

    items = _read_guard_input(args.file, args.answers)
    guard = Guard(settings.guard)
    if args.answers:
        results = [guard.check_answer(text, evidence) for _, text, evidence in items]
    else:
        results = guard.check_messages([text for _, text, _ in items])
    lines = []
    for (item_id, _, _), result in zip(items, results):
        flags = [flag.model_dump(mode="json", include={"kind", "severity", "level", "span",
                                                      "evidence", "reason"})
                 for flag in result.flags]
        lines.append(json.dumps({"id": item_id, "routing": result.routing.value, "flags": flags,
                                 "reasons": result.reasons}, ensure_ascii=False) + "\n")
    if args.out:
        args.out.write_text("".join(lines), encoding="utf-8")
    else:
        sys.stdout.writelines(lines)
    return 0


def _read_guard_input(path: Path, answers: bool) -> list[tuple[str | int, str, list[str]]]:
    """(id, text, evidence) per non-blank line; a bad line is an InputError naming it."""
    items = []
    for number, line in enumerate(_read_json_file(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(str(path), f"not JSON: {exc.msg}", line=number) from None
        if not isinstance(record, dict):
            raise InputError(str(path), 'expected a JSON object {"id", "text"}', line=number)
        item_id = record.get("id")
        if isinstance(item_id, bool) or not isinstance(item_id, (str, int)):
            raise InputError(str(path), '"id" must be a string or a number', line=number)
        if not isinstance(record.get("text"), str):
            raise InputError(str(path), '"text" must be a string', line=number)
        evidence = record.get("evidence", []) if answers else []
        if not isinstance(evidence, list) or not all(isinstance(e, str) for e in evidence):
            raise InputError(str(path), '"evidence" must be a list of strings', line=number)
        items.append((item_id, record["text"], evidence))
    return items


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



def _operator_commands(commands) -> None:
    """report, hotwords, gaps: the operator's view of eval runs and the question log."""
    report = commands.add_parser(
        "report", help="an HTML + Markdown report of an eval run, with charts",
        description="Write DIR/report.html (self-contained: charts embedded) and DIR/report.md "
                    "(charts in DIR/plots/) from `cs-rag eval --json` output: recall@k, confidence "
                    "by result, decision mix, latency, guard flags (from --log), per-category "
                    "accuracy and, with --previous, each metric against that run with regressions "
                    "marked. The question-log format is described in cs_rag.ops.insights.")
    report.add_argument("--eval", required=True, metavar="RESULTS.json", type=Path, dest="eval_results")
    report.add_argument("--log", metavar="PATH", type=Path,
                        help="the question log: a JSONL file or a folder of *.jsonl")
    report.add_argument("--previous", metavar="RESULTS.json", type=Path, help="an earlier eval run")
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


EXIT_REGRESSION = 3


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
    files = write_report(run, args.out, log=log, previous=previous, hot_words=words,
                         tolerance=args.tolerance, latency_tolerance=args.latency_tolerance)
    print(f"wrote {files.html} and {files.markdown} ({len(files.plots)} charts)")
    if files.headline:
        print(files.headline)
    return EXIT_REGRESSION if args.fail_on_regression and files.regressions else 0


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
    from cs_rag.ops.insights import DEFAULT_GAP_THRESHOLD, find_gaps, gap_records, load_records

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


if __name__ == "__main__":
    raise SystemExit(main())
