"""The one place text becomes tokens: shared by BM25, the guard and evaluation.

Pipeline: NFKC (full-width to half-width) -> Traditional to Simplified (OpenCC t2s) ->
lower-case -> jieba with the knowledge base's user dictionary -> letters and digits split
(iphone15 -> iphone, 15) -> punctuation, spaces and stopwords dropped -> colloquial terms
replaced by their canonical term (synonyms, e.g. 退钱 -> 退款), so a query and a text that
word the same thing differently share tokens. Numbers are kept. Deterministic for given
dictionaries; `Tokenizer.fingerprint` identifies them so an index knows what built it.
"""

from __future__ import annotations

import hashlib
import re
import threading
import unicodedata
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path

import jieba
import opencc

from cs_rag.errors import InputError
from cs_rag.reading import content_lines, shipped_lines

TOKENIZER_VERSION = "1"

_T2S = opencc.OpenCC("t2s")
_WORD = re.compile(r"[a-z]+|\d+(?:\.\d+)?|[^\W\d_a-z]", re.UNICODE)
_MIXED = re.compile(r"[a-z]+|\d+(?:\.\d+)?")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_RUN = re.compile(r"[A-Za-z0-9]+")
_HAS_WORD_CHAR = re.compile(r"\w", re.UNICODE)
_PUNCT = re.compile(r"[\W_]+", re.UNICODE)

jieba.setLogLevel(60)  # jieba logs its dictionary build at INFO on every new Tokenizer
_JIEBA_LOCK = threading.Lock()


def normalize(text: str) -> str:
    """NFKC, Traditional to Simplified, lower-case. Idempotent."""
    return _T2S.convert(unicodedata.normalize("NFKC", text)).lower()


def plain(text: str) -> str:
    """`normalize`d, without punctuation, spaces or underscores: how two wordings are compared
    as the same ("退货要付运费吗？" and "退货要付运费吗")."""
    return _PUNCT.sub("", normalize(text))


def has_cjk(text: str) -> bool:
    """Whether the text has any Chinese character."""
    return _CJK.search(text) is not None



LANGUAGES = ("zh", "en")   # the languages prompts, phrases and guard scripts are written in


def detect_language(text: str) -> str:
    """"zh" when the text has any CJK character, else "en"."""
    return "zh" if has_cjk(text) else "en"

def budget_length(text: str) -> int:
    """Length for chunk budgets: one unit per CJK character and per Latin/digit run.

    Close to what a multilingual subword model counts for Chinese, cheap, and stable.
    """
    return len(_CJK.findall(text)) + len(_LATIN_RUN.findall(text))


def read_user_dict(path: Path) -> list[tuple[str, int | None, str | None]]:
    """Parse a jieba user dictionary: `word [freq] [pos]` per line, `#` comments."""
    entries: list[tuple[str, int | None, str | None]] = []
    for number, line in content_lines(path, "user dictionary"):
        parts = line.split()
        freq: int | None = None
        pos: str | None = None
        if len(parts) >= 2:
            if not parts[1].isdigit():
                raise InputError(str(path), f"frequency must be a whole number, got {parts[1]!r}",
                                 line=number)
            freq = int(parts[1])
        if len(parts) >= 3:
            pos = parts[2]
        entries.append((parts[0], freq, pos))
    return entries


def read_synonyms(path: Path) -> dict[str, str]:
    """`canonical variant variant ...` per line (`#` comments) -> {variant: canonical},
    normalised. A variant listed under two canonical terms is an error naming the line."""
    mapping: dict[str, str] = {}
    for number, line in content_lines(path, "synonyms"):
        words = [normalize(w) for w in line.split()]
        if not words:
            continue
        canonical = words[0]
        for variant in words[1:]:
            if mapping.get(variant, canonical) != canonical:
                raise InputError(str(path), f"{variant!r} is already a synonym of "
                                 f"{mapping[variant]!r}", line=number)
            mapping[variant] = canonical
    return mapping


def _read_word_list(path: Path) -> list[str]:
    return [normalize(line) for _, line in content_lines(path, "word list")]


def _default_stopwords() -> list[str]:
    return [normalize(line) for line in shipped_lines("stopwords.txt")]


class Tokenizer:
    """Turns text into BM25/guard/eval tokens. Build with `Tokenizer.create` to share instances."""

    def __init__(self, user_words: Iterable[tuple[str, int | None, str | None]] = (),
                 stopwords: Iterable[str] | None = None,
                 synonyms: dict[str, str] | None = None) -> None:
        self._synonyms = {normalize(k): normalize(v) for k, v in (synonyms or {}).items()}
        # synonym phrases must come out of jieba whole to be replaced
        phrases = [(w, None, None) for pair in self._synonyms.items() for w in pair]
        self._user_words = sorted({(normalize(w), f, p) for w, f, p in [*user_words, *phrases]},
                                  key=lambda e: (e[0], e[1] or 0, e[2] or ""))
        self._stopwords = frozenset(_default_stopwords() if stopwords is None else
                                    (normalize(s) for s in stopwords))
        self._jieba = jieba.Tokenizer()
        with _JIEBA_LOCK:  # jieba's lazy dictionary load is not thread-safe
            self._jieba.initialize()
            for word, freq, pos in self._user_words:
                self._jieba.add_word(word, freq, pos)
        digest = hashlib.sha256()
        digest.update(TOKENIZER_VERSION.encode())
        for word, freq, pos in self._user_words:
            digest.update(f"u\t{word}\t{freq}\t{pos}\n".encode())
        for word in sorted(self._stopwords):
            digest.update(f"s\t{word}\n".encode())
        for variant, canonical in sorted(self._synonyms.items()):
            digest.update(f"y\t{variant}\t{canonical}\n".encode())
        self.fingerprint = digest.hexdigest()[:16]

    def word_frequency(self, word: str) -> int:
        """How often jieba's dictionary (with the user words) counts `word`; 0 for a non-word."""
        return int(self._jieba.FREQ.get(word) or 0)

    @staticmethod
    def create(user_dict: Path | None = None, stopwords: Path | None = None,
               synonyms: Path | None = None) -> "Tokenizer":
        """Shared tokenizer for these dictionary files (cached: jieba set-up costs ~1 s)."""
        return _cached_tokenizer(_file_key(user_dict), _file_key(stopwords), _file_key(synonyms))

    @property
    def user_words(self) -> list[str]:
        return [w for w, _, _ in self._user_words]

    def tokenize(self, text: str) -> list[str]:
        """Normalised tokens without punctuation, spaces or stopwords; numbers kept."""
        return [t for t in self._tokens_and_gaps(text) if t is not None]

    def token_runs(self, text: str) -> list[list[str]]:
        """`tokenize`'s tokens in runs that break wherever punctuation or a stopword was
        dropped, so a phrase built inside a run was really said ("不更新" never becomes
        "更新" next to "一直")."""
        runs: list[list[str]] = [[]]
        for token in self._tokens_and_gaps(text):
            if token is None:
                if runs[-1]:
                    runs.append([])
            else:
                runs[-1].append(token)
        return [run for run in runs if run]

    def _tokens_and_gaps(self, text: str) -> Iterator[str | None]:
        """Each kept token, and None where something was dropped."""
        for piece in self._jieba.lcut(normalize(text), HMM=True):
            if not _HAS_WORD_CHAR.search(piece):
                if piece.strip():  # punctuation breaks a phrase; a space between words does not
                    yield None
                continue
            parts = _MIXED.findall(piece) if _is_ascii_alnum(piece) else [piece.strip()]
            for part in parts:
                if part and part not in self._stopwords:
                    yield self._synonyms.get(part, part)
                else:
                    yield None


def _is_ascii_alnum(piece: str) -> bool:
    return piece.isascii() and piece.isalnum()


def _file_key(path: Path | None) -> tuple[str, int] | None:
    """Cache key of a dictionary file: its path and modification time (edits reload it)."""
    return (str(path.resolve()), path.stat().st_mtime_ns) if path else None


@lru_cache(maxsize=8)
def _cached_tokenizer(user_key: tuple[str, int] | None, stop_key: tuple[str, int] | None,
                      synonym_key: tuple[str, int] | None) -> Tokenizer:
    user_words = read_user_dict(Path(user_key[0])) if user_key else ()
    stopwords = _read_word_list(Path(stop_key[0])) if stop_key else None
    synonyms = read_synonyms(Path(synonym_key[0])) if synonym_key else None
    return Tokenizer(user_words, stopwords, synonyms)
