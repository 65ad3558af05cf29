"""Soothing scripts suggested for an upset customer, from `prompts/<language>/soothing.txt`.

One script per line: `emotion level text`, where emotion is dissatisfied, angry,
disappointed or `*` (any) and level is 1-3; `#` starts a comment line. A script for the exact
emotion wins over a `*` one of the same level.
"""

from __future__ import annotations

from pathlib import Path

from cs_rag.errors import InputError
from cs_rag.reading import content_lines
from cs_rag.text import LANGUAGES

EMOTIONS = ("dissatisfied", "angry", "disappointed")
FILE_NAME = "soothing.txt"


def script_files(prompts_dir: Path) -> list[Path]:
    """The soothing-script file of every language under `prompts_dir`."""
    return [prompts_dir / language / FILE_NAME for language in LANGUAGES]


def read_scripts(path: Path) -> dict[tuple[str, int], str]:
    """{(emotion or "*", level): script} from one file; a malformed line names file and line."""
    scripts: dict[tuple[str, int], str] = {}
    for number, line in content_lines(path, "soothing scripts"):
        parts = line.split(maxsplit=2)
        if len(parts) < 3 or parts[0] not in (*EMOTIONS, "*") or parts[1] not in ("1", "2", "3"):
            raise InputError(str(path), "expected `emotion level script` with emotion one of "
                             f"{', '.join(EMOTIONS)} or *, and level 1-3", line=number)
        scripts[(parts[0], int(parts[1]))] = parts[2]
    return scripts


def load_scripts(prompts_dir: Path) -> dict[str, dict[tuple[str, int], str]]:
    """{language: scripts} for every language in LANGUAGES."""
    return {language: read_scripts(path)
            for language, path in zip(LANGUAGES, script_files(prompts_dir))}


def pick_script(scripts: dict[tuple[str, int], str], emotion: str, level: int) -> str | None:
    """The script for this emotion and level, else the `*` one, else None."""
    return scripts.get((emotion, level)) or scripts.get(("*", level))
