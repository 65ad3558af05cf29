"""Scores: 100 less fixed points per finding of a dimension's codes, the overall a weighted mean."""

from __future__ import annotations

from cs_rag.qa import Finding
from cs_rag.qa.scores import DEDUCTIONS, WEIGHTS, score


def _findings(*codes: str) -> list[Finding]:
    return [Finding(code=code, turn=0, evidence="-") for code in codes]


def test_no_finding_is_full_marks():
    assert score([]).model_dump() == {"attitude": 100, "competence": 100, "communication": 100,
                                      "efficiency": 100, "overall": 100}


def test_each_code_lowers_its_dimension_and_the_overall():
    scores = score(_findings("impolite", "slow_reply", "slow_reply", "unresolved"))
    assert (scores.attitude, scores.efficiency, scores.competence, scores.communication) == (70, 70, 60, 100)
    assert scores.overall == round(0.3 * 70 + 0.3 * 60 + 0.2 * 100 + 0.2 * 70)


def test_a_dimension_stops_at_zero():
    assert score(_findings(*["impolite"] * 5)).attitude == 0


def test_every_code_belongs_to_exactly_one_dimension_and_weights_sum_to_one():
    from cs_rag.qa import FindingCode

    owners = [code for points in DEDUCTIONS.values() for code in points]
    assert sorted(owners) == sorted(FindingCode) and abs(sum(WEIGHTS.values()) - 1) < 1e-9
