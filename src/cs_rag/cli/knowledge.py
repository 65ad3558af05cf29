"""ingest, search and db: build a knowledge base, search it, manage its PostgreSQL schema."""

from __future__ import annotations

import argparse
import json
import sys

from cs_rag.cli.common import filter_from, filter_options
from cs_rag.config import Settings
from cs_rag.knowledge_base import KnowledgeBase
from cs_rag.types import DocumentKind

_PROGRESS_MIN_TEXTS = 200  # below this an ingest is quick; a bar would only flicker


def add_ingest(commands) -> None:
    ingest = commands.add_parser("ingest", help="add or update knowledge in an index",
                                 description="Ingest FAQ files (.jsonl/.csv/.xlsx), passage sets "
                                 "and policy documents (.md/.txt/.html/.docx/.pdf) into an index. "
                                 "Only changed documents are re-embedded; documents whose source "
                                 "disappeared from PATH are removed.")
    ingest.add_argument("paths", nargs="+", metavar="PATH", help="files or directories")
    ingest.add_argument("--index", required=True, metavar="DIR", help="index directory")
    ingest.add_argument("--skip-bad", action="store_true",
                        help="ingest the rest when a file, line or row is bad, and list it")
    ingest.add_argument("--refit", action="store_true",
                        help="fine-tune the embedding model on the FAQ again (index.fine_tune), "
                        "even when less than a fifth of it changed; re-embeds every text")
    ingest.add_argument("--json", action="store_true", help="print the report as JSON")
    ingest.set_defaults(run=_ingest)


def add_search(commands) -> None:
    search = commands.add_parser("search", help="ranked hits for a question",
                                 description="Search an index with hybrid (BM25 + dense) retrieval.")
    search.add_argument("query")
    search.add_argument("--index", required=True, metavar="DIR")
    search.add_argument("-k", type=int, default=10, help="number of hits (default 10)")
    filter_options(search)
    search.add_argument("--kind", action="append", choices=[k.value for k in DocumentKind],
                        help="only this kind of knowledge: faq, policy or passage (repeatable)")
    search.add_argument("--json", action="store_true", help="print a JSON list of hits")
    search.set_defaults(run=_search)


def add_db(commands) -> None:
    db = commands.add_parser(
        "db", help="create, migrate or inspect a knowledge base's PostgreSQL schema",
        description="For index.backend = postgres (connection string in CS_RAG_PG_DSN): `init` creates "
                    "the pgvector extension (if allowed), the schema and its tables; `migrate` brings an "
                    "older schema to this cs_rag's version; `status` prints the versions and what "
                    "keyword search runs on. The schema is index.pg_schema, else NAME.")
    db.add_argument("action", choices=["init", "migrate", "status"])
    db.add_argument("--index", required=True, metavar="NAME", help="the knowledge base")
    db.set_defaults(run=_db)


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



def _ingest(args: argparse.Namespace, settings) -> int:
    from tqdm import tqdm

    from cs_rag.answering.question_writer import question_writer_from

    bar = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None and total >= _PROGRESS_MIN_TEXTS:
            bar = tqdm(total=total, unit="text", desc="embedding", file=sys.stderr)
        if bar is not None:
            bar.update(done - bar.n)

    try:
        knowledge_base = KnowledgeBase(args.index, settings, question_writer=question_writer_from(settings))
        report = knowledge_base.ingest(args.paths, skip_bad=args.skip_bad, progress=progress, refit=args.refit)
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
    hits = KnowledgeBase(args.index, settings).search(args.query, k=args.k, where=filter_from(args))
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


