"""The cs-rag command line: ingest knowledge, search it."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from .config import load_settings
from .errors import CsRagError
from .index.base import SearchFilter
from .knowledge_base import KnowledgeBase

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
    search.add_argument("--category", action="append", help="only this category (repeatable)")
    search.add_argument("--json", action="store_true", help="print a JSON list of hits")
    search.set_defaults(run=_search)
    return parser


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
    where = SearchFilter(categories=set(args.category)) if args.category else None
    hits = KnowledgeBase(args.index, settings).search(args.query, k=args.k, where=where)
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


if __name__ == "__main__":
    raise SystemExit(main())
