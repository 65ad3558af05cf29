"""Views of a text for matching, each with a map back to offsets in the original.

`normal` is the shared normalisation (`cs_rag.text.normalize`: NFKC, Traditional to
Simplified, lower-case) computed so that every character knows which original characters it
came from. `folded` is `normal` without spacing and filler symbols inserted to dodge a filter
(退 款, 投*诉, 投-诉, 转 人 工 all fold to the plain word); a gap between two Latin letters or
digits becomes one space, so English words stay apart. Sentence punctuation, brackets and
quotes are kept: they end a phrase.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from ..text import normalize

# Unicode categories a dodger inserts between characters: connector and dash punctuation,
# other punctuation (*, ., /, #, @), symbols (+, ~, ^, emoji), formats and marks (zero-width
# joiners, combining strokes), separators and controls (spaces, tabs, newlines).
_FILLER_CATEGORIES = frozenset({"Pc", "Pd", "Po", "Sm", "Sk", "So", "Cf", "Mn", "Me",
                                "Zs", "Zl", "Zp", "Cc"})
# Punctuation that ends a phrase (so never filler), and % which is part of a term like 100%.
_KEPT = frozenset("。，、；：？！,;:?!%")
_CACHE_LIMIT = 1 << 16
_PIECES: dict[str, str] = {}
_FILLER: dict[str, bool] = {}


@dataclass(frozen=True)
class View:
    """A transformed text and, per character, the original offsets it came from."""

    text: str
    starts: tuple[int, ...]   # original start offset of each character of `text`
    ends: tuple[int, ...]     # original end offset (exclusive) of each character of `text`

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Original offsets covering `text[start:end]` (end > start)."""
        return self.starts[start], self.ends[end - 1]


def is_latin(char: str) -> bool:
    """A letter or digit of an alphabetic script (not CJK): words of these need boundaries."""
    return char.isalnum() and ord(char) < 0x2E80


def normal_view(text: str) -> View:
    """`normalize(text)` with offsets; equal in content to `normalize` for ordinary text."""
    chars: list[str] = []
    origins: list[int] = []
    for index, char in enumerate(text):
        piece = _PIECES.get(char)
        if piece is None:
            piece = unicodedata.normalize("NFKC", char).lower()
            if len(_PIECES) < _CACHE_LIMIT:
                _PIECES[char] = piece
        chars.extend(piece)
        origins.extend([index] * len(piece))
    joined = "".join(chars)
    converted = normalize(joined)
    if len(converted) != len(joined):
        # a phrase conversion changed the length: convert per character to keep the map
        pieces = [normalize(c) for c in chars]
        converted = "".join(pieces)
        origins = [o for o, p in zip(origins, pieces) for _ in p]
    starts = tuple(origins)
    return View(converted, starts, tuple(o + 1 for o in origins))


def _is_filler(char: str) -> bool:
    filler = _FILLER.get(char)
    if filler is None:
        filler = char not in _KEPT and (char.isspace() or
                                         unicodedata.category(char) in _FILLER_CATEGORIES)
        if len(_FILLER) < _CACHE_LIMIT:
            _FILLER[char] = filler
    return filler


def fold_view(normal: View) -> View:
    """`normal` without filler; a filler run between two Latin characters becomes one space."""
    text = normal.text
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    gap_at = -1          # index in `text` of the first filler char of the current run
    for index, char in enumerate(text):
        if _is_filler(char):
            if gap_at < 0:
                gap_at = index
            continue
        if gap_at >= 0:
            if out and is_latin(out[-1]) and is_latin(char):
                out.append(" ")
                starts.append(normal.starts[gap_at])
                ends.append(normal.ends[index - 1])
            gap_at = -1
        out.append(char)
        starts.append(normal.starts[index])
        ends.append(normal.ends[index])
    return View("".join(out), tuple(starts), tuple(ends))


def fold(text: str) -> str:
    """The folded form of `text` alone, as lexicon terms are stored."""
    return fold_view(normal_view(text)).text
