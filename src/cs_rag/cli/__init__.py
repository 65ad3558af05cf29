"""The cs-rag command line: ingest knowledge, search it, evaluate retrieval, answer questions,
guard messages and answers, inspect agents' conversations."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from cs_rag.cli import answers, evaluation, guard, knowledge, learning, operator, quality, starting
from cs_rag.cli.operator import EXIT_REGRESSION
from cs_rag.config import load_settings
from cs_rag.errors import CsRagError

EXIT_ERROR = 1
DEFAULT_CONFIG = Path("cs_rag.toml")

__all__ = ["EXIT_ERROR", "EXIT_REGRESSION", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        config = config_path(args.config)
        if not getattr(args, "loads_settings", True):   # init, doctor: their own settings handling
            return args.run(args, config)
        return args.run(args, load_settings(config))
    except CsRagError as exc:
        print(f"cs-rag: error: {exc}", file=sys.stderr)
        return EXIT_ERROR


def config_path(given: str | None) -> Path | None:
    """The settings file: `--config`, else a cs_rag.toml in the working directory, else none."""
    if given is not None:
        return Path(given)
    return DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cs-rag", description=__doc__)
    parser.add_argument("--config", metavar="FILE", help="TOML settings file (default: "
                        "cs_rag.toml in the working directory, if there is one; "
                        "CS_RAG_<SECTION>_<KEY> environment variables override it)")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    # in the order `cs-rag --help` lists them
    starting.add_starting_commands(commands)
    knowledge.add_ingest(commands)
    knowledge.add_search(commands)
    evaluation.add_eval(commands)
    answers.add_ask(commands)
    answers.add_chat(commands)
    guard.add_guard(commands)
    answers.add_serve(commands)
    knowledge.add_db(commands)
    operator.add_operator_commands(commands)
    learning.add_learning(commands)
    quality.add_qa(commands)
    return parser
