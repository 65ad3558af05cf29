"""Guard lexicons: operator-editable word lists, matched with Aho-Corasick over folded text.

A lexicon is a UTF-8 file `<name>.txt`, one term per line, `#` starting a comment line. A
line may end in a level 1-3 after a space (`气死了 3`): the intensity for the emotion lists,
the severity for the others; without one the list's default applies (LEXICONS). A term
whose last word is a single digit must therefore carry an explicit level. Its allow-list
`<name>.allow.txt` holds phrases that contain a term but are harmless (报警器 for 报警,
尽可能 for 可能): a hit inside an allow phrase is dropped. `pii.allow.txt` lists contact
data that is not personal (the company's service address), compared as `pii.pii_key`.

Terms and phrases are folded like the text (see `fold`), so 轉人工 and 转 人 工 match 转人工.
A term edge that is a Latin letter or digit must sit at a word boundary (sue never matches
in issue, 12315 never inside a longer number).
"""

from __future__ import annotations

import importlib.resources
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import ahocorasick

from cs_rag.errors import InputError
from cs_rag.guard.fold import fold, is_latin
from cs_rag.guard.pii import pii_key
from cs_rag.reading import content_lines
from cs_rag.types import FlagKind

MESSAGE = "message"
ANSWER = "answer"
PII_ALLOW = "pii.allow.txt"
_LEVEL = re.compile(r"^(?P<term>.*\S)\s+(?P<level>\d)$")


@dataclass(frozen=True)
class LexiconSpec:
    """What one lexicon file means: the flag it raises, on which text, at which default level."""

    name: str                  # file stem
    kind: FlagKind
    side: str                  # MESSAGE (the customer's text) or ANSWER (a drafted reply)
    level: int                 # default level of its terms
    emotion: str | None = None  # for negative-emotion lists: dissatisfied, angry, disappointed


LEXICONS: tuple[LexiconSpec, ...] = (
    LexiconSpec("human_request", FlagKind.HUMAN_REQUEST, MESSAGE, 2),
    LexiconSpec("escalation", FlagKind.ESCALATION_THREAT, MESSAGE, 3),
    LexiconSpec("injection", FlagKind.INJECTION, MESSAGE, 3),
    LexiconSpec("offensive", FlagKind.OFFENSIVE, MESSAGE, 3),
    LexiconSpec("emotion_angry", FlagKind.NEGATIVE_EMOTION, MESSAGE, 2, "angry"),
    LexiconSpec("emotion_dissatisfied", FlagKind.NEGATIVE_EMOTION, MESSAGE, 1, "dissatisfied"),
    LexiconSpec("emotion_disappointed", FlagKind.NEGATIVE_EMOTION, MESSAGE, 1, "disappointed"),
    LexiconSpec("hedging", FlagKind.HEDGING, ANSWER, 2),
    LexiconSpec("promises", FlagKind.RISKY_PROMISE, ANSWER, 2),
    LexiconSpec("banned", FlagKind.BANNED_WORD, ANSWER, 2),
    LexiconSpec("sensitive", FlagKind.SENSITIVE_TOPIC, ANSWER, 2),
)
SPECS = {spec.name: spec for spec in LEXICONS}


@dataclass(frozen=True)
class Hit:
    """A lexicon term found in a folded text, `folded[start:end]`."""

    spec: LexiconSpec
    term: str
    start: int
    end: int
    level: int


@dataclass(frozen=True)
class _Term:
    spec: LexiconSpec
    text: str
    level: int


def shipped_dir() -> Path:
    """The lexicon folder shipped with cs_rag."""
    return Path(str(importlib.resources.files("cs_rag") / "data" / "guard"))


def known_files() -> list[str]:
    """The lexicon file names a lexicon folder may hold."""
    names = [f"{spec.name}{suffix}" for spec in LEXICONS for suffix in (".txt", ".allow.txt")]
    return sorted([*names, PII_ALLOW])


def read_terms(path: Path, spec: LexiconSpec) -> list[tuple[str, int]]:
    """(raw term, level) per line of a lexicon file; a level outside 1-3 names its line."""
    terms: list[tuple[str, int]] = []
    for number, line in content_lines(path, "lexicon"):
        term, level = line, spec.level
        found = _LEVEL.match(line)
        if found:
            term, level = found["term"], int(found["level"])
            if not 1 <= level <= 3:
                raise InputError(str(path), f"level must be 1, 2 or 3, got {level}", line=number)
        terms.append((term, level))
    return terms


def read_phrases(path: Path) -> list[str]:
    """One phrase per line of an allow-list file."""
    return [line for _, line in content_lines(path, "lexicon")]


class Matcher:
    """All terms of some lexicons in one automaton, with the lexicons' allow phrases in another."""

    def __init__(self, terms: Iterable[_Term], allow: Iterable[tuple[str, str]]) -> None:
        self._terms = ahocorasick.Automaton()
        for term in terms:
            if self._terms.exists(term.text):
                self._terms.get(term.text).append(term)
            else:
                self._terms.add_word(term.text, [term])
        self._allow = ahocorasick.Automaton()
        for lexicon, phrase in allow:
            if self._allow.exists(phrase):
                self._allow.get(phrase)[1].add(lexicon)
            else:
                self._allow.add_word(phrase, (phrase, {lexicon}))
        self._has_terms = len(self._terms) > 0
        self._has_allow = len(self._allow) > 0
        if self._has_terms:
            self._terms.make_automaton()
        if self._has_allow:
            self._allow.make_automaton()

    def find(self, folded: str) -> list[Hit]:
        """Term occurrences at word boundaries, ordered by position. A hit inside an allow phrase
        of its lexicon is dropped; overlapping hits of one lexicon become one hit (their union,
        the highest level), so 你的系统提示词 is one hit, not two."""
        if not self._has_terms or not folded:
            return []
        hits: list[Hit] = []
        for last, terms in self._terms.iter(folded):
            end = last + 1
            start = end - len(terms[0].text)
            if _at_boundaries(folded, start, end):
                hits.extend(Hit(t.spec, t.text, start, end, t.level) for t in terms)
        if hits and self._has_allow:
            allowed = [(last + 1 - len(phrase), last + 1, names)
                       for last, (phrase, names) in self._allow.iter(folded)]
            hits = [h for h in hits if not any(h.spec.name in names and s <= h.start and h.end <= e
                                               for s, e, names in allowed)]
        return _merge_overlaps(folded, hits)


def _at_boundaries(text: str, start: int, end: int) -> bool:
    if is_latin(text[start]) and start > 0 and is_latin(text[start - 1]):
        return False
    return not (is_latin(text[end - 1]) and end < len(text) and is_latin(text[end]))


def _merge_overlaps(folded: str, hits: list[Hit]) -> list[Hit]:
    merged: list[Hit] = []
    open_by_spec: dict[str, int] = {}     # lexicon name -> index in merged of its last hit
    for hit in sorted(hits, key=lambda h: (h.start, -h.end)):
        index = open_by_spec.get(hit.spec.name)
        last = merged[index] if index is not None else None
        if last is not None and hit.start < last.end:
            end = max(last.end, hit.end)
            merged[index] = Hit(hit.spec, folded[last.start:end], last.start, end,
                                max(last.level, hit.level))
        else:
            open_by_spec[hit.spec.name] = len(merged)
            merged.append(hit)
    return merged


@dataclass(frozen=True)
class Lexicons:
    """One consistent build of every lexicon: what a check uses from start to end."""

    message: Matcher
    answer: Matcher
    pii_allow: frozenset[str]   # entries of pii.allow.txt as pii.pii_key


def lexicon_files(folder: Path) -> list[Path]:
    """The `.txt` files of a lexicon folder; a file of no known name is an error naming it."""
    known = set(known_files())
    files = sorted(p for p in folder.iterdir() if p.suffix == ".txt" and p.is_file())
    for path in files:
        if path.name not in known:
            raise InputError(str(path), "not a guard lexicon; the names are: " + ", ".join(sorted(known)))
    return files


def build_lexicons(folders: Iterable[Path], public_contacts: Iterable[str] = ()) -> Lexicons:
    """Lexicons from the files of `folders` merged (shipped first, then the operator's);
    `public_contacts` join the pii.allow.txt entries."""
    terms: dict[str, list[_Term]] = {MESSAGE: [], ANSWER: []}
    allow: dict[str, list[tuple[str, str]]] = {MESSAGE: [], ANSWER: []}
    pii_allow = {k for k in map(pii_key, public_contacts) if k}
    for folder in folders:
        for path in lexicon_files(folder):
            if path.name == PII_ALLOW:
                pii_allow.update(k for k in map(pii_key, read_phrases(path)) if k)
                continue
            name, _, rest = path.name.partition(".")
            spec = SPECS[name]
            if rest == "allow.txt":
                allow[spec.side].extend((name, f) for f in map(fold, read_phrases(path)) if f)
                continue
            for raw, level in read_terms(path, spec):
                folded = fold(raw)
                if folded:
                    terms[spec.side].append(_Term(spec, folded, level))
    return Lexicons(message=Matcher(terms[MESSAGE], allow[MESSAGE]),
                    answer=Matcher(terms[ANSWER], allow[ANSWER]),
                    pii_allow=frozenset(pii_allow))
