"""The message models on several held-out emotion sets at once, and on the customer questions of
the blind traffic sets: one row per set and a pooled row, for the n-gram model (`cs-rag guard`)
and the e5 model (the one the answer path uses).

    python benchmarks/emotion_sets.py [SET ...] [--questions FILE]... [--no-questions]

SET: a labelled set in the format of training/emotion/GUIDE.md, a JSONL file or a folder; its
conversations are skipped (benchmarks/guard.py scores them). Default: the six held-out sets keep
rules have been decided on, emotion..emotion5 and courtesy. eval/holdout/emotion6 is not among
them: it was read once by the shipped models (2026-12-07) and is kept for a change that passes them.
FILE (repeat the option for more): customer questions whose every line has a `kind` (default:
eval/holdout/traffic2..7); the lines whose writer did not mark them `emotional` are counted.
Those are mostly calm, but `kind` is one main style per line, so an upset repeat or complaint of
another style is counted too. Columns:
- negative F1: negative at any level against the gold level;
- level-3 recall / precision: gold level 3 read at level 3, and the reverse;
- calm flagged: calm messages (gold level 0) with any guard flag (emotion, offensive, a request
  for a person, personal data ...: issue 22's false alarms);
- calm at level 3: calm messages read at level 3, the emotion hand-off to a supervisor.
"-" where a column has nothing to count. The e5 rows embed the texts in batches, which can
differ in the last digits from the answer path's one question at a time: a difference of one or
two messages between two runs is within that. Nothing here tunes anything; about a minute.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from _common import REPO, RESULTS, print_table, read_jsonl
from guard_labelled import prf, read_set

from cs_rag.guard import Guard

HELDOUT = REPO / "eval" / "holdout"
DEFAULT_SETS = [HELDOUT / name for name in ("emotion", "emotion2", "emotion3", "emotion4", "emotion5", "courtesy")]
DEFAULT_QUESTIONS = [HELDOUT / f"traffic{n}" / "questions.jsonl" for n in range(2, 8)]


def readings(guard: Guard, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(level read, any flag raised) of each text."""
    results = guard.check_messages(texts)
    return (np.asarray([r.emotion.level for r in results], dtype=int),
            np.asarray([bool(r.flags) for r in results], dtype=bool))


def share(flags: np.ndarray) -> str:
    """'n (share%)' of the true values, '-' when there are none to count."""
    return f"{int(flags.sum())} ({flags.mean():.1%})" if flags.size else "-"


def set_row(name: str, gold: np.ndarray, level: np.ndarray, flagged: np.ndarray) -> list:
    """One table row: negative F1, level-3 recall and precision, calm flagged, calm at level 3."""
    calm, strong, read3 = gold == 0, gold == 3, level == 3
    negative = (gold > 0).any() or (level > 0).any()
    return [name, len(gold), prf(level > 0, gold > 0)[2] if negative else "-",
            float(np.mean(read3[strong])) if strong.any() else "-",
            float(np.mean(strong[read3])) if read3.any() else "-",
            share(flagged[calm]), int(read3[calm].sum()) if calm.any() else "-"]


def labelled_rows(guard: Guard, sets: dict[Path, list[dict]]) -> list[list]:
    rows, pooled = [], ([], [], [])
    for path, messages in sets.items():
        gold = np.asarray([int(m["level"]) for m in messages], dtype=int)
        level, flagged = readings(guard, [m["text"] for m in messages])
        rows.append(set_row(path.name, gold, level, flagged))
        for part, values in zip(pooled, (gold, level, flagged)):
            part.append(values)
    rows.append(set_row("pooled", *(np.concatenate(part) for part in pooled)))
    return rows


def question_rows(guard: Guard, files: dict[Path, list[str]]) -> list[list]:
    rows, every_level, every_flag = [], [], []
    for path, texts in files.items():
        level, flagged = readings(guard, texts)
        rows.append([_name(path), len(texts), share(flagged), int((level == 3).sum())])
        every_level.append(level)
        every_flag.append(flagged)
    level, flagged = np.concatenate(every_level), np.concatenate(every_flag)
    return rows + [["all", len(level), share(flagged), int((level == 3).sum())]]


def not_emotional(path: Path) -> list[str]:
    """The questions of `path` whose writer did not mark them emotional; a line without a
    `kind` stops the run naming file and line."""
    rows = read_jsonl(path)
    for number, row in enumerate(rows, start=1):
        if "kind" not in row:
            raise SystemExit(f"{path}:{number}: no `kind`, so it cannot tell the emotional questions apart")
    return [row["question"] for row in rows if row["kind"] != "emotional"]


def _name(path: Path) -> str:
    """A question file's row name: its folder for a questions.jsonl, else the file."""
    return path.parent.name if path.name == "questions.jsonl" else path.name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sets", nargs="*", type=Path, default=DEFAULT_SETS)
    parser.add_argument("--questions", action="append", type=Path, metavar="FILE")
    parser.add_argument("--no-questions", action="store_true", help="skip the customer questions")
    args = parser.parse_args()
    files = [] if args.no_questions else (args.questions or DEFAULT_QUESTIONS)
    missing = [str(path) for path in [*args.sets, *files] if not path.exists()]
    if missing:
        raise SystemExit(f"no such set: {', '.join(missing)}")
    sets = {path: read_set(path)[0] for path in args.sets}   # read everything before loading a model
    questions = {path: not_emotional(path) for path in files}
    from cs_rag.models.embedding import Embedder

    out = ""
    for name, guard in (("n-gram model (cs-rag guard)", Guard()),
                        ("e5 model (the answer path's)", Guard(encoder=Embedder()))):
        out += print_table(f"Held-out emotion sets, {name}",
                           ["set", "messages", "negative F1", "level-3 recall", "level-3 precision",
                            "calm flagged", "calm at level 3"], labelled_rows(guard, sets))
        if questions:
            out += print_table(f"Customer questions not marked emotional, {name}",
                               ["set", "questions", "any flag", "at level 3"], question_rows(guard, questions))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "emotion_sets.md").write_text(out, encoding="utf-8")


if __name__ == "__main__":
    main()
