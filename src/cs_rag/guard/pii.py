"""Personal data in a text: find it and mask it.

Recognised, in this order (a later kind never claims characters an earlier one took):
email; mainland mobile number (1[3-9] + 9 digits, optional +86/0086, spaces or dashes between
groups); 18-digit ID card number with a valid birth date and GB 11643 check digit; bank card
number (13-19 digits starting 3-6 and passing Luhn, unless an order/tracking label stands just
before it); 15-digit ID card number of the old form with a valid birth date; street address
(a road/street/estate name followed by a house, building or room number).

Masks: 138****5678, 110105********123X (first 6, last 4), ************1234 (last 4),
a***@example.com, and an address with every digit replaced by *.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from cs_rag.guard.fold import View, normal_view
from cs_rag.text import normalize

_EMAIL = re.compile(r"[a-z0-9][a-z0-9._%+\-]*@[a-z0-9\-]+(?:\.[a-z0-9\-]+)*\.[a-z]{2,}")
_PHONE = re.compile(r"(?<![0-9])(?:(?:\+|00)?86[ \-]?)?(1[3-9][0-9])[ \-]?([0-9]{4})[ \-]?([0-9]{4})(?![0-9])")
_ID18 = re.compile(r"(?<![0-9a-z])[1-9][0-9]{16}[0-9x](?![0-9a-z])")
_ID15 = re.compile(r"(?<![0-9a-z])[1-9][0-9]{14}(?![0-9a-z])")
_CARD = re.compile(r"(?<![0-9])[3-6](?:[ \-]?[0-9]){12,18}(?![0-9])")
_ORDER_LABEL = re.compile(r"(?:订单|单号|运单|编号|流水|order|tracking|ref|no\.?|#)\s*[:：]?\s*(?:号|号码|是|为)?\s*$")
# a name character: CJK, but not a word that typically precedes an address in a sentence
_NAME = r"(?:(?![的是到在寄送往给我你他她住址])[\u4e00-\u9fff])"
_UNITS = r"(?:\s*[0-9]+\s*(?:号楼|栋|幢|座|单元|层|楼|室|号))*"
_ADDRESS = re.compile(
    rf"{_NAME}{{1,12}}?(?:路|街|大道|巷|弄|胡同)\s*[0-9]+\s*(?:号|弄){_UNITS}"
    rf"|{_NAME}{{2,12}}?(?:小区|花园|公寓|大厦|家园|苑|新村|公馆|宿舍)\s*[0-9]+\s*(?:号楼|栋|幢|座|号){_UNITS}"
    rf"|[0-9]+\s*(?:号楼|栋|幢|座)\s*[0-9]+\s*(?:单元|层|室|号){_UNITS}")
# cheap tests that rule a kind out before its full pattern runs
_LONG_NUMBER = re.compile(r"[0-9](?:[ \-]?[0-9]){9}")
_ADDRESS_HINT = re.compile(r"[0-9]\s*(?:号|栋|幢|座|弄|单元|层|楼|室)")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_DIGIT = re.compile(r"\d")
_NOT_KEY = re.compile(r"[^0-9a-z@.\u4e00-\u9fff]")


@dataclass(frozen=True)
class PiiMatch:
    """One piece of personal data: its kind, original offsets, masked form and compare key."""

    kind: str          # email, phone, id_card, bank_card, address
    start: int
    end: int
    masked: str
    key: str           # what pii.allow.txt entries are compared with (see pii_key)


LABELS = {"email": "email address", "phone": "mobile phone number", "id_card": "ID card number",
          "bank_card": "bank card number", "address": "street address"}


def pii_key(text: str) -> str:
    """Normalised text with only digits, letters, @, . and CJK kept: 138-1234-5678 -> 13812345678."""
    return _NOT_KEY.sub("", normalize(text))


def id_checksum_ok(number: str) -> bool:
    """True for an 18-character ID card number whose last character is its GB 11643 check digit."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS))
    return _ID_CHECK[total % 11] == number[17].upper()


def luhn_ok(digits: str) -> bool:
    """True when a digit string passes the Luhn check (bank card numbers do)."""
    if not digits.isdigit():
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _valid_date(year: int, month: int, day: int) -> bool:
    try:
        return dt.date(year, month, day) <= dt.date.today()
    except ValueError:
        return False


def _id18(number: str) -> bool:
    return (id_checksum_ok(number)
            and _valid_date(int(number[6:10]), int(number[10:12]), int(number[12:14])))


def _id15(number: str) -> bool:
    return _valid_date(1900 + int(number[6:8]), int(number[8:10]), int(number[10:12]))


class _Claims:
    """What has been found so far; `scan` is the normalised text with those characters blanked,
    so a later kind never matches inside an earlier one."""

    def __init__(self, text: str, normal: View, allow: frozenset[str]) -> None:
        self.text = text
        self.normal = normal
        self.scan = normal.text
        self.allow = allow
        self.found: list[PiiMatch] = []

    def original(self, m: re.Match[str]) -> str:
        return self.text[slice(*self.normal.original_span(*m.span()))]

    def take(self, kind: str, m: re.Match[str], masked: str, key: str) -> None:
        start, end = m.span()
        self.scan = self.scan[:start] + "\x00" * (end - start) + self.scan[end:]
        if key not in self.allow:
            self.found.append(PiiMatch(kind, *self.normal.original_span(start, end), masked, key))


def find_pii(text: str, normal: View | None = None,
             allow: frozenset[str] = frozenset()) -> list[PiiMatch]:
    """Personal data in `text` by original offsets, in text order; entries whose key is in
    `allow` (pii.allow.txt, see pii_key) are not reported. `normal` is `normal_view(text)`
    when the caller has it already."""
    claims = _Claims(text, normal or normal_view(text), allow)
    if "@" in claims.scan:
        for m in _EMAIL.finditer(claims.scan):
            local, _, domain = claims.original(m).partition("@")
            claims.take("email", m, f"{local[:1]}***@{domain}", pii_key(m.group()))
    if _LONG_NUMBER.search(claims.scan):
        for m in _PHONE.finditer(claims.scan):
            digits = "".join(m.groups())
            claims.take("phone", m, f"{digits[:3]}****{digits[-4:]}", digits)
        for m in _ID18.finditer(claims.scan):
            number = m.group().upper()
            if _id18(number):
                claims.take("id_card", m, f"{number[:6]}{'*' * 8}{number[-4:]}", pii_key(number))
        for m in _CARD.finditer(claims.scan):
            digits = re.sub(r"[^0-9]", "", m.group())
            label = _ORDER_LABEL.search(claims.scan[max(0, m.start() - 12):m.start()])
            if luhn_ok(digits) and not label:
                claims.take("bank_card", m, "*" * (len(digits) - 4) + digits[-4:], digits)
        for m in _ID15.finditer(claims.scan):
            if _id15(m.group()):
                claims.take("id_card", m, f"{m.group()[:6]}{'*' * 5}{m.group()[-4:]}", m.group())
    if _ADDRESS_HINT.search(claims.scan):
        for m in _ADDRESS.finditer(claims.scan):
            original = claims.original(m)
            claims.take("address", m, _DIGIT.sub("*", original), pii_key(original))
    return sorted(claims.found, key=lambda p: p.start)


def mask(text: str, matches: list[PiiMatch]) -> str:
    """`text` with every match replaced by its mask (matches from `find_pii(text)`)."""
    parts: list[str] = []
    cursor = 0
    for match in matches:
        parts.append(text[cursor:match.start])
        parts.append(match.masked)
        cursor = match.end
    parts.append(text[cursor:])
    return "".join(parts)
