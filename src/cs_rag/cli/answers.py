"""ask, chat and serve: answer questions from an index, at the terminal or over HTTP."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cs_rag.cli.common import answer_options, filter_from, first_problem, read_json_file
from cs_rag.config import Settings
from cs_rag.errors import InputError
from cs_rag.index.base import SearchFilter


def add_ask(commands) -> None:
    ask = commands.add_parser("ask", help="answer one question",
                              description="Answer a question from an index: retrieval, the configured "
                              "LLM or the embedded extractive default, and the guard.")
    ask.add_argument("question")
    answer_options(ask)
    ask.add_argument("--history", metavar="FILE", type=Path,
                     help='earlier turns: a JSON list or JSONL of {"role": "user"|"assistant", "content"}')
    ask.add_argument("--customer", metavar="FILE", type=Path,
                     help='the customer profile as JSON: {"level", "tags", "open_orders", ...}')
    ask.add_argument("--option", metavar="ID",
                     help="the id of an option a clarify reply offered: that entry answers QUESTION")
    ask.add_argument("--json", action="store_true", help="print the answer as one JSON object")
    ask.set_defaults(run=_ask)


def add_chat(commands) -> None:
    chat = commands.add_parser("chat", help="interactive conversation that keeps history",
                               description="Ask question after question; the conversation is kept as "
                               "history for follow-ups. /reset starts over, /quit (or end of input) ends.")
    answer_options(chat)
    chat.add_argument("--customer", metavar="FILE", type=Path, help="the customer profile as JSON")
    chat.set_defaults(run=_chat)


def add_serve(commands) -> None:
    serve = commands.add_parser(
        "serve", help="run the HTTP service",
        description="Serve answers, OpenAI-compatible chat, search, suggestions, sessions, the review "
                    "queue and knowledge admin over HTTP (see cs_rag.service). Keys come from "
                    "CS_RAG_API_KEYS (clients) and CS_RAG_ADMIN_KEYS (admins), comma-separated.")
    serve.add_argument("--index", metavar="DIR",
                       help="index directory (built at start if missing); without it, the config file's "
                            "[knowledge_bases.<name>] tables are served, each under /kb/<name>")
    serve.add_argument("--knowledge", nargs="+", action="extend", default=[], metavar="PATH",
                       help="knowledge sources; every ingest re-reads these plus the service's own folder")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument("--data-dir", metavar="DIR",
                       help="sessions, reviews and uploads (default: service.data_dir, else <index>.service)")
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    serve.set_defaults(run=_serve)


def _ask(args: argparse.Namespace, settings: Settings) -> int:
    from cs_rag.answering.assistant import Assistant

    history = _read_history(args.history) if args.history else None
    customer = _read_customer(args.customer) if args.customer else None
    assistant = Assistant.open(args.index, settings)
    streamed = args.stream and not args.json and args.option is None
    if args.option is not None:
        answer = assistant.choose(args.option, args.question, history, customer)
    else:
        answer = _answer(assistant, args.question, history, customer, streamed, filter_from(args))
    if args.json:
        print(json.dumps(answer.model_dump(mode="json"), ensure_ascii=False))
    else:
        _print_answer(answer, streamed=streamed)
    return 0


def _chat(args: argparse.Namespace, settings: Settings) -> int:
    from cs_rag.answering.assistant import Assistant
    from cs_rag.types import Turn

    customer = _read_customer(args.customer) if args.customer else None
    assistant = Assistant.open(args.index, settings)
    where = filter_from(args)
    history: list[Turn] = []
    print("cs-rag chat: ask a question; after a list of options, a number picks one; /reset starts "
          "over, /quit ends.", file=sys.stderr)
    options = []
    while True:
        try:
            question = input("> ").strip()
        except EOFError:
            return 0
        if question in ("/quit", "/exit"):
            return 0
        if question == "/reset":
            history, options = [], []
            print("(new conversation)")
            continue
        if not question:
            continue
        picked = next((o for o in options if question == str(o.marker)), None)
        if picked is not None:
            answer = assistant.choose(picked.id, picked.title, history, customer)
        else:
            answer = _answer(assistant, question, history, customer, args.stream, where)
        options = answer.options
        _print_answer(answer, streamed=args.stream and picked is None)
        history += [Turn(role="user", content=answer.question),
                    Turn(role="assistant", content=answer.text)]


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from cs_rag.service import serve

    if args.index is None and (args.knowledge or args.data_dir):
        raise InputError("cs-rag serve", "--knowledge and --data-dir go with --index; knowledge bases "
                                         "from the config file name their own")

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
    for option in answer.options:
        print(f"  option {option.marker}: {option.title}  (id {option.id})")
    for flag in answer.flags:
        print(f"  ! {flag.kind.value} (severity {flag.severity}): {flag.reason}")


def _read_history(path: Path):
    from pydantic import ValidationError

    from cs_rag.types import Turn

    text = read_json_file(path)
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
                    raise InputError(str(path), first_problem(exc), line=number) from None
        return turns
    except json.JSONDecodeError as exc:
        raise InputError(str(path), f"not JSON: {exc.msg}", line=exc.lineno) from None
    except ValidationError as exc:
        raise InputError(str(path), first_problem(exc)) from None


def _read_customer(path: Path):
    from pydantic import ValidationError

    from cs_rag.types import Customer

    try:
        return Customer.model_validate_json(read_json_file(path))
    except ValidationError as exc:
        raise InputError(str(path), first_problem(exc)) from None


