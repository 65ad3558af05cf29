"""The message models on every held-out emotion set at once, and on the customer questions of
the blind traffic sets: one row per set and a pooled row, for the n-gram model (`cs-rag guard`)
and the e5 model (the answer path).

    python benchmarks/emotion_sets.py [SET ...] [--questions QUESTIONS.jsonl ...]

SET: a labelled set in the format of training/emotion/GUIDE.md (default: the six held-out sets
keep rules have been decided on, emotion..emotion5 and courtesy; eval/holdout/emotion6 is left
out, to be read once by a change that passed them). QUESTIONS: customer question sets whose lines have a `kind`
(default: eval/holdout/traffic2..7); the lines not of kind `emotional` are calm questions, and
the guard should leave them alone. Columns:
- negative F1: negative at any level against the gold level;
- level-3 recall / precision: gold level 3 read at level 3, and the reverse (a level-3 reading
  hands the customer to a supervisor);
- calm flagged: calm messages (gold level 0) with any guard flag (issue 22's false alarms);
- calm at level 3: calm messages handed to a supervisor.
Nothing here tunes anything; about two minutes.
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
            np.asarray([bool(r.flags) for r in results]))


def set_row(name: str, gold: np.ndarray, level: np.ndarray, flagged: np.ndarray) -> list:
    """One table row: negative F1, level-3 recall and precision, calm flagged, calm at level 3."""
    calm, strong, read3 = gold == 0, gold == 3, level == 3
    return [name, len(gold), prf(level > 0, gold > 0)[2],
            float(np.mean(read3[strong])) if strong.any() else "-",
            float(np.mean(strong[read3])) if read3.any() else "-",
            f"{int(flagged[calm].sum())} ({np.mean(flagged[calm]):.1%})", int(read3[calm].sum())]


def labelled_rows(guard: Guard, sets: list[Path]) -> list[list]:
    rows, pooled = [], ([], [], [])
    for path in sets:
        messages, _ = read_set(path)
        gold = np.asarray([int(m["level"]) for m in messages])
        level, flagged = readings(guard, [m["text"] for m in messages])
        rows.append(set_row(path.name, gold, level, flagged))
        for part, values in zip(pooled, (gold, level, flagged)):
            part.append(values)
    rows.append(set_row("pooled", *(np.concatenate(part) for part in pooled)))
    return rows


def question_rows(guard: Guard, files: list[Path]) -> list[list]:
    rows, totals = [], np.zeros(3, dtype=int)
    for path in files:
        calm = [q["question"] for q in read_jsonl(path) if q.get("kind") != "emotional"]
        level, flagged = readings(guard, calm)
        counts = np.asarray([len(calm), int(flagged.sum()), int((level == 3).sum())])
        totals += counts
        rows.append([path.parent.name, counts[0], f"{counts[1]} ({counts[1] / counts[0]:.1%})", counts[2]])
    rows.append(["all", totals[0], f"{totals[1]} ({totals[1] / totals[0]:.1%})", totals[2]])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sets", nargs="*", type=Path, default=DEFAULT_SETS)
    parser.add_argument("--questions", nargs="*", type=Path, default=DEFAULT_QUESTIONS)
    args = parser.parse_args()
    from cs_rag.models.embedding import Embedder

    out = ""
    for name, guard in (("n-gram model (cs-rag guard)", Guard()),
                        ("e5 model (the answer path)", Guard(encoder=Embedder()))):
        out += print_table(f"Held-out emotion sets, {name}",
                           ["set", "messages", "negative F1", "level-3 recall", "level-3 precision",
                            "calm flagged", "calm at level 3"], labelled_rows(guard, args.sets))
        if args.questions:
            out += print_table(f"Customer questions not marked emotional, {name}",
                               ["set", "questions", "any flag", "at level 3"], question_rows(guard, args.questions))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "emotion_sets.md").write_text(out, encoding="utf-8")


if __name__ == "__main__":
    main()
