"""learning list|apply|export: the learning queue for a team without the console, on the same
data folder `cs-rag serve` uses."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from cs_rag.config import Settings
from cs_rag.errors import InputError
from cs_rag.knowledge_base import KnowledgeBase, state_database
from cs_rag.learning.export import export_learned
from cs_rag.learning.knowledge import LEARNED_FILE
from cs_rag.learning.loop import LearningLoop

BY = "cli"
SHOWN_WORDINGS = 5   # per group in the text listing


def add_learning(commands) -> None:
    learning = commands.add_parser(
        "learning", help="the learning queue: what the bot could not serve, and teaching it",
        description="Work the learning queue of a service's data folder (default <index>.service, "
                    "as cs-rag serve uses it): `list` the groups of questions the bot could not "
                    "serve; `apply` one action to a group (link its wordings to an FAQ entry, "
                    "create an entry, decline: never answer these wordings, ignore, undo), or to some "
                    "of its wordings (--wordings); `export` the FAQ entries learning touched, "
                    "merged, as JSONL or XLSX for the team's master copy.")
    learning.add_argument("action", choices=["list", "apply", "export"])
    learning.add_argument("group", nargs="?", help="apply: the group id (from list)")
    learning.add_argument("--index", required=True, metavar="DIR")
    learning.add_argument("--data-dir", metavar="DIR", type=Path, help="default: <index>.service")
    learning.add_argument("--knowledge", nargs="+", metavar="PATH", type=Path, default=[],
                          help="apply: ingest these and the learned knowledge afterwards; export: "
                               "the team's knowledge the learned entries extend")
    learning.add_argument("--link", metavar="ENTRY_ID", help="apply: the wordings become its similar questions")
    learning.add_argument("--create", nargs=2, metavar=("QUESTION", "ANSWER"), help="apply: a new FAQ entry")
    learning.add_argument("--category", help="apply --create: its category")
    learning.add_argument("--ignore", metavar="REASON", help="apply: close the group without teaching")
    learning.add_argument("--decline", metavar="REASON",
                          help="apply: never answer these wordings (a question matching them is refused)")
    learning.add_argument("--undo", metavar="ACTION_ID", type=int, help="apply: reverse an earlier action")
    learning.add_argument("--wordings", nargs="+", action="extend", metavar="TEXT",
                          help="apply with --link, --create, --decline or --ignore: only these wordings "
                               "of the group, exactly as list shows them (the others stay open)")
    learning.add_argument("--out", type=Path, metavar="FILE", help="export: a .jsonl or .xlsx file")
    learning.add_argument("--json", action="store_true", help="list: JSON output")
    learning.set_defaults(run=_learning)


def _learning(args: argparse.Namespace, settings: Settings) -> int:
    data = args.data_dir or Path(f"{args.index}.service")
    knowledge_base = KnowledgeBase(args.index, settings)
    database = state_database(args.index, settings, data)
    learned = data / "knowledge" / LEARNED_FILE
    try:
        loop = LearningLoop(database, knowledge_base, learned)
        if args.action == "list":
            return _list(loop, args.json)
        if args.action == "export":
            if args.out is None:
                raise InputError("cs-rag learning export", "--out FILE is required")
            count, missing = export_learned([*args.knowledge, learned.parent], learned, args.out)
            print(f"wrote {count} FAQ {'entry' if count == 1 else 'entries'} to {args.out}")
            if missing:
                print(f"{missing} learned {'entry was' if missing == 1 else 'entries were'} left out: they "
                      "extend entries of your own knowledge files; name them with --knowledge")
            return 0
        return _apply(args, loop, knowledge_base, learned)
    finally:
        database.close()


def _list(loop: LearningLoop, as_json: bool) -> int:
    groups = loop.groups()
    if as_json:
        print(json.dumps([g.model_dump(mode="json", exclude={"members"}) for g in groups],
                         ensure_ascii=False, indent=1))
        return 0
    print(f"{len(groups)} groups, {sum(g.count for g in groups)} questions")
    for group in groups:
        sources = ", ".join(f"{k} {v}" for k, v in group.sources.items())
        print(f"\n{group.id}  {group.count}x  ({sources})")
        for wording in group.wordings[:SHOWN_WORDINGS]:
            print(f"    {wording.count:>3}  {wording.text}")
        if len(group.wordings) > SHOWN_WORDINGS:
            print(f"    ... {len(group.wordings) - SHOWN_WORDINGS} more wordings (--json lists them all)")
        for candidate in group.candidates:
            print(f"    -> {candidate.id}  {candidate.question}  ({candidate.score:.2f})")
    return 0


def _apply(args: argparse.Namespace, loop: LearningLoop, knowledge_base: KnowledgeBase, learned: Path) -> int:
    chosen = [name for name in ("link", "create", "ignore", "decline", "undo") if getattr(args, name) is not None]
    if args.group is None or len(chosen) != 1:
        raise InputError("cs-rag learning apply", "give a GROUP and exactly one of --link, --create, "
                         "--ignore, --decline, --undo")
    if args.wordings is not None and args.undo is not None:
        raise InputError("cs-rag learning apply", "--undo reverses a whole action: it takes no --wordings")
    try:
        if args.link:
            action = loop.link(args.group, args.link, BY, args.wordings)
        elif args.create:
            action = loop.create(args.group, args.create[0], args.create[1], args.category, BY, args.wordings)
        elif args.ignore is not None:
            action = loop.ignore(args.group, args.ignore, BY, args.wordings)
        elif args.decline is not None:
            action = loop.decline(args.group, args.decline, BY, args.wordings)
        else:
            action = loop.undo(args.group, args.undo, BY)
    except KeyError:
        raise InputError("cs-rag learning apply", f"no open group {args.group}" if args.undo is None
                         else f"no action {args.undo} of group {args.group}") from None
    except ValueError as exc:
        raise InputError("cs-rag learning apply", str(exc)) from None
    print(f"action {action.id}: {action.kind.value}" + (f" {action.entry_id}" if action.entry_id else ""))
    if args.knowledge:
        print(knowledge_base.ingest([*args.knowledge, learned.parent]).summary())
    elif action.kind.value != "ignore":
        print(f"ingest your knowledge together with {learned.parent} to apply it "
              "(a running cs-rag serve does so at its next ingest job)")
    return 0
