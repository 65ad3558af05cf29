"""Checkable numeric claims in a text: amounts, dates, clock times, durations, percentages,
multiples (3倍) and counts (6次; a single 一次 is "once" and claims nothing).

Works on normalised text (`cs_rag.text.normalize`). Numbers may be Arabic (7, 1,000, 1.5万)
or Chinese (七, 十五, 两百, 一万), so 7天, 七天 and 7 天 make the same claim. A range
(1-3个工作日, 3到5天) claims both ends. Each claim has a comparable `key`; dates compare on
the parts the text states (11月11日 matches 2025年11月11日).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
              "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_EN_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
               "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12}

_AR = r"[0-9]+(?:,[0-9]{3})*(?:\.[0-9]+)?(?:\s*[万千])?"
_CN = r"(?<!第)[零〇一二两三四五六七八九十百千万]+|半"
_EN = r"\b(?:" + "|".join(_EN_NUMBERS) + r")\b"
_NUM = rf"(?:{_AR}|{_CN}|{_EN})"
_RANGE = rf"(?P<a>{_NUM})(?:\s*(?:-|~|至|到|—|–|to)\s*(?P<b>{_NUM}))?"
_MD = r"[0-9]{1,2}|[一二三四五六七八九十]{1,3}"

_DURATION_UNITS = {
    "工作日": "workday", "个工作日": "workday", "business day": "workday",
    "working day": "workday", "自然日": "day", "天": "day", "日": "day", "day": "day",
    "小时": "hour", "个小时": "hour", "钟头": "hour", "个钟头": "hour", "hour": "hour",
    "hr": "hour", "h": "hour", "分钟": "minute", "minute": "minute", "min": "minute",
    "秒": "second", "秒钟": "second", "second": "second", "周": "week", "个星期": "week",
    "星期": "week", "个礼拜": "week", "礼拜": "week", "week": "week", "个月": "month",
    "month": "month", "年": "year", "year": "year",
}
_DURATION_UNIT = "|".join(sorted((re.escape(u) for u in _DURATION_UNITS), key=len, reverse=True))

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("date", re.compile(rf"(?<![0-9])(?P<y>[0-9]{{4}})\s*年\s*(?:(?P<m>{_MD})\s*月\s*(?:(?P<d>{_MD})\s*[日号])?)?")),
    ("date", re.compile(r"(?<![0-9])(?P<y>[0-9]{4})[-/.](?P<m>[0-9]{1,2})[-/.](?P<d>[0-9]{1,2})(?![0-9])")),
    ("date", re.compile(rf"(?<![0-9个])(?P<m>{_MD})\s*月\s*(?:(?P<d>{_MD})\s*[日号])?")),
    ("time", re.compile(r"(?<![0-9])(?P<h>[0-9]{1,2})\s*[:：]\s*(?P<mi>[0-9]{2})(?![0-9])")),
    ("time", re.compile(r"(?<![0-9.])(?P<h>[0-9]{1,2})\s*点(?:\s*(?P<half>半)|\s*(?P<mi>[0-9]{1,2})\s*分)?")),
    ("percent", re.compile(rf"百分之\s*(?P<a>{_NUM})")),
    ("percent", re.compile(rf"{_RANGE}\s*%")),
    ("discount", re.compile(rf"(?P<a>{_AR}|{_CN})\s*折")),
    ("amount", re.compile(rf"(?P<cur>[¥$]|us\$|rmb|usd|cny)\s*{_RANGE}")),
    ("amount", re.compile(rf"{_RANGE}\s*(?P<cur>美元|美金|元|块钱|块(?![\u4e00-\u9fff])|块(?=的|左右|多)|人民币|rmb|usd|cny|dollars?|yuan)(?![a-z])")),
    ("duration", re.compile(rf"{_RANGE}\s*(?P<unit>{_DURATION_UNIT})(?:s)?(?![a-z])")),
    ("multiple", re.compile(rf"(?<![第0-9.]){_RANGE}\s*倍")),
    ("count", re.compile(rf"(?<![第0-9.]){_RANGE}\s*次(?!数)")),
)
_USD = frozenset({"$", "us$", "usd", "美元", "美金", "dollar", "dollars"})


@dataclass(frozen=True)
class Claim:
    """A number the text states, `text[start:end]` of the scanned (normalised) text."""

    kind: str                 # amount, date, time, duration, percent, discount, multiple, count
    key: tuple                # comparable value, e.g. ("duration", 7.0, "day")
    start: int
    end: int

    def grounded_by(self, other: Claim) -> bool:
        """True when `other` states the same thing (for dates: agrees on every part stated here)."""
        if self.kind != "date":
            return self.key == other.key
        return other.kind == "date" and all(mine is None or mine == theirs
                                            for mine, theirs in zip(self.key[1:], other.key[1:]))


def parse_number(text: str) -> float | None:
    """7, 1,000, 1.5万, 七, 十五, 两百, 一万零五, 半, seven -> float; None if not a number."""
    text = text.strip().replace(" ", "")
    if text in _EN_NUMBERS:
        return float(_EN_NUMBERS[text])
    if text == "半":
        return 0.5
    multiplier = 1
    if text[-1:] in ("万", "千") and text[:-1].replace(",", "").replace(".", "", 1).isdigit():
        multiplier = 10000 if text[-1] == "万" else 1000
        text = text[:-1]
    plain = text.replace(",", "")
    if plain.replace(".", "", 1).isdigit():
        return float(plain) * multiplier
    return _parse_chinese(text)


def _parse_chinese(text: str) -> float | None:
    total = section = 0
    digit: int | None = None
    for char in text:
        if char in _CN_DIGITS:
            if digit not in (None, 0):
                return None            # two digits in a row (一二) is not a number
            digit = _CN_DIGITS[char]
        elif char in _CN_UNITS:
            section += (1 if digit is None else digit) * _CN_UNITS[char]
            digit = None
        elif char == "万":
            section += digit or 0
            if section == 0:
                return None
            total += section * 10000
            section, digit = 0, None
        else:
            return None
    return float(total + section + (digit or 0))


def _round(value: float) -> float:
    return round(value, 6)


def extract_claims(text: str) -> list[Claim]:
    """Numeric claims in normalised `text`, in text order; a span claimed once is not reused."""
    claims: list[Claim] = []
    taken = [False] * len(text)
    for kind, pattern in _PATTERNS:
        for m in pattern.finditer(text):
            if any(taken[m.start():m.end()]):
                continue
            keys = _keys(kind, m)
            if not keys:
                continue
            for i in range(m.start(), m.end()):
                taken[i] = True
            claims.extend(Claim(kind, key, m.start(), m.end()) for key in keys)
    return sorted(claims, key=lambda c: c.start)


def _keys(kind: str, m: re.Match[str]) -> list[tuple]:
    groups = m.groupdict()
    if kind == "date":
        parts = [parse_number(groups[g]) if groups.get(g) else None for g in ("y", "m", "d")]
        year, month, day = parts
        if (month is not None and not 1 <= month <= 12) or (day is not None and not 1 <= day <= 31):
            return []
        if year is None and month is None:
            return []
        return [("date", year, month, day)]
    if kind == "time":
        hour = int(groups["h"])
        minute = 30 if groups.get("half") else int(groups["mi"] or 0)
        return [("time", hour * 60 + minute)] if hour <= 24 and minute < 60 else []
    values = [parse_number(groups[g]) for g in ("a", "b") if groups.get(g)]
    if not values or any(v is None for v in values):
        return []
    if kind == "amount":
        currency = "usd" if groups["cur"] in _USD else "cny"
        return [("amount", _round(v), currency) for v in values]
    if kind == "duration":
        unit = groups["unit"]
        if unit in ("年",) and m.group("a").isdigit() and len(m.group("a")) >= 4:
            return []                   # 2025年 is a year, matched as a date
        return [("duration", _round(v), _DURATION_UNITS[unit]) for v in values]
    if kind == "count" and values == [1.0]:
        return []                       # 一次 / 1次 is mostly "once", not a stated limit
    return [(kind, _round(v)) for v in values]
