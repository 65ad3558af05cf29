"""Views of a text for matching, each with a map back to offsets in the original.

`normal` is the shared normalisation (`cs_rag.text.normalize`: NFKC, Traditional to
Simplified, lower-case) computed so that every character knows which original characters it
came from. `folded` is `normal` without spacing and filler symbols inserted to dodge a filter
(退 款, 投*诉, 投-诉, 转 人 工 all fold to the plain word); a gap between two Latin letters or
digits becomes one space, so English words stay apart. Sentence punctuation, brackets and
quotes are kept: they end a phrase.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from cs_rag.text import normalize

# Unicode categories a dodger inserts between characters: connector and dash punctuation,
# other punctuation (*, ., /, #, @), symbols (+, ~, ^, emoji), formats and marks (zero-width
# joiners, combining strokes), separators and controls (spaces, tabs, newlines).
_FILLER_CATEGORIES = frozenset({"Pc", "Pd", "Po", "Sm", "Sk", "So", "Cf", "Mn", "Me",
                                "Zs", "Zl", "Zp", "Cc"})
# Punctuation that ends a phrase (so never filler), and % which is part of a term like 100%.
_KEPT = frozenset("。，、；：？！,;:?!%")
_CANDIDATE = re.compile(r"[\W_]+")     # letters and digits are never filler
# per character met so far: its NFKC lower-case form when that is one character (a
# str.translate table), or membership in _EXPANDING when it is not; bounded by Unicode itself
_TABLE: dict[int, str] = {}
_EXPANDING: set[str] = set()
_SEEN: set[str] = set()
_FILLER: dict[str, bool] = {}


@dataclass(frozen=True)
class View:
    """A transformed text and, per character, the original offsets it came from."""

    text: str
    starts: Sequence[int]     # original start offset of each character of `text`
    ends: Sequence[int]       # original end offset (exclusive) of each character of `text`

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Original offsets covering `text[start:end]` (end > start)."""
        return self.starts[start], self.ends[end - 1]


def is_latin(char: str) -> bool:
    """A letter or digit of an alphabetic script (not CJK): words of these need boundaries."""
    return char.isalnum() and ord(char) < 0x2E80


def normal_view(text: str) -> View:
    """`normalize(text)` with offsets; equal in content to `normalize` for ordinary text."""
    chars = set(text)
    for char in chars - _SEEN:
        piece = unicodedata.normalize("NFKC", char).lower()
        if len(piece) == 1:
            _TABLE[ord(char)] = piece
        else:
            _EXPANDING.add(char)
        _SEEN.add(char)
    if chars.isdisjoint(_EXPANDING):
        # the common case: one character in, one out, offsets are the identity
        joined = text.translate(_TABLE)
        origins: Sequence[int] = range(len(text))
    else:
        pieces = [unicodedata.normalize("NFKC", c).lower() for c in text]
        joined = "".join(pieces)
        origins = [i for i, p in enumerate(pieces) for _ in p]
    converted = normalize(joined)
    if len(converted) != len(joined):
        # a phrase conversion changed the length: convert per character to keep the map
        pieces = [normalize(c) for c in joined]
        converted = "".join(pieces)
        origins = [o for o, p in zip(origins, pieces) for _ in p]
    if isinstance(origins, range):
        return View(converted, origins, range(1, len(origins) + 1))
    return View(converted, tuple(origins), tuple(o + 1 for o in origins))


def _is_filler(char: str) -> bool:
    filler = _FILLER.get(char)
    if filler is None:
        filler = char not in _KEPT and (char.isspace() or
                                         unicodedata.category(char) in _FILLER_CATEGORIES)
        _FILLER[char] = filler
    return filler


def fold_view(normal: View) -> View:
    """`normal` without filler; a filler run between two Latin characters becomes one space."""
    text = normal.text
    fillers = [i for m in _CANDIDATE.finditer(text) for i in range(m.start(), m.end())
               if _is_filler(text[i])]
    if not fillers:
        return normal
    parts: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    cursor = 0
    gaps: list[tuple[int, int]] = []
    for index in fillers:
        if gaps and gaps[-1][1] == index:
            gaps[-1] = (gaps[-1][0], index + 1)
        else:
            gaps.append((index, index + 1))
    for gap_start, gap_end in gaps:
        parts.append(text[cursor:gap_start])
        starts.extend(normal.starts[cursor:gap_start])
        ends.extend(normal.ends[cursor:gap_start])
        if 0 < gap_start and gap_end < len(text) and is_latin(text[gap_start - 1]) \
                and is_latin(text[gap_end]):
            parts.append(" ")
            starts.append(normal.starts[gap_start])
            ends.append(normal.ends[gap_end - 1])
        cursor = gap_end
    parts.append(text[cursor:])
    starts.extend(normal.starts[cursor:])
    ends.extend(normal.ends[cursor:])
    return View("".join(parts), tuple(starts), tuple(ends))


def fold(text: str) -> str:
    """The folded form of `text` alone, as lexicon terms are stored."""
    return fold_view(normal_view(text)).text
