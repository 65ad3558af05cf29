"""Scores from findings: each dimension starts at 100 and loses a fixed number of points per
finding of its codes, down to 0; `overall` is the weighted mean of the four, rounded.

| dimension | codes (points per finding) | weight in overall |
|---|---|---|
| attitude | impolite 30, banned_phrase 20, no_empathy 25 | 0.3 |
| competence | wrong_info 35, unresolved 40 | 0.3 |
| communication | no_greeting 25, no_closing 25 | 0.2 |
| efficiency | slow_first_response 30, slow_reply 15, long_handling 25 | 0.2 |
"""

from __future__ import annotations

from collections.abc import Iterable

from cs_rag.qa.findings import Finding, FindingCode, Scores

DEDUCTIONS: dict[str, dict[FindingCode, int]] = {
    "attitude": {FindingCode.IMPOLITE: 30, FindingCode.BANNED_PHRASE: 20, FindingCode.NO_EMPATHY: 25},
    "competence": {FindingCode.WRONG_INFO: 35, FindingCode.UNRESOLVED: 40},
    "communication": {FindingCode.NO_GREETING: 25, FindingCode.NO_CLOSING: 25},
    "efficiency": {FindingCode.SLOW_FIRST_RESPONSE: 30, FindingCode.SLOW_REPLY: 15,
                   FindingCode.LONG_HANDLING: 25},
}
WEIGHTS = {"attitude": 0.3, "competence": 0.3, "communication": 0.2, "efficiency": 0.2}


def score(findings: Iterable[Finding]) -> Scores:
    """The scores of one conversation with these findings."""
    codes = [finding.code for finding in findings]
    values = {dimension: max(0, 100 - sum(points.get(code, 0) for code in codes))
              for dimension, points in DEDUCTIONS.items()}
    overall = round(sum(WEIGHTS[d] * v for d, v in values.items()))
    return Scores(**values, overall=overall)
