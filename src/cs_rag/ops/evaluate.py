"""Retrieval evaluation on a question set: recall, MRR, nDCG, refusals, decisions, latency."""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field, ValidationError, field_validator

from cs_rag.errors import InputError
from cs_rag.reading import parse_jsonl
from cs_rag.types import Decision, Retrieval

CUTOFFS = (1, 5, 10)


class EvalQuestion(BaseModel):
    """A labelled question: `gold_ids` (required) name FAQ entries, chunks or documents; empty
    means the knowledge cannot answer it."""

    id: str = Field(min_length=1)
    question: str
    gold_ids: list[str]
    category: str | None = None

    @field_validator("question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the question is empty")
        return value


class QuestionOutcome(BaseModel):
    """What retrieval did with one question."""

    id: str
    question: str
    category: str | None
    gold_ids: list[str]
    hit_ids: list[str]
    hit_docs: list[str]
    rank: int | None          # 1-based rank of the first relevant hit within the top 10
    decision: Decision
    option_docs: list[str] = []   # the documents a clarify reply offers (empty otherwise)
    confidence: float
    latency_ms: float

    @property
    def right(self) -> bool:
        """The first hit answers the question."""
        return self.rank == 1

    @property
    def clarified_right(self) -> bool:
        """A clarify reply that offers an entry answering the question."""
        return self.decision is Decision.CLARIFY and bool(set(self.option_docs) & set(self.gold_ids))


def load_questions(path: Path) -> list[EvalQuestion]:
    """Questions from a questions.jsonl; a bad line, a repeated id or a file without questions
    raises InputError naming it."""
    out: list[EvalQuestion] = []
    first_line: dict[str, int] = {}
    for line, record in parse_jsonl(path, str(path)):
        try:
            question = EvalQuestion.model_validate(record)
        except ValidationError as exc:
            raise InputError.from_validation(exc, str(path), line=line) from None
        if question.id in first_line:
            raise InputError(str(path), f"id {question.id!r} was already used on line "
                                        f"{first_line[question.id]}", line=line, field="id")
        first_line[question.id] = line
        out.append(question)
    if not out:
        raise InputError(str(path), "no questions")
    return out


def unknown_gold_ids(questions: Sequence[EvalQuestion], documents: set[str]) -> list[str]:
    """Gold ids naming neither a document of the index nor a chunk (`<document>#<n>`) of one:
    usually a typo, and every question citing one can only count as a miss."""
    unknown = []
    for q in questions:
        for gold in q.gold_ids:
            if gold not in documents and gold.rsplit("#", 1)[0] not in documents and gold not in unknown:
                unknown.append(gold)
    return unknown


def run_questions(retrieve: Callable[[str], Retrieval],
                  questions: Sequence[EvalQuestion]) -> list[QuestionOutcome]:
    """Retrieve every question (top 10) and record the outcome. The first question is also
    run once untimed beforehand, so model warm-up is not counted as latency."""
    if questions:
        retrieve(questions[0].question)
    outcomes = []
    for q in questions:
        started = time.perf_counter()
        result = retrieve(q.question)
        latency = (time.perf_counter() - started) * 1000
        gold = set(q.gold_ids)
        rank = next((i for i, h in enumerate(result.hits[:10], start=1)
                     if h.id in gold or h.doc_id in gold), None)
        outcomes.append(QuestionOutcome(id=q.id, question=q.question, category=q.category,
                                        gold_ids=q.gold_ids, hit_ids=[h.id for h in result.hits[:10]],
                                        hit_docs=[h.doc_id for h in result.hits[:10]],
                                        rank=rank, decision=result.decision,
                                        option_docs=[h.doc_id for h in result.options],
                                        confidence=result.confidence, latency_ms=latency))
    return outcomes


def summarise(outcomes: Sequence[QuestionOutcome]) -> dict:
    """Metrics over in-scope questions (R@k, MRR@10, nDCG@10), refusal precision/recall over
    all, how well confidence is calibrated over all, decision shares, latency percentiles and a per-category breakdown."""
    in_scope = [o for o in outcomes if o.gold_ids]
    out_scope = [o for o in outcomes if not o.gold_ids]
    summary: dict = {"questions": len(outcomes), "in_scope": len(in_scope), "out_of_scope": len(out_scope)}
    summary.update(_ranking_metrics(in_scope))
    refused = [o for o in outcomes if o.decision is Decision.NONE]
    if out_scope:
        correct = sum(1 for o in refused if not o.gold_ids)
        summary["refusal_precision"] = correct / len(refused) if refused else None  # nothing refused
        summary["refusal_recall"] = correct / len(out_scope)
    if in_scope:
        summary["R@1_with_refusal"] = sum(1 for o in in_scope if o.rank == 1 and o.decision is not
                                          Decision.NONE) / len(in_scope)
    summary.update(decision_metrics(outcomes))
    if outcomes:  # an out-of-scope question's first hit is never right
        summary.update(calibration_metrics([o.confidence for o in outcomes], [o.rank == 1 for o in outcomes]))
    for decision in Decision:
        summary[f"decision_{decision.value}"] = (sum(1 for o in outcomes if o.decision is decision)
                                                 / len(outcomes) if outcomes else 0.0)
    latencies = [o.latency_ms for o in outcomes]
    summary["latency_ms_p50"] = float(np.percentile(latencies, 50)) if latencies else 0.0
    summary["latency_ms_p95"] = float(np.percentile(latencies, 95)) if latencies else 0.0
    per_category: dict[str, list[QuestionOutcome]] = defaultdict(list)
    for o in outcomes:
        per_category[o.category or "(none)"].append(o)
    summary["per_category"] = {
        name: {"questions": len(group), **(_ranking_metrics([o for o in group if o.gold_ids], short=True)
                                            if any(o.gold_ids for o in group) else
                                            {"refused": sum(o.decision is Decision.NONE for o in group) / len(group)})}
        for name, group in sorted(per_category.items())}
    return summary


def decision_metrics(outcomes: Sequence[QuestionOutcome]) -> dict[str, float | None]:
    """What customers would get, from each question's decision:

    - wrong_answer_rate: answered with a wrong first hit, or answered out of scope, over all;
    - resolved_rate: in-scope questions answered right, or clarified with a gold entry among
      the options, over in-scope questions; answered_right_directly counts the first kind only;
    - answer_precision: right answers over answered questions;
    - oos_handled: out-of-scope questions not answered (refused or clarified), over out of scope;
    - clarify_share: clarify replies over all questions.
    """
    answered = [o for o in outcomes if o.decision is Decision.ANSWER]
    in_scope = [o for o in outcomes if o.gold_ids]
    out_scope = [o for o in outcomes if not o.gold_ids]
    right = sum(1 for o in answered if o.gold_ids and o.right)
    n = len(outcomes)
    return {
        "wrong_answer_rate": (len(answered) - right) / n if n else None,
        "resolved_rate": (sum(1 for o in in_scope if (o.decision is Decision.ANSWER and o.right)
                              or o.clarified_right) / len(in_scope)) if in_scope else None,
        "answered_right_directly": right / len(in_scope) if in_scope else None,
        "answer_precision": right / len(answered) if answered else None,
        "oos_handled": (sum(1 for o in out_scope if o.decision is not Decision.ANSWER) / len(out_scope)
                        if out_scope else None),
        "clarify_share": sum(1 for o in outcomes if o.decision is Decision.CLARIFY) / n if n else None,
    }


def calibration_metrics(confidence: Sequence[float], right: Sequence[bool], bins: int = 10) -> dict[str, float]:
    """How well `confidence` states P(the first hit is right): the mean confidence beside the
    share right, the Brier score, and the expected calibration error (|mean confidence - share
    right| per tenth of the 0-1 range, weighted by the questions in it)."""
    conf, hit = np.asarray(confidence, float), np.asarray(right, float)
    bin_of = np.minimum((conf * bins).astype(int), bins - 1)
    ece = sum(abs(conf[bin_of == b].mean() - hit[bin_of == b].mean()) * (bin_of == b).sum()
              for b in np.unique(bin_of)) / len(conf)
    return {"confidence_mean": float(conf.mean()), "first_hit_right": float(hit.mean()),
            "confidence_brier": float(((conf - hit) ** 2).mean()), "confidence_ece": float(ece)}


def _ranking_metrics(outcomes: Sequence[QuestionOutcome], short: bool = False) -> dict[str, float]:
    if not outcomes:
        return {}
    n = len(outcomes)
    metrics = {f"R@{k}": sum(1 for o in outcomes if o.rank is not None and o.rank <= k) / n for k in CUTOFFS}
    metrics["MRR@10"] = sum(1 / o.rank for o in outcomes if o.rank is not None) / n
    if short:
        return {"R@1": metrics["R@1"], "MRR@10": metrics["MRR@10"]}
    metrics["nDCG@10"] = sum(_ndcg(o) for o in outcomes) / n
    return metrics


def _ndcg(outcome: QuestionOutcome) -> float:
    """Binary relevance; each gold id is credited once (several chunks of one gold document
    count as one relevant item)."""
    gold = set(outcome.gold_ids)
    credited: set[str] = set()
    dcg = 0.0
    for i, (hit_id, doc_id) in enumerate(zip(outcome.hit_ids, outcome.hit_docs), start=1):
        match = hit_id if hit_id in gold else doc_id
        if match in gold and match not in credited:
            credited.add(match)
            dcg += 1 / math.log2(i + 1)
    ideal = sum(1 / math.log2(i + 1) for i in range(1, min(len(gold), 10) + 1))
    return dcg / ideal if ideal else 0.0
