"""Near misses: questions on the shop's topics, in its words, that its knowledge does not answer
(a sale it does not run, another platform's process, a feature it does not have).

Three parts: `uncovered_share`, a confidence feature (how much of a question's weight lies in
words the chosen entry does not contain); `swap_salient_term`, which makes the probes
calibration fits that feature on: a carved FAQ question whose most telling word is swapped for
a plausible one the knowledge never uses (`data/near_miss_terms.txt`); and `names_in`, which
finds in a question the names of other platforms, shopping events and services from that list
(`near_miss_names`): one the knowledge never mentions means the question is about something
else than what the knowledge says, however close its words (京东的价保, 双12的满减).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache

from cs_rag.reading import shipped_lines, shipped_text
from cs_rag.text import Tokenizer, normalize


def uncovered_share(query_tokens: Sequence[str], hit_tokens: frozenset[str],
                    weights: dict[str, float]) -> float:
    """The IDF-weighted share of the query's distinct tokens that the hit does not contain. A
    token the knowledge never uses weighs as much as the query's rarest known one (1 when none
    is known): a word the knowledge lacks says most about a question it cannot answer."""
    unknown = max(weights.values(), default=1.0)
    total = missing = 0.0
    for token in set(query_tokens):
        weight = weights.get(token, unknown)
        total += weight
        if token not in hit_tokens:
            missing += weight
    return missing / total if total else 0.0


PROBE_ONLY = "[probe only]"   # marks a section of near_miss_terms.txt that names no platform, event or service


@lru_cache(maxsize=1)
def near_miss_terms() -> tuple[str, ...]:
    """The shipped terms probes swap in (one a line, `#` comments)."""
    return tuple(shipped_lines("near_miss_terms.txt"))


@lru_cache(maxsize=1)
def near_miss_names() -> tuple[str, ...]:
    """The shipped terms outside `[probe only]` sections (a `#` line starts a section): other
    platforms, shopping events and services, which a knowledge base that never mentions them
    cannot answer questions about."""
    names, probe_only = [], False
    for line in shipped_text("near_miss_terms.txt").splitlines():
        line = line.strip()
        if line.startswith("#"):
            probe_only = PROBE_ONLY in line
        elif line and not probe_only:
            names.append(line)
    return tuple(names)


def names_in(question: str, names: Iterable[str]) -> list[str]:
    """The `names` the question contains (case-folded; a name that starts or ends with a Latin
    letter or digit must sit at a word boundary there: 618 is not in 6180)."""
    text = normalize(question).lower()
    found = []
    for name in names:
        folded = _folded(name)
        start = text.find(folded)
        while start >= 0:
            end = start + len(folded)
            if not (_word_char(folded[0]) and start > 0 and _word_char(text[start - 1])) and \
                    not (_word_char(folded[-1]) and end < len(text) and _word_char(text[end])):
                found.append(name)
                break
            start = text.find(folded, start + 1)
    return found


@lru_cache(maxsize=4096)
def _folded(name: str) -> str:
    return normalize(name).lower()


def _word_char(char: str) -> bool:
    return char.isascii() and char.isalnum()


def terms_unknown_to(weights_of: Callable[[Sequence[str]], dict[str, float]], tokenizer: Tokenizer,
                     terms: Iterable[str]) -> list[str]:
    """The terms with at least one token the knowledge never uses (`weights_of` is an index's
    term_weights): swapped into a question, they make it ask about something the knowledge lacks."""
    out = []
    for term in terms:
        tokens = tokenizer.tokenize(term)
        if tokens and len(weights_of(tokens)) < len(set(tokens)):
            out.append(term)
    return out


def swap_salient_term(text: str, tokenizer: Tokenizer, weights: dict[str, float],
                      replacements: Sequence[str], rng: random.Random) -> str | None:
    """`text` (normalised) with its rarest known word of two or more characters replaced by one
    of `replacements`; None when it has no such word or there is nothing to swap in."""
    plain = normalize(text)
    salient = sorted((t for t in set(tokenizer.tokenize(text)) if len(t) >= 2 and t in plain and t in weights),
                     key=lambda t: (-weights[t], t))
    if not salient or not replacements:
        return None
    return plain.replace(salient[0], rng.choice(list(replacements)), 1)
