"""qa: inspect human agents' conversations, one JSON line each, and write the QA report."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cs_rag.config import Settings


def add_qa(commands) -> None:
    qa = commands.add_parser(
        "qa", help="quality inspection (智能质检) of human agents' conversations",
        description="Inspect every conversation of FILE (JSONL, one conversation a line: id, agent_id, "
                    "turns of role/text/ts, optional resolved and satisfaction; docs/qa.md) for the "
                    "finding codes and score it 0-100 per dimension. Prints one line per conversation "
                    "(JSON with --json: id, agent_id, findings of code/turn/evidence, scores). With "
                    "--index, agents' stated facts are checked against that knowledge (wrong_info); "
                    "without, they are not. With --out, an HTML and Markdown report per agent.")
    qa.add_argument("file", metavar="FILE.jsonl", type=Path)
    qa.add_argument("--index", metavar="DIR", help="check agents' facts against this index (wrong_info)")
    qa.add_argument("--out", metavar="DIR", type=Path,
                    help="write DIR/report.html (self-contained) and DIR/report.md (charts in DIR/plots/)")
    qa.add_argument("--json", action="store_true", help="one JSON object per conversation")
    qa.add_argument("--skip-bad", action="store_true",
                    help="leave out bad lines (each named on stderr) and inspect the rest")
    qa.set_defaults(run=_qa)


def _qa(args: argparse.Namespace, settings: Settings) -> int:
    from cs_rag.knowledge_base import KnowledgeBase
    from cs_rag.qa import Inspector, read_conversations

    conversations, skipped = read_conversations(args.file, skip_bad=args.skip_bad)
    for error in skipped:
        print(f"cs-rag: skipped: {error}", file=sys.stderr)
    knowledge_base = KnowledgeBase(args.index, settings) if args.index else None
    inspector = Inspector(settings, knowledge_base=knowledge_base)
    results = inspector.inspect(conversations)
    for result in results:
        if args.json:
            print(json.dumps(result.model_dump(mode="json", exclude={"findings": {"__all__": {"span"}}}),
                         ensure_ascii=False))
        else:
            codes = ", ".join(f"{f.code.value}@{f.turn}" for f in result.findings) or "-"
            print(f"{result.id}\t{result.agent_id}\toverall {result.scores.overall:>3}\t{codes}")
    if not inspector.checks_facts:
        print("cs-rag: wrong_info not checked: no --index", file=sys.stderr)
    if args.out:
        from cs_rag.qa.report import write_qa_report

        texts = {c.id: [t.text for t in c.turns] for c in conversations}
        files = write_qa_report(results, args.out, settings.qa, source=str(args.file), texts=texts)
        print(f"wrote {files.html} and {files.markdown} ({len(files.plots)} charts)", file=sys.stderr)
    return 0
