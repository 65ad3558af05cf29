"""What customers get from cs_rag's decisions: answered right, answered wrong, offered choices,
refused, on knowledge/'s two question sets and on checks carved from public FAQ sets.

    python benchmarks/decisions.py [--sets eval,holdout,banking77_k10_carve,stackfaq_sim3_carve]

Sets:
- eval: eval/questions.jsonl, the TUNING set (the band edges were chosen on it);
- holdout: eval/holdout/questions.jsonl, written independently; since 2026-12-07 a second tuning
  set (the passage offset and the evidence reader's threshold were chosen on both); the blind
  sets are eval/holdout/traffic*/ (`cs-rag eval`);
- banking77_k10_carve, stackfaq_sim3_carve: test-free checks carved from the public sets' knowledge
  alone (their test questions are never read): 30% of the entries are held out whole and their
  similar questions become out-of-scope questions; every other entry loses up to two similar
  questions, which become in-scope questions; the rest is the knowledge base.

Rows, all in one run and, but for the second, on the same retrieval:
- cs_rag: the default (calibrated confidence with near-miss probes, three bands, the knowledge
  base's fine-tune of the embedding model);
- the evidence reader (`retrieval.evidence_reader`) on, or off when it is the default;
- each lever off on its own: the fine-tune (a second index, `index.fine_tune = false`),
  answer-or-refuse (no clarify band), no near-miss probes in the fit;
- peers' decision rules: always send the first hit (an LLM that trusts whatever context it gets),
  and a threshold on the first hit's dense similarity set to answer the same share as cs_rag.
Every cs_rag row applies the near-miss names gate (`retrieval.near_miss_names`). Latency is the
whole retrieval and decision per question; the reader's row adds the forward passes it asks for
(retrieval/evidence.py: the first option of direct answers and clarify replies, the others of a
withheld answer) when the reader is off by default.
A risk-coverage table follows: wrong answers against the answered share as the answer threshold
moves, for cs_rag's confidence and for the raw similarity.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from _common import REPO, RESULTS, SHARED_DATA, percentiles_ms, print_table, read_jsonl

from cs_rag import KnowledgeBase
from cs_rag.answering.llm.local import LocalLLMServer
from cs_rag.answering.llm.openai_compatible import ChatModel
from cs_rag.answering.prompt import PromptLibrary
from cs_rag.answering.verify import check_evidence
from cs_rag.config import LLMSettings, RetrievalSettings, Settings
from cs_rag.models.reader import hit_evidence
from cs_rag.ops.evaluate import QuestionOutcome, decision_metrics, load_questions
from cs_rag.retrieval import calibrate
from cs_rag.retrieval.confidence import Calibration
from cs_rag.retrieval.hybrid import EXACT, distinct_documents
from cs_rag.retrieval.evidence import read_decision, withheld
from cs_rag.types import Decision, Hit

SETS = ["eval", "holdout", "banking77_k10_carve", "stackfaq_sim3_carve"]
HELD_OUT_ENTRIES = 0.3
QUESTIONS_PER_ENTRY = 2


@dataclass
class Scored:
    """One question through retrieval: what every decision rule needs."""

    gold: list[str]
    first: str            # the first hit's id and document
    first_doc: str
    option_docs: list[str]
    dense: float          # the first hit's cosine
    p1: float
    p3: float
    p1_plain: float       # without near-miss probes in the fit
    p3_plain: float
    seconds: float        # retrieval and the bands' decision, without reading
    options: list[Hit]    # the distinct documents a clarify reply offers, the first hit first
    names_unknown: bool   # the question names a platform, event or service the knowledge never mentions
    reads: list[float]    # the evidence reader's 0-1 score of each option (that it answers the question)
    read_seconds: tuple[float, float]   # reading the first option; reading the others (one batch)
    question: str = ""
    as_written: bool = False     # worded as the first hit's matched question (the `exact` feature)
    hit: Hit | None = None       # the first hit, for the LLM's verdict
    confirmed: bool | None = None  # the LLM's verdict on it, when asked


def knowledge_and_questions(name: str) -> tuple[list[Path], list[dict]]:
    if name == "eval":
        return [REPO / "knowledge"], [q.model_dump() for q in load_questions(REPO / "eval" / "questions.jsonl")]
    if name == "holdout":
        return [REPO / "knowledge"], [q.model_dump() for q in
                                      load_questions(REPO / "eval" / "holdout" / "questions.jsonl")]
    return carve_public(name.removesuffix("_carve"))


def carve_public(name: str) -> tuple[list[Path], list[dict]]:
    """A knowledge file without the held-out texts, and those texts as labelled questions."""
    entries = read_jsonl(SHARED_DATA / name / "knowledge.jsonl")
    rng = random.Random(0)
    order = list(range(len(entries)))
    rng.shuffle(order)
    held = set(order[:int(len(entries) * HELD_OUT_ENTRIES)])
    kept, questions = [], []
    for i, entry in enumerate(entries):
        similar = list(entry.get("similar_questions") or [])
        if i in held:
            questions += [{"id": f"{entry['id']}-oos-{n}", "question": q, "gold_ids": []}
                          for n, q in enumerate([entry["question"], *similar][:QUESTIONS_PER_ENTRY])]
            continue
        taken = similar[-QUESTIONS_PER_ENTRY:] if len(similar) > QUESTIONS_PER_ENTRY else []
        questions += [{"id": f"{entry['id']}-{n}", "question": q, "gold_ids": [entry["id"]]}
                      for n, q in enumerate(taken)]
        kept.append({**entry, "similar_questions": similar[:len(similar) - len(taken)]})
    folder = RESULTS / "decision_carves" / name
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "knowledge.jsonl"
    path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in kept), encoding="utf-8")
    return [path], questions


def index_for(name: str, knowledge: list[Path], fine_tune: bool = True) -> KnowledgeBase:
    """An index of `knowledge` under today's default settings (with `index.fine_tune` as
    given), cached until either changes."""
    settings = Settings.model_validate({"index": {"fine_tune": fine_tune}})
    files = sorted(f for p in knowledge for f in ([p] if p.is_file() else p.rglob("*")) if f.is_file())
    digest = hashlib.sha256("|".join([settings.model_dump_json(), *(f"{f}:{f.stat().st_mtime_ns}"
                                                                     for f in files)]).encode()).hexdigest()[:12]
    kb = KnowledgeBase(RESULTS / "decision_indexes" / f"{name.replace('holdout', 'eval')}-{digest}", settings)
    if not kb.exists:
        print(f"{name}: {kb.ingest(knowledge).summary()}", flush=True)
    return kb


def score(kb: KnowledgeBase, questions: list[dict]) -> list[Scored]:
    retriever = kb.retriever()
    saved, calibrate.NEAR_MISS_PROBES = calibrate.NEAR_MISS_PROBES, 0
    try:
        plain = calibrate.fit_calibration(kb.store.export(), retriever.tokenizer, retriever.embedder,
                                          retriever.settings) or retriever.calibration
    finally:
        calibrate.NEAR_MISS_PROBES = saved
    retriever.retrieve(questions[0]["question"])  # warm-up, not timed
    out = []
    for q in questions:
        started = time.perf_counter()
        retriever.retrieve(q["question"], read_evidence=False)   # timed: retrieval and bands; a
        # rule that reads adds the reads it asks for (read_by_reader), so every row is timed alike
        seconds = time.perf_counter() - started
        hits, features, _ = retriever.rank(q["question"], k=10)
        if not hits:
            continue
        options = distinct_documents(hits, 3)
        cal = retriever.calibration
        out.append(Scored(gold=q["gold_ids"], first=hits[0].id, first_doc=hits[0].doc_id,
                          option_docs=[h.doc_id for h in options], options=options,
                          names_unknown=bool(retriever.unknown_names(retriever.repaired(q["question"]))),
                          dense=hits[0].scores["dense"],
                          p1=float(cal.top1.predict(features[:1])[0]), p3=float(cal.top3.predict(features[:1])[0]),
                          p1_plain=float(plain.top1.predict(features[:1])[0]),
                          p3_plain=float(plain.top3.predict(features[:1])[0]), seconds=seconds,
                          **_read(retriever, q["question"], options), question=q["question"],
                          as_written=bool(features[0][EXACT]), hit=hits[0]))
    return out


def _read(retriever, question: str, options: list[Hit]) -> dict:
    """The evidence reader's scores of the options, read as `read_decision` reads them (the first
    alone, the others in one batch), and the seconds each read took."""
    query, scores, seconds = retriever.repaired(question), [], []
    for part in (options[:1], options[1:]):
        started = time.perf_counter()
        scores += [float(x) for x in retriever.reader.scores(query, [hit_evidence(h) for h in part])]
        seconds.append(time.perf_counter() - started)
    return {"reads": scores, "read_seconds": tuple(seconds)}


def read_by_reader(s: Scored, decision: Decision, settings: RetrievalSettings) -> tuple[Decision, float]:
    """`decision` after the evidence reader under `settings` (`read_decision`, on the scores read
    beforehand), and the seconds of the reads it asked for."""
    spent = [0.0]
    def read(hits: list[Hit]) -> list[float]:
        first = hits[0].doc_id == s.options[0].doc_id
        spent[0] += s.read_seconds[0 if first else 1]
        return s.reads[:1] if first else s.reads[1:]
    reading = read_decision(decision, s.options, read, settings,
                            names_unknown=s.names_unknown and settings.near_miss_names,
                            as_written=s.as_written)
    return reading.decision, spent[0]


def outcomes(scored: list[Scored], decide) -> list[QuestionOutcome]:
    """QuestionOutcomes under a decision rule (a function of one Scored)."""
    out = []
    for n, s in enumerate(scored):
        right = s.first in s.gold or s.first_doc in s.gold
        decision = decide(s)
        out.append(QuestionOutcome(id=str(n), question="", category=None, gold_ids=s.gold, hit_ids=[s.first],
                                   hit_docs=[s.first_doc], rank=1 if right else None, decision=decision,
                                   option_docs=s.option_docs if decision is Decision.CLARIFY else [],
                                   confidence=s.p1, latency_ms=s.seconds * 1000))
    return out


def verify_with_local_llm(scored: list[Scored], below: float, bands: RetrievalSettings) -> float:
    """Asks the local Qwen (`llm.verify_below`) about every answer with p1 < `below`; the
    seconds it took per verdict."""
    asked = [s for s in scored if s.p1 < below
             and Calibration.decide(s.p1, s.p3, len(s.option_docs), bands) is Decision.ANSWER]
    if not asked:
        return 0.0
    started = time.perf_counter()
    with LocalLLMServer() as server:
        model = ChatModel(LLMSettings(model=server.alias, base_url=server.base_url, temperature=0.0,
                                      timeout=120.0), {})
        template = PromptLibrary().template("verify", "zh")
        for s in asked:
            s.confirmed = check_evidence(model, template, s.question, s.hit).confirmed
    return (time.perf_counter() - started) / len(asked)


def rules(scored: list[Scored], bands: RetrievalSettings) -> dict[str, object]:
    def bands_on(p1: str, p3: str, clarify: bool = True):
        def decide(s: Scored) -> Decision:
            decision = Calibration.decide(getattr(s, p1), getattr(s, p3) if clarify else 0.0,
                                          len(s.option_docs), bands)
            if decision is Decision.ANSWER and bands.near_miss_names and s.names_unknown:
                return withheld(s.options)
            return decision
        return decide
    reading = bands.model_copy(update={"evidence_reader": True})
    def reader_on(decide):
        def gated(s: Scored) -> Decision:
            return read_by_reader(s, decide(s), reading)[0]
        gated.read_seconds = lambda s: read_by_reader(s, decide(s), reading)[1]
        return gated
    as_default = reader_on if bands.evidence_reader else (lambda decide: decide)
    unread = bands_on("p1", "p3")
    cs_rag = as_default(unread)
    reader_row = ({"cs_rag without the evidence reader (retrieval.evidence_reader = false)": unread}
                  if bands.evidence_reader else
                  {f"cs_rag + evidence reader ({bands.reader_threshold} / {bands.reader_refuse_threshold} / "
                   f"{bands.reader_promote_threshold})": reader_on(unread)})
    answered = sum(cs_rag(s) is Decision.ANSWER for s in scored) / len(scored)
    dense_t = float(np.quantile([s.dense for s in scored], 1 - answered)) if answered < 1 else -1.0
    def verified(s: Scored) -> Decision:
        decision = cs_rag(s)
        if decision is Decision.ANSWER and s.confirmed is False:
            return withheld(s.options)
        return decision
    verify_row = ({"cs_rag + local LLM verifies borderline answers": verified}
                  if any(s.confirmed is not None for s in scored) else {})
    return {
        "cs_rag (near-miss probes, three bands)": cs_rag,
        **reader_row,
        **verify_row,
        "cs_rag, answer or refuse (no clarify band)": as_default(bands_on("p1", "p3", clarify=False)),
        "cs_rag, no near-miss probes in the fit": as_default(bands_on("p1_plain", "p3_plain")),
        "always send the first hit": lambda s: Decision.ANSWER,
        f"dense similarity >= {dense_t:.3f} (same answered share)":
            lambda s: Decision.ANSWER if s.dense >= dense_t else Decision.NONE,
    }


def risk_coverage(scored: list[Scored]) -> list[list]:
    rows = []
    for share in (0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0):
        row = [share]
        for key in ("p1", "dense"):
            values = np.array([getattr(s, key) for s in scored])
            t = float(np.quantile(values, 1 - share)) if share < 1 else -np.inf
            answered = [s for s, v in zip(scored, values) if v >= t]
            wrong = sum(1 for s in answered if not (s.first in s.gold or s.first_doc in s.gold))
            row.append(wrong / len(scored))
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--verify-below", type=float, default=0.0,
                        help="add a row where the local Qwen verifies answers below this confidence "
                             "(llm.verify_below; starts the local model, ~3 s per verdict)")
    args = parser.parse_args()
    bands = RetrievalSettings()
    table, curves = [], {}
    for name in args.sets.split(","):
        knowledge, questions = knowledge_and_questions(name)
        scored = score(index_for(name, knowledge), questions)
        untuned = score(index_for(name, knowledge, fine_tune=False), questions)
        if args.verify_below > 0:
            seconds = verify_with_local_llm(scored, args.verify_below, bands)
            print(f"{name}: {sum(s.confirmed is not None for s in scored)} verdicts, "
                  f"{sum(s.confirmed is True for s in scored)} confirmed, {seconds:.1f} s each", flush=True)
        default_rules = rules(scored, bands)
        rows = [(label, scored, decide) for label, decide in default_rules.items()]
        rows.insert(1, ("cs_rag without the fine-tune (index.fine_tune = false)", untuned,
                        rules(untuned, bands)["cs_rag (near-miss probes, three bands)"]))
        for label, on, decide in rows:
            extra = getattr(decide, "read_seconds", lambda s: 0.0)
            p50, p95 = percentiles_ms([s.seconds + extra(s) for s in on])
            in_scope = [s for s in on if s.gold]
            r1 = sum(1 for s in in_scope if s.first in s.gold or s.first_doc in s.gold) / len(in_scope)
            found = outcomes(on, decide)
            m = decision_metrics(found)
            answered = sum(o.decision is Decision.ANSWER for o in found) / len(found)
            table.append([name, label, r1, answered, m["answer_precision"], m["wrong_answer_rate"],
                          m["resolved_rate"], m["answered_right_directly"], m["oos_handled"],
                          m["clarify_share"], p50, p95])
        curves[name] = risk_coverage(scored)
    header = ["set", "decision rule", "R@1", "answered", "answer precision", "wrong-answer rate",
              "resolved", "right directly", "out-of-scope handled", "clarify share", "p50 ms", "p95 ms"]
    text = print_table("Decisions on the same retrieval", header, table)
    for name, rows in curves.items():
        text += print_table(f"Risk-coverage on {name}: wrong answers over all questions",
                            ["answered share", "cs_rag confidence", "dense similarity"], rows)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "decisions.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
