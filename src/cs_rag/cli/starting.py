"""init and doctor: a team's first hour with its own knowledge."""

from __future__ import annotations

import argparse
from pathlib import Path

from cs_rag.ops.doctor import FAIL, run_checks
from cs_rag.ops.starter import LANGUAGES, write_starter

EXIT_PROBLEMS = 1


def add_starting_commands(commands) -> None:
    """init, doctor."""
    init = commands.add_parser(
        "init", help="a starter folder to fill in: settings, FAQ workbook, example policy, prompts",
        description="Write a starter folder for your own knowledge: a commented cs_rag.toml, "
                    "knowledge/faq.xlsx (the columns cs_rag reads, two example rows, an "
                    "instructions sheet), an example policy with front matter, userdict.txt and "
                    "synonyms.txt, editable prompts and phrases, a guard lexicon folder and example "
                    "evaluation questions. Nothing that exists is overwritten.")
    init.add_argument("folder", metavar="DIR", type=Path)
    init.add_argument("--company", metavar="NAME", help="the company the replies speak for")
    init.add_argument("--lang", choices=LANGUAGES, default="zh",
                      help="the language of the examples and instructions (default zh)")
    init.set_defaults(run=_init, loads_settings=False)

    doctor = commands.add_parser(
        "doctor", help="what works and what does not, each problem with its fix",
        description="Check the settings, the company details, prompts and phrases, the guard's "
                    "lexicons, the embedding model, the index (with --index), the LLM endpoint "
                    "(when [llm] model is set) and PostgreSQL (when it is the backend). Exits 1 "
                    "when something does not work.")
    doctor.add_argument("--index", metavar="DIR", help="also check this index")
    doctor.set_defaults(run=_doctor, loads_settings=False)


def _init(args: argparse.Namespace, config: Path | None) -> int:
    starter = write_starter(args.folder, args.company, args.lang)
    print(f"wrote {len(starter.files)} files to {starter.root}/ (see its README.md). Next:")
    print(f"  cd {starter.root}")
    print("  # fill in knowledge/faq.xlsx and the [company] section of cs_rag.toml, then:")
    print("  cs-rag doctor")
    print("  cs-rag ingest knowledge --index index")
    print(f"  cs-rag ask \"{'退款几天能到' if args.lang == 'zh' else 'when do I get my refund'}\" --index index")
    return 0


def _doctor(args: argparse.Namespace, config: Path | None) -> int:
    checks = run_checks(config, args.index)
    for check in checks:
        print(check.line())
    failed = sum(check.status == FAIL for check in checks)
    print(f"{len(checks)} checks, {failed} failing" if failed else f"{len(checks)} checks, all working")
    return EXIT_PROBLEMS if failed else 0
