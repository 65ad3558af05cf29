"""The cs-rag command line: ingest knowledge, search it, evaluate retrieval, answer questions,
guard messages and answers."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from cs_rag.cli import answers, evaluation, guard, knowledge, operator
from cs_rag.cli.operator import EXIT_REGRESSION
from cs_rag.config import load_settings
from cs_rag.errors import CsRagError

EXIT_ERROR = 1

__all__ = ["EXIT_ERROR", "EXIT_REGRESSION", "main"]


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
    # in the order `cs-rag --help` lists them
    knowledge.add_ingest(commands)
    knowledge.add_search(commands)
    evaluation.add_eval(commands)
    answers.add_ask(commands)
    answers.add_chat(commands)
    guard.add_guard(commands)
    answers.add_serve(commands)
    knowledge.add_db(commands)
    operator.add_operator_commands(commands)
    return parser
