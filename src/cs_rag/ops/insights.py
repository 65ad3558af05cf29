"""What customers ask and what the knowledge lacks: the question log, hot words, knowledge gaps.

The question log is JSONL, one line per answered question (what `log_record` writes):

    {"ts": "2026-11-23T10:15:00+08:00", "question": "...", "outcome": "refused",
     "confidence": 0.12, "flags": ["negative_emotion"], "category": "售后退款", "latency_ms": 85.2,
     "emotion": "dissatisfied", "level": 1, "question_type": "fault", "priority": false,
     "session_id": "9f2c...", "reply": "..."}

Only `question` is required. `emotion`, `level` and `question_type` are the guard's reading of
the customer's message; `session_id` and `reply` (the bot's reply, cut to REPLY_CHARS) let the
report follow a conversation's emotion turn by turn.
`ts` is ISO 8601 (a date alone, naive times read as UTC) or epoch
seconds; `outcome` is an `Outcome` value; `flags` lists flag kinds (or whole flag objects, as
in an Answer's JSON). `load_records` also reads the JSON object `cs-rag eval --json` prints:
its per-question `results`, whose retrieval `decision` stands for the outcome (answer ->
answered, clarify -> clarify, none -> refused).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field, ValidationError, field_validator

from cs_rag.errors import InputError
from cs_rag.text import Tokenizer
from cs_rag.types import Answer, Emotion, Outcome, QuestionType

REPLY_CHARS = 200
GAP_OUTCOMES = frozenset({Outcome.REFUSED, Outcome.CLARIFY, Outcome.HANDOFF})
DEFAULT_GAP_THRESHOLD = 0.12   # cosine distance; chosen on the tune split of eval/gaps_sample.jsonl
_DECISION_OUTCOME = {"answer": Outcome.ANSWERED, "clarify": Outcome.CLARIFY, "none": Outcome.REFUSED}
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_LATIN = re.compile(r"[a-z0-9]")
# Question words and fillers: the shared stopword list keeps them (retrieval can use them),
# but they say nothing about what a question is about.
QUESTION_WORDS = frozenset(["怎么", "怎么办", "怎样", "怎么样", "什么", "为什么", "为啥", "时候", "多久", "多少", "多长时间", "哪里", "哪儿", "哪个", "哪些", "如何", "请问", "一下", "可以", "能不能", "可不可以", "是不是", "有没有", "没有", "还是", "现在", "已经", "还有", "这个", "那个", "一个", "你们", "我们", "自己", "知道", "需要", "应该", "的话", "how", "what", "when", "where", "why", "which", "can", "could", "would", "should", "does", "please"])


class QuestionRecord(BaseModel):
    """One asked question as the log keeps it."""

    question: str
    ts: dt.datetime | None = None
    outcome: Outcome | None = None
    confidence: float | None = None
    flags: list[str] = Field(default_factory=list)
    category: str | None = None
    latency_ms: float | None = None
    emotion: Emotion | None = None
    level: int | None = Field(default=None, ge=0, le=3)
    question_type: QuestionType | None = None
    priority: bool = False
    session_id: str | None = None
    reply: str | None = None
    unknown_names: list[str] = Field(default_factory=list)   # listed names the knowledge never mentions

    @field_validator("flags", mode="before")
    @classmethod
    def _kinds(cls, value):
        if value is None:
            return []
        if not isinstance(value, list):
            raise ValueError("flags must be a list of kinds or flag objects")
        return [item.get("kind") if isinstance(item, dict) else item for item in value]

    @field_validator("ts")
    @classmethod
    def _utc(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value


def log_record(answer: Answer, *, ts: dt.datetime | None = None, category: str | None = None,
               latency_ms: float | None = None, session_id: str | None = None) -> dict:
    """The question-log line for an answer (a JSON-ready dict); `ts` defaults to now, UTC."""
    record = {"ts": (ts or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds"),
              "question": answer.question, "outcome": answer.outcome.value,
              "confidence": round(answer.confidence, 4),
              "flags": [flag.kind.value for flag in answer.flags],
              "emotion": answer.emotion.label.value, "level": answer.emotion.level,
              "question_type": answer.question_type.value if answer.question_type else None,
              "priority": answer.priority, "reply": answer.text[:REPLY_CHARS]}
    names = answer.trace.get("retrieval", {}).get("unknown_names") if answer.trace else None
    if names:
        record["unknown_names"] = names
    if session_id is not None:
        record["session_id"] = session_id
    if category is not None:
        record["category"] = category
    if latency_ms is not None:
        record["latency_ms"] = round(latency_ms, 1)
    return record


def load_records(path: Path) -> list[QuestionRecord]:
    """Records from a question log (JSONL), a folder of them (`*.jsonl`, name order) or an
    eval results JSON object. A bad line raises InputError naming the file and line."""
    if path.is_dir():
        files = sorted(path.glob("*.jsonl"))
        if not files:
            raise InputError(str(path), "no *.jsonl question logs in this folder")
        return [record for file in files for record in load_records(file)]
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(str(path), f"cannot read: {exc}") from None
    if text.lstrip().startswith("{") and '"results"' in text[:200_000]:
        try:
            whole = json.loads(text)
        except json.JSONDecodeError:
            whole = None
        if isinstance(whole, dict) and isinstance(whole.get("results"), list):
            return [_from_eval(path, i, r) for i, r in enumerate(whole["results"], start=1)]
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(QuestionRecord.model_validate_json(line))
        except ValidationError as exc:
            raise InputError.from_validation(exc, str(path), line=number) from None
    return records


def _from_eval(path: Path, number: int, result: dict) -> QuestionRecord:
    try:
        return QuestionRecord.model_validate(
            {**{k: v for k, v in result.items() if k in QuestionRecord.model_fields},
             "outcome": result.get("outcome") or _DECISION_OUTCOME.get(result.get("decision"))})
    except ValidationError as exc:
        raise InputError(str(path), exc.errors()[0]["msg"], field=f"results[{number - 1}]") from None


# ---------------------------------------------------------------- hot words


class Term(BaseModel):
    """A term or phrase with the number of questions that contain it."""

    term: str
    count: int
    share: float                         # of all questions
    category: str | None = None          # the category most questions containing it fall in
    category_share: float | None = None  # of the questions containing it


class RisingTerm(BaseModel):
    """A term asked about more in the late period than in the early one."""

    term: str
    early: int
    late: int
    ratio: float   # late share / early share, both add-one smoothed


class HotWords(BaseModel):
    """`hot_words`' result; `split` is the moment the periods meet (None without timestamps)."""

    questions: int
    terms: list[Term]
    phrases: list[Term]
    split: dt.datetime | None = None
    early_questions: int = 0
    late_questions: int = 0
    rising: list[RisingTerm] = Field(default_factory=list)


def keywords(tokenizer: Tokenizer, text: str) -> list[str]:
    """The tokenizer's tokens (stopwords already gone) without bare numbers, single
    characters and `QUESTION_WORDS`: order numbers, amounts, particles and question words say
    nothing about a topic."""
    return [t for run in keyword_runs(tokenizer, text) for t in run]


def keyword_runs(tokenizer: Tokenizer, text: str) -> list[list[str]]:
    """`keywords` in runs of words said next to each other (phrases are built inside runs)."""
    runs: list[list[str]] = []
    for run in tokenizer.token_runs(text):
        current: list[str] = []
        for token in run:
            if len(token) > 1 and not _NUMBER.fullmatch(token) and token not in QUESTION_WORDS:
                current.append(token)
            elif current:
                runs.append(current)
                current = []
        if current:
            runs.append(current)
    return runs


def _windows(tokens: Sequence[str], n: int) -> list[Sequence[str]]:
    return [tokens[i:i + n] for i in range(len(tokens) - n + 1)]


def _join(tokens: Sequence[str]) -> str:
    # Latin words keep a space between them; Chinese reads as one run.
    out = tokens[0]
    for token in tokens[1:]:
        out += (" " if _LATIN.match(out[-1]) and _LATIN.match(token[0]) else "") + token
    return out


def hot_words(records: Sequence[QuestionRecord], tokenizer: Tokenizer, *, top: int = 20,
              min_count: int = 2, split: dt.datetime | None = None,
              categorise: Callable[[str], str | None] | None = None) -> HotWords:
    """The `top` most frequent terms and phrases (bigrams and trigrams of words said next to
    each other: nothing dropped between them), each
    counted once per question and kept from `min_count` questions; a bigram is dropped when a
    trigram containing it is asked exactly as often. Each term's category is the most common
    among its questions: the record's own, else `categorise(question)` (e.g. the category of
    the question's first FAQ hit), else none.

    Rising terms compare the questions before `split` with those from it on; without a
    `split`, the midpoint between the first and last timestamp. Records without `ts` take
    no part in that comparison; with fewer than two timestamped records there is none.
    """
    run_lists = [keyword_runs(tokenizer, r.question) for r in records]
    term_sets = [{(t,) for run in runs for t in run} for runs in run_lists]
    phrase_sets = [{tuple(w) for run in runs for n_gram in (2, 3) for w in _windows(run, n_gram)}
                   for runs in run_lists]
    looked_up: dict[str, str | None] = {}

    def category(i: int) -> str | None:
        # categorise (a search per question) runs only for questions holding a listed term, once each
        record = records[i]
        if record.category or categorise is None:
            return record.category
        if record.question not in looked_up:
            looked_up[record.question] = categorise(record.question)
        return looked_up[record.question]

    n = len(records)
    term_counts = Counter(t for terms in term_sets for t in terms)
    phrase_counts = Counter(p for phrases in phrase_sets for p in phrases)
    # a bigram asked exactly as often as a trigram that contains it adds nothing
    covered = {(part, c) for p, c in phrase_counts.items() if len(p) == 3 and c >= min_count
               for part in (p[:2], p[1:])}
    phrase_counts = Counter({p: c for p, c in phrase_counts.items() if (p, c) not in covered})

    def ranked(counts: Counter, sets: list[set[tuple[str, ...]]]) -> list[Term]:
        chosen = [(t, c) for t, c in sorted(counts.items(), key=lambda tc: (-tc[1], tc[0]))
                  if c >= min_count][:top]
        out = []
        for term, count in chosen:
            cats = Counter(c for i, s in enumerate(sets) if term in s and (c := category(i)))
            best = cats.most_common(1)[0] if cats else None
            out.append(Term(term=_join(term), count=count, share=count / n,
                            category=best[0] if best else None,
                            category_share=best[1] / count if best else None))
        return out

    result = HotWords(questions=n, terms=ranked(term_counts, term_sets),
                      phrases=ranked(phrase_counts, phrase_sets))
    stamped = [(r.ts, {t for t, in terms}) for r, terms in zip(records, term_sets) if r.ts is not None]
    if len(stamped) < 2:
        return result
    if split is None:
        first, last = min(t for t, _ in stamped), max(t for t, _ in stamped)
        split = first + (last - first) / 2
    elif split.tzinfo is None:
        split = split.replace(tzinfo=dt.UTC)
    early = Counter(t for ts, terms in stamped if ts < split for t in terms)
    late = Counter(t for ts, terms in stamped if ts >= split for t in terms)
    n_early = sum(1 for ts, _ in stamped if ts < split)
    n_late = len(stamped) - n_early
    rising = []
    for term, count in late.items():
        if count < min_count:
            continue
        ratio = ((count + 1) / (n_late + 1)) / ((early[term] + 1) / (n_early + 1))
        if ratio > 1:
            rising.append(RisingTerm(term=term, early=early[term], late=count, ratio=ratio))
    rising.sort(key=lambda r: (-r.ratio, -r.late, r.term))
    return result.model_copy(update={"split": split, "early_questions": n_early,
                                     "late_questions": n_late, "rising": rising[:top]})


# ---------------------------------------------------------------- knowledge gaps


class Gap(BaseModel):
    """A group of unanswered questions that mean the same thing: one FAQ entry to write."""

    representative: str               # the question closest to the group's centroid
    count: int                        # records in the group (repeats included)
    questions: list[str]              # its distinct questions, most asked first
    outcomes: dict[str, int]          # refused / clarify / handoff counts
    categories: dict[str, int] = Field(default_factory=dict)


def gap_records(records: Iterable[QuestionRecord]) -> list[QuestionRecord]:
    """The records whose question ended refused, clarified or handed off."""
    return [r for r in records if r.outcome in GAP_OUTCOMES]


def cluster(vectors: np.ndarray, threshold: float) -> np.ndarray:
    """Agglomerative clustering with average linkage on cosine distance, cut where groups are
    further apart than `threshold` (0 keeps only identical vectors together, 2 merges all).
    Returns one label per row, 0-based, numbered in order of first appearance."""
    n = len(vectors)
    if n == 0:
        return np.zeros(0, dtype=int)
    if n == 1:
        return np.zeros(1, dtype=int)
    from scipy.cluster.hierarchy import fcluster, linkage

    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    tree = linkage(unit.astype(np.float64), method="average", metric="cosine")
    raw = fcluster(tree, t=threshold, criterion="distance")
    order = {label: i for i, label in enumerate(dict.fromkeys(raw.tolist()))}
    return np.array([order[label] for label in raw.tolist()], dtype=int)


def find_gaps(records: Sequence[QuestionRecord], embed: Callable[[list[str]], np.ndarray], *,
              threshold: float = DEFAULT_GAP_THRESHOLD) -> list[Gap]:
    """Cluster the gap records (see `gap_records`) by meaning: `embed(texts)` gives one vector
    per text (e.g. `lambda t: embedder.encode(t, "query")`), each distinct question embedded
    once. Groups come largest first, ties by representative."""
    gaps = gap_records(records)
    if not gaps:
        return []
    distinct = list(dict.fromkeys(r.question.strip() for r in gaps))
    position = {q: i for i, q in enumerate(distinct)}
    vectors = np.asarray(embed(distinct), dtype=np.float32)
    if vectors.shape[0] != len(distinct):
        raise ValueError(f"embed returned {vectors.shape[0]} vectors for {len(distinct)} texts")
    labels = cluster(vectors, threshold)
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    asked = Counter(r.question.strip() for r in gaps)
    out = []
    for label in range(int(labels.max()) + 1):
        members = [q for q in distinct if labels[position[q]] == label]
        rows = unit[[position[q] for q in members]]
        centroid = rows.mean(axis=0)
        representative = members[int(np.argmax(rows @ centroid))]
        member_set = set(members)
        group = [r for r in gaps if r.question.strip() in member_set]
        out.append(Gap(representative=representative, count=len(group),
                       questions=sorted(members, key=lambda q: (-asked[q], position[q])),
                       outcomes=dict(Counter(r.outcome.value for r in group).most_common()),
                       categories=dict(Counter(r.category for r in group if r.category).most_common())))
    out.sort(key=lambda g: (-g.count, g.representative))
    return out


def pairwise_scores(labels: Sequence, predicted: Sequence) -> tuple[float, float]:
    """Pairwise precision and recall of a clustering against gold labels: over all pairs of
    items, precision = share of predicted same-cluster pairs that share a gold label, recall =
    share of gold same-label pairs predicted together. 1.0 where there is no pair to judge."""
    if len(labels) != len(predicted):
        raise ValueError("labels and predicted differ in length")
    gold = np.asarray([str(x) for x in labels])
    pred = np.asarray(predicted)
    upper = np.triu(np.ones((len(gold), len(gold)), dtype=bool), k=1)
    same_gold = (gold[:, None] == gold[None, :]) & upper
    same_pred = (pred[:, None] == pred[None, :]) & upper
    both = int((same_gold & same_pred).sum())
    n_pred, n_gold = int(same_pred.sum()), int(same_gold.sum())
    return (both / n_pred if n_pred else 1.0, both / n_gold if n_gold else 1.0)
