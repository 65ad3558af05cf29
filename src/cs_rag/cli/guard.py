"""guard: check customer messages or drafted answers and route them, one JSON line each."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cs_rag.cli.common import read_json_file
from cs_rag.config import Settings
from cs_rag.errors import InputError


def add_guard(commands) -> None:
    guard = commands.add_parser(
        "guard", help="check customer messages or drafted answers and route them",
        description='Check every line of FILE, JSONL of {"id", "text"} (with --answers also '
                    '"evidence": [texts]), and write one JSON line per input: id, routing '
                    '(send, review or handoff), flags (kind, severity, level, span, evidence, '
                    'reason) and reasons; for messages also emotion {label, level}, '
                    'question_type and priority.')
    guard.add_argument("file", metavar="FILE", type=Path)
    guard.add_argument("--answers", action="store_true",
                       help="the texts are drafted answers, checked against their evidence")
    guard.add_argument("--out", metavar="FILE", type=Path, help="write there instead of to stdout")
    guard.add_argument("--embeddings", action="store_true",
                       help="read messages with the model that also uses the configured embedding "
                            "model's vectors (as the answer path does); slower to start and run")
    guard.set_defaults(run=_guard)


def _guard(args: argparse.Namespace, settings: Settings) -> int:
    from cs_rag.guard import Guard

    items = _read_guard_input(args.file, args.answers)
    encoder = None
    if args.embeddings:
        from cs_rag.models.embedding import Embedder

        encoder = Embedder(settings.embedding)
    guard = Guard(settings.guard, encoder=encoder, public_contacts=settings.company.contacts())
    if args.answers:
        results = [guard.check_answer(text, evidence) for _, text, evidence in items]
    else:
        results = guard.check_messages([text for _, text, _ in items])
    lines = []
    for (item_id, _, _), result in zip(items, results):
        flags = [flag.model_dump(mode="json", include={"kind", "severity", "level", "span",
                                                      "evidence", "reason"})
                 for flag in result.flags]
        line = {"id": item_id, "routing": result.routing.value, "flags": flags,
                "reasons": result.reasons}
        if not args.answers:
            line["emotion"] = result.emotion.model_dump(mode="json")
            line["question_type"] = result.question_type.value if result.question_type else None
            line["priority"] = result.priority
        lines.append(json.dumps(line, ensure_ascii=False) + "\n")
    if args.out:
        args.out.write_text("".join(lines), encoding="utf-8")
    else:
        sys.stdout.writelines(lines)
    return 0


def _read_guard_input(path: Path, answers: bool) -> list[tuple[str | int, str, list[str]]]:
    """(id, text, evidence) per non-blank line; a bad line is an InputError naming it."""
    items = []
    for number, line in enumerate(read_json_file(path).splitlines(), start=1):
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


