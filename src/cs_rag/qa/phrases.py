"""The inspection's phrase lists: operator-editable files, matched over folded text.

Each list is a UTF-8 file `<name>.txt`, one phrase per line, `#` starting a comment line, with
an optional allow-list `<name>.allow.txt` of longer phrases that contain a listed phrase but do
not mean it (无法保证 for 保证). The shipped lists live in `cs_rag/data/qa/`; an operator folder
(`qa.lexicon_dir`) adds its phrases to them. Text and phrases are folded as the guard folds
them (`cs_rag.guard.fold`: 您 好 matches 您好, full-width and traditional forms match), and a
phrase edge that is a Latin letter or digit must sit at a word boundary (hi never matches in
this).
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import ahocorasick

from cs_rag.errors import InputError
from cs_rag.guard.fold import fold, fold_view, is_latin, normal_view
from cs_rag.reading import content_lines

# name -> whose text it is matched on, and what a phrase of it means
LISTS: dict[str, str] = {
    "greeting": "agent: a greeting or self-introduction",
    "closing": "agent: a polite close",
    "impolite": "agent: rude, impatient, blaming or sarcastic wording",
    "banned": "agent: absolute promises and forbidden phrases",
    "empathy": "agent: an apology or an acknowledgement of the customer's feelings",
    "deferral": "agent: the matter is put off or refused without a solution",
    "handoff": "bot: a hand-off to a person, which answers nothing",
    "settled": "customer: the matter is settled (thanks, it works now)",
    "accepted": "customer: the answer is accepted without enthusiasm (好吧, 行吧); trailing off (好吧……) is resignation",
    "unsettled": "customer: the problem is not solved",
}


@dataclass(frozen=True)
class Phrase:
    """A listed phrase found in a text: `text[start:end]` of the original text."""

    name: str
    term: str
    start: int
    end: int


def shipped_dir() -> Path:
    """The phrase lists shipped with cs_rag."""
    return Path(str(importlib.resources.files("cs_rag") / "data" / "qa"))


def list_files(folder: Path) -> list[Path]:
    """The `.txt` files of a phrase folder; a file of no known name is an error naming it."""
    known = {f"{name}{suffix}" for name in LISTS for suffix in (".txt", ".allow.txt")}
    files = sorted(p for p in folder.iterdir() if p.suffix == ".txt" and p.is_file())
    for path in files:
        if path.name not in known:
            raise InputError(str(path), "not a QA phrase list; the names are: " + ", ".join(sorted(known)))
    return files


class PhraseLists:
    """Every list's phrases in one automaton, their allow phrases in another."""

    def __init__(self, phrases: Iterable[tuple[str, str]], allow: Iterable[tuple[str, str]]) -> None:
        self._terms = _automaton(phrases)
        self._allow = _automaton(allow)

    @classmethod
    def load(cls, folders: Iterable[Path]) -> PhraseLists:
        """The lists of `folders` merged (shipped first, then the operator's)."""
        phrases: list[tuple[str, str]] = []
        allow: list[tuple[str, str]] = []
        for folder in folders:
            for path in list_files(folder):
                name, _, rest = path.name.partition(".")
                target = allow if rest == "allow.txt" else phrases
                target.extend((name, folded) for _, line in content_lines(path, "QA phrase list")
                              if (folded := fold(line)))
        return cls(phrases, allow)

    def find(self, text: str) -> dict[str, list[Phrase]]:
        """The listed phrases in `text` by list name, in text order; a phrase inside an allow
        phrase of its list is dropped, and of overlapping phrases of one list the first and
        longest is kept."""
        if self._terms is None or not text:
            return {}
        view = fold_view(normal_view(text))
        folded = view.text
        hits: list[tuple[str, str, int, int]] = []
        for last, entries in self._terms.iter(folded):
            end = last + 1
            for name, term in entries:
                start = end - len(term)
                if _at_boundaries(folded, start, end):
                    hits.append((name, term, start, end))
        if not hits:
            return {}
        allowed = [] if self._allow is None else [
            (last + 1 - len(term), last + 1, name)
            for last, entries in self._allow.iter(folded) for name, term in entries]
        found: dict[str, list[Phrase]] = {}
        for name, term, start, end in sorted(hits, key=lambda h: (h[2], -h[3])):
            if any(n == name and s <= start and end <= e for s, e, n in allowed):
                continue
            first, last = view.original_span(start, end)
            kept = found.setdefault(name, [])
            if not kept or first >= kept[-1].end:
                kept.append(Phrase(name, text[first:last], first, last))
        return found


def _automaton(entries: Iterable[tuple[str, str]]):
    automaton = ahocorasick.Automaton()
    for name, term in entries:
        if automaton.exists(term):
            if (name, term) not in automaton.get(term):
                automaton.get(term).append((name, term))
        else:
            automaton.add_word(term, [(name, term)])
    if len(automaton) == 0:
        return None
    automaton.make_automaton()
    return automaton


def _at_boundaries(text: str, start: int, end: int) -> bool:
    if is_latin(text[start]) and start > 0 and is_latin(text[start - 1]):
        return False
    return not (is_latin(text[end - 1]) and end < len(text) and is_latin(text[end]))
