"""What several commands share: filter and answer options, reading JSON input files."""

from __future__ import annotations

import argparse
from pathlib import Path

from cs_rag.errors import InputError
from cs_rag.index.base import SearchFilter
from cs_rag.types import DocumentKind


def answer_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--index", required=True, metavar="DIR", help="index directory")
    parser.add_argument("--stream", action="store_true",
                        help="print the reply as it is written (with an LLM configured)")
    filter_options(parser)


def filter_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--category", action="append", type=blank_is_error, help="only this category (repeatable)")
    parser.add_argument("--product", action="append", type=blank_is_error,
                        help="only knowledge about this product or about no product in particular "
                             "(repeatable)")


def blank_is_error(value: str) -> str:
    if not value.strip():
        raise argparse.ArgumentTypeError("a name cannot be blank")
    return value.strip()


def filter_from(args: argparse.Namespace) -> SearchFilter | None:
    """The SearchFilter that --category, --product (and --kind, where offered) ask for."""
    kinds = getattr(args, "kind", None)
    if not (args.category or args.product or kinds):
        return None
    return SearchFilter(categories=set(args.category) if args.category else None,
                        kinds={DocumentKind(k) for k in kinds} if kinds else None,
                        products=set(args.product) if args.product else None)



def read_json_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(str(path), f"cannot read: {exc}") from None


def first_problem(exc) -> str:
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error["loc"])
    return f"{where}: {error['msg']}" if where else error["msg"]

