"""Does the learning loop make the bot better? Replays traffic through the real service path
(create_app + TestClient: /v1/answer, /v1/learning, the ingest jobs) and lets a simulated
operator work the learning queue with the gold labels.

    python benchmarks/learning_loop.py [--questions eval/questions.jsonl] [--knowledge knowledge]
                                       [--config knowledge/cs_rag.toml] [--seed 7]
                                       [--skip-picks] [--decline-out-of-scope]

Any questions.jsonl and knowledge folder will do. The questions are shuffled with the seed and
split: the first half is traffic, the second half is the test. The traffic half comes in two
batches (two weeks); after each, the operator works the queue until it is empty.

Simulated customers in the traffic behave as the gold labels say: one offered the right entry
among a clarify reply's choices picks it (same session, `option_id`); one answered wrongly rates
the answer unhelpful (`wrong`) with probability `--dislike-share` (default 0.5: not everyone
rates). The simulated operator knows each traffic wording's gold: an FAQ entry -> `link` to it;
out of scope -> `ignore` (`decline` with --decline-out-of-scope); a policy document -> `ignore`
too (`link` needs an FAQ entry, and writing an answer is a person's work the simulation cannot
do). A group whose wordings have
different golds is worked part by part (`wordings` narrows an action), as a person reading it
would. The test half is answered before any learning and after each round; its answers never
teach (their queue items are ignored) and the operator never sees its labels.

Ordering effect, stated in the output: a test question gains only when its gold entry was also
asked about in the traffic (the same entry asked twice); the share of such test questions is
printed beside the figures.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _common import REPO, print_table, read_jsonl

from cs_rag import Assistant, KnowledgeBase, load_settings
from cs_rag.ops.evaluate import QuestionOutcome, decision_metrics
from cs_rag.types import Decision

ADMIN = "learning-loop-admin"
DECISION = {"answered": Decision.ANSWER, "clarify": Decision.CLARIFY}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=Path, default=REPO / "eval" / "questions.jsonl")
    parser.add_argument("--knowledge", type=Path, default=REPO / "knowledge")
    parser.add_argument("--config", type=Path, default=REPO / "knowledge" / "cs_rag.toml")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-picks", action="store_true",
                        help="the operator does not confirm what customers picked (ignores wordings of picks only)")
    parser.add_argument("--decline-out-of-scope", action="store_true",
                        help="the operator declines out-of-scope wordings (never answer them) instead of ignoring them")
    parser.add_argument("--dislike-share", type=float, default=0.5,
                        help="share of wrongly answered traffic customers who rate the answer unhelpful")
    args = parser.parse_args()
    rater = random.Random(args.seed + 1)
    questions = read_jsonl(args.questions)
    random.Random(args.seed).shuffle(questions)
    half = len(questions) // 2
    traffic, test = questions[:half], questions[half:]
    weeks = [traffic[:half // 2], traffic[half // 2:]]
    with tempfile.TemporaryDirectory() as tmp:
        client, service = _service(Path(tmp), args.knowledge, args.config)
        with client:
            service.warm.wait(120)
            rows, actions_total = [], 0
            before = _measure(client, test)
            rows.append(["before", *_figures(before), "-", "-"])
            taught: set[str] = set()
            for week, batch in enumerate(weeks, start=1):
                for q in batch:
                    _customer(client, q, lambda: rater.random() < args.dislike_share)
                actions, linked = _operate(client, {q["question"].strip(): q["gold_ids"] for q in batch},
                                           args.skip_picks, args.decline_out_of_scope)
                actions_total += actions
                taught |= linked
                after = _measure(client, test)
                gained = (after["resolved_rate"] - before["resolved_rate"]) * 100
                per_point = f"{actions_total / gained:.1f}" if gained > 0 else "-"
                rows.append([f"after round {week}", *_figures(after), actions_total, per_point])
    seen = {g for q in traffic for g in q["gold_ids"]}
    repeat = sum(1 for q in test if set(q["gold_ids"]) & seen) / len(test)
    helped = sum(1 for q in test if set(q["gold_ids"]) & taught) / len(test)
    title = ("Learning loop" + (", picks not confirmed" if args.skip_picks else "") +
             (", out of scope declined" if args.decline_out_of_scope else "") + " on " +
             f"{args.questions.relative_to(REPO) if args.questions.is_relative_to(REPO) else args.questions}"
             f" (seed {args.seed}; traffic {len(traffic)} in 2 rounds, test {len(test)}; "
             f"dislike share {args.dislike_share})")
    print_table(title, ["test half", "R@1", "wrong", "resolved", "right directly", "OOS handled", "clarify",
                        "operator actions", "actions per resolved point"], rows)
    print(f"test questions whose gold entry was asked about in the traffic: {repeat:.3f}; "
          f"whose gold entry the operator linked: {helped:.3f}")


def _service(root: Path, knowledge: Path, config: Path):
    from fastapi.testclient import TestClient

    from cs_rag.service import create_app
    from cs_rag.service.auth import ApiKeys

    settings = load_settings(config)   # replayed traffic comes from one address: no rate limit
    settings = settings.model_copy(update={"service": settings.service.model_copy(update={
        "rate_limit_per_minute": 0, "customer_rate_limit_per_minute": 0})})
    index_dir = root / "index"
    KnowledgeBase(index_dir, settings).ingest([knowledge])
    app = create_app(index_dir, [knowledge], settings=settings, data_dir=root / "data",
                     keys=ApiKeys([], [ADMIN]), assistant=Assistant.open(index_dir, settings))
    client = TestClient(app)
    return client, app.state.service


def _ask(client, question: str, **extra) -> dict:
    response = client.post("/v1/answer", json={"question": question, **extra})
    response.raise_for_status()
    return response.json()


def _customer(client, q: dict, rates: Callable[[], bool]) -> None:
    """One traffic customer: asks; picks the right offered choice; may dislike a wrong answer."""
    answer = _ask(client, q["question"])
    if answer["outcome"] == "clarify":
        right = next((o for o in answer["options"] if o["doc_id"] in q["gold_ids"]), None)
        if right is not None:
            _ask(client, q["question"], session_id=answer["session_id"], option_id=right["id"])
    elif answer["outcome"] == "answered" and answer["citations"][0]["doc_id"] not in q["gold_ids"] and rates():
        client.post("/v1/feedback", json={"answer_id": answer["trace_id"], "helpful": False, "reason": "wrong"})


def _measure(client, test: list[dict]) -> dict:
    """The decision metrics of the test half, asked without sessions (no learning from them:
    the operator acts only after traffic rounds, and test answers are not worked)."""
    outcomes = []
    for q in test:
        answer = _ask(client, q["question"])
        hits = answer["trace"].get("retrieval", {}).get("hits", [])
        docs = list(dict.fromkeys(h["id"].split("#")[0] for h in hits))
        rank = next((i + 1 for i, d in enumerate(docs) if d in q["gold_ids"]), None)
        outcomes.append(QuestionOutcome(
            id=q["id"], question=q["question"], category=q.get("category"), gold_ids=q["gold_ids"],
            hit_ids=[h["id"] for h in hits], hit_docs=docs, rank=rank,
            decision=DECISION.get(answer["outcome"], Decision.NONE),
            option_docs=[o["doc_id"] for o in answer["options"]], confidence=answer["confidence"], latency_ms=0.0))
    metrics = decision_metrics(outcomes)
    in_scope = [o for o in outcomes if o.gold_ids]
    metrics["r_at_1"] = sum(o.right for o in in_scope) / len(in_scope) if in_scope else 0.0
    _clear_queue_of_test_answers(client)
    return metrics


def _clear_queue_of_test_answers(client) -> None:
    """Test answers must not teach: the service would queue the unserved ones, so each group
    they formed is ignored before the next traffic round (and not counted as an action)."""
    for group in client.get("/v1/learning", headers=_admin(), params={"limit": 500}).json()["groups"]:
        client.post(f"/v1/learning/{group['id']}", json={"action": "ignore", "reason": "benchmark test half"},
                    headers=_admin())


def _operate(client, gold_of: dict[str, list[str]], skip_picks: bool, decline: bool) -> tuple[int, set[str]]:
    """Work the queue with the traffic's gold labels until it is empty: each group's wordings
    are split by gold, and each part gets its own action (link to its FAQ entry, else ignore;
    with `skip_picks`, wordings that only customers' picks brought are ignored; with `decline`,
    out-of-scope wordings are declined rather than ignored); returns
    (actions, linked entry ids)."""
    actions, linked, jobs = 0, set(), []
    for _ in range(10):                       # a pass acts on one part of each group
        groups = client.get("/v1/learning", headers=_admin(), params={"limit": 500}).json()["groups"]
        if not groups:
            break
        for group in groups:
            parts: dict[str, list[str]] = {}
            for wording in group["wordings"]:
                if wording["text"].strip() not in gold_of:
                    print(f"operator: no traffic label for {wording['text']!r}", file=sys.stderr)
                golds = gold_of.get(wording["text"].strip(), [])
                unconfirmed = skip_picks and set(wording["sources"]) == {"picked"}
                parts.setdefault("picked" if unconfirmed else (golds[0] if golds else ""), []).append(wording["text"])
            gold, wordings = max(parts.items(), key=lambda item: len(item[1]))
            if gold == "picked":
                body = {"action": "ignore", "wordings": wordings, "reason": "picks not confirmed"}
            elif gold.startswith("faq-"):
                body = {"action": "link", "entry_id": gold, "wordings": wordings}
            elif not gold and decline:
                body = {"action": "decline", "wordings": wordings, "reason": "out of scope"}
            else:
                body = {"action": "ignore", "wordings": wordings,
                        "reason": "out of scope" if not gold else "policy detail: needs a writer"}
            response = client.post(f"/v1/learning/{group['id']}", json=body, headers=_admin())
            if response.status_code != 200:
                print(f"operator: {body['action']} on {group['id']} -> {response.status_code} "
                      f"{response.text[:200]}", file=sys.stderr)
                continue
            actions += 1
            if body["action"] == "link":
                linked.add(gold)
            if response.json()["job"]:
                jobs.append(response.json()["job"]["id"])
    for job_id in jobs:
        _wait(client, job_id)
    return actions, linked


def _wait(client, job_id: str) -> None:
    """Until the job ends; an ingest that refits the fine-tune takes minutes on 2 cores."""
    for _ in range(18000):
        status = client.get(f"/v1/jobs/{job_id}", headers=_admin()).json()["status"]
        if status in ("done", "failed"):
            return
        time.sleep(0.1)
    raise RuntimeError(f"job {job_id} did not finish")


def _admin() -> dict:
    return {"Authorization": f"Bearer {ADMIN}"}


def _figures(metrics: dict) -> list[float]:
    return [metrics["r_at_1"], metrics["wrong_answer_rate"], metrics["resolved_rate"],
            metrics["answered_right_directly"], metrics["oos_handled"], metrics["clarify_share"]]


if __name__ == "__main__":
    main()
