"""Question log, hot words and knowledge gaps (cs_rag.ops.insights); `cs-rag hotwords` and `gaps`."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest

from cs_rag.cli import main
from cs_rag.errors import InputError
from cs_rag.ops.insights import (QuestionRecord, cluster, find_gaps, hot_words, keywords, load_records,
                             log_record, pairwise_scores)
from cs_rag.text import Tokenizer
from cs_rag.types import Answer, Flag, FlagKind, Outcome

from helpers import write_jsonl

UTC = dt.timezone.utc


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return Tokenizer.create()


def _records(questions, **fields):
    return [QuestionRecord(question=q, **fields) for q in questions]


# ---------------------------------------------------------------- the log


def test_log_record_round_trips_through_the_loader(tmp_path: Path):
    answer = Answer(question="我要投诉你们", text="……", outcome=Outcome.HANDOFF, confidence=0.123456,
                    flags=[Flag(kind=FlagKind.ESCALATION_THREAT), Flag(kind=FlagKind.NEGATIVE_EMOTION)])
    when = dt.datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    line = log_record(answer, ts=when, category="投诉建议", latency_ms=84.26)
    assert line == {"ts": "2026-11-20T09:30:00+00:00", "question": "我要投诉你们", "outcome": "handoff",
                    "confidence": 0.1235, "flags": ["escalation_threat", "negative_emotion"],
                    "emotion": "none", "level": 0, "question_type": None, "priority": False,
                    "reply": "……", "category": "投诉建议", "latency_ms": 84.3}
    [record] = load_records(write_jsonl(tmp_path / "log.jsonl", [line]))
    assert record.outcome is Outcome.HANDOFF and record.ts == when
    assert record.flags == ["escalation_threat", "negative_emotion"]


def test_the_log_keeps_the_names_the_knowledge_never_mentions(tmp_path: Path):
    answer = Answer(question="京东的价保怎么申请", text="您是想问……", outcome=Outcome.CLARIFY, confidence=0.8,
                    trace={"retrieval": {"decision": "clarify", "unknown_names": ["京东"]}})
    line = log_record(answer, ts=dt.datetime(2026, 11, 20, tzinfo=UTC))
    assert line["unknown_names"] == ["京东"]
    assert "unknown_names" not in log_record(answer.model_copy(update={"trace": {}}))
    [record] = load_records(write_jsonl(tmp_path / "log.jsonl", [line]))
    assert record.unknown_names == ["京东"]


def test_loader_reads_flag_objects_dates_epochs_and_folders(tmp_path: Path):
    folder = tmp_path / "logs"
    folder.mkdir()
    write_jsonl(folder / "b.jsonl", [{"question": "二", "ts": 1_700_000_000}])
    write_jsonl(folder / "a.jsonl", [{"question": "一", "ts": "2026-11-20",
                                      "flags": [{"kind": "pii", "severity": 1}]}])
    first, second = load_records(folder)
    assert (first.question, second.question) == ("一", "二")       # files in name order
    assert first.ts == dt.datetime(2026, 11, 20, tzinfo=UTC)         # naive read as UTC
    assert second.ts == dt.datetime.fromtimestamp(1_700_000_000, UTC)
    assert first.flags == ["pii"]


def test_loader_reads_eval_output_with_decisions_as_outcomes(tmp_path: Path):
    path = tmp_path / "eval.json"
    path.write_text(json.dumps({"R@1": 0.5, "results": [
        {"id": "q1", "question": "a", "decision": "none", "confidence": 0.1, "category": "x"},
        {"id": "q2", "question": "b", "decision": "clarify", "confidence": 0.4},
        {"id": "q3", "question": "c", "decision": "answer", "confidence": 0.9}]}), encoding="utf-8")
    outcomes = [r.outcome for r in load_records(path)]
    assert outcomes == [Outcome.REFUSED, Outcome.CLARIFY, Outcome.ANSWERED]


def test_a_bad_line_is_named(tmp_path: Path):
    path = tmp_path / "log.jsonl"
    path.write_text('{"question": "好"}\n\n{"ts": "2026-01-01"}\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"log\.jsonl:3.*question"):
        load_records(path)
    path.write_text('{"question": "好", "outcome": "maybe"}\n', encoding="utf-8")
    with pytest.raises(InputError, match=r":1 .*outcome"):
        load_records(path)


def test_an_empty_folder_is_an_error(tmp_path: Path):
    with pytest.raises(InputError, match="no \\*.jsonl"):
        load_records(tmp_path)


# ---------------------------------------------------------------- hot words


def test_keywords_drop_numbers_single_characters_and_question_words(tokenizer):
    assert keywords(tokenizer, "订单123456怎么还没发货啊") == ["订单", "发货"]


def test_a_planted_frequent_term_ranks_first_with_its_category(tokenizer):
    questions = ["以旧换新补贴怎么领", "以旧换新能抵多少钱", "旧手机以旧换新流程", "以旧换新的评估价太低",
                 "发票抬头写错了", "退款多久到账", "快递到哪了"]
    records = _records(questions[:4], category="促销活动") + _records(questions[4:])
    result = hot_words(records, tokenizer, top=5)
    assert result.questions == 7
    first = result.terms[0]
    assert (first.term, first.count, first.category, first.category_share) == ("以旧换新", 4, "促销活动", 1.0)
    assert first.share == pytest.approx(4 / 7)
    assert all(t.count >= 2 for t in result.terms)                   # min_count 2
    assert result.split is None and result.rising == []              # no timestamps


def test_phrases_are_frequent_adjacent_tokens_and_a_covered_bigram_is_dropped(tokenizer):
    questions = ["电子发票抬头写错了", "电子发票抬头能改吗", "电子发票抬头怎么填", "纸质发票抬头", "电子发票下载"]
    result = hot_words(_records(questions), tokenizer, top=10)
    counts = {p.term: p.count for p in result.phrases}
    assert counts["电子发票抬头"] == 3
    assert counts["发票抬头"] == 4            # asked more often than the trigram: kept
    assert counts["电子发票"] == 4
    single = hot_words(_records(questions[:3]), tokenizer, top=10)
    assert [p.term for p in single.phrases] == ["电子发票抬头"]   # both bigrams as often: dropped


def test_rising_terms_find_a_term_that_only_appears_late(tokenizer):
    early = [("退款多久到账", 1), ("快递到哪了", 2), ("退款没收到", 3), ("快递太慢", 4), ("发票抬头", 5)]
    late = [("国补资格怎么领", 11), ("退款还没到", 12), ("国补名额还有吗", 13), ("国补和优惠券能叠加吗", 14),
            ("快递丢了", 15)]
    records = [QuestionRecord(question=q, ts=dt.datetime(2026, 11, day, tzinfo=UTC)) for q, day in early + late]
    result = hot_words(records, tokenizer)
    assert result.split == dt.datetime(2026, 11, 8, tzinfo=UTC)   # midpoint of 1st and 15th
    assert (result.early_questions, result.late_questions) == (5, 5)
    top = result.rising[0]
    assert (top.term, top.early, top.late) == ("国补", 0, 3)
    assert "退款" not in {r.term for r in result.rising}           # 2 early, 1 late: falling
    later = hot_words(records, tokenizer, split=dt.datetime(2026, 11, 14))
    assert (later.early_questions, later.late_questions) == (8, 2)


def test_the_category_comes_from_categorise_when_a_record_has_none(tokenizer):
    asked = []

    def categorise(question: str) -> str:
        asked.append(question)
        return "物流配送"

    records = _records(["快递到哪了", "快递丢了"]) + [QuestionRecord(question="快递太慢", category="投诉建议")]
    result = hot_words(records, tokenizer, categorise=categorise)
    term = next(t for t in result.terms if t.term == "快递")
    assert (term.category, term.category_share) == ("物流配送", pytest.approx(2 / 3))
    assert asked == ["快递到哪了", "快递丢了"]


def test_hot_words_on_nothing(tokenizer):
    result = hot_words([], tokenizer)
    assert (result.questions, result.terms, result.phrases, result.rising) == (0, [], [], [])


def test_cli_hotwords_json(tmp_path: Path, capsys):
    lines = [{"question": "以旧换新补贴", "ts": "2026-11-01"}, {"question": "以旧换新怎么估价", "ts": "2026-11-02"},
             {"question": "国补怎么领", "ts": "2026-11-20"}, {"question": "国补名额", "ts": "2026-11-21"}]
    path = write_jsonl(tmp_path / "q.jsonl", lines)
    assert main(["hotwords", str(path), "--json", "--split", "2026-11-10", "--top", "3"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {t["term"] for t in result["terms"]} == {"以旧换新", "国补"}
    assert [r["term"] for r in result["rising"]] == ["国补"]
    assert main(["hotwords", str(path)]) == 0
    assert "rising since" in capsys.readouterr().out


# ---------------------------------------------------------------- gaps


def _planted_vectors(groups: dict[str, list[str]], seed: int = 0) -> dict[str, np.ndarray]:
    """One random direction per group, its questions scattered tightly around it."""
    rng = np.random.default_rng(seed)
    vectors = {}
    for group in groups.values():
        centre = rng.normal(size=32)
        for question in group:
            vectors[question] = centre + rng.normal(scale=0.15, size=32)
    return vectors


GROUPS = {"install": ["电视能上门安装吗", "空调谁来装", "洗衣机有人上门装吗"],
          "students": ["学生有优惠吗", "教育优惠怎么领"],
          "jobs": ["你们招客服吗"]}


def test_gaps_put_planted_paraphrases_together_and_skip_answered_ones():
    vectors = _planted_vectors(GROUPS)
    embedded: list[list[str]] = []

    def embed(texts):
        embedded.append(list(texts))
        return np.stack([vectors[t] for t in texts])

    records = (_records(["电视能上门安装吗", "电视能上门安装吗", "空调谁来装"], outcome=Outcome.REFUSED)
               + _records(["洗衣机有人上门装吗"], outcome=Outcome.HANDOFF, category="售后")
               + _records(["学生有优惠吗", "教育优惠怎么领"], outcome=Outcome.CLARIFY)
               + _records(["你们招客服吗"], outcome=Outcome.REFUSED)
               + _records(["退款多久到账"], outcome=Outcome.ANSWERED) + _records(["没有结果的"]))
    gaps = find_gaps(records, embed, threshold=0.3)
    assert embedded == [["电视能上门安装吗", "空调谁来装", "洗衣机有人上门装吗", "学生有优惠吗", "教育优惠怎么领",
                         "你们招客服吗"]]                            # distinct questions, once each
    assert [sorted(g.questions) for g in gaps] == [sorted(GROUPS["install"]), sorted(GROUPS["students"]),
                                                   GROUPS["jobs"]]
    install = gaps[0]
    assert install.count == 4 and install.questions[0] == "电视能上门安装吗"   # repeats counted, most asked first
    assert install.outcomes == {"refused": 3, "handoff": 1}
    assert install.categories == {"售后": 1}
    assert install.representative in GROUPS["install"]


def test_the_representative_is_the_question_closest_to_the_centroid():
    vectors = {"a": np.array([1.0, 0.0]), "b": np.array([0.8, 0.6]), "c": np.array([0.6, 0.8])}
    records = _records(list(vectors), outcome=Outcome.REFUSED)
    [gap] = find_gaps(records, lambda texts: np.stack([vectors[t] for t in texts]), threshold=1.0)
    assert gap.representative == "b" and gap.count == 3


def test_cluster_edge_cases_and_threshold_extremes():
    assert cluster(np.zeros((0, 4)), 0.1).tolist() == []
    assert cluster(np.ones((1, 4)), 0.1).tolist() == [0]
    rows = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.01]])
    assert cluster(rows, 0.01).tolist() == [0, 1, 0]
    assert cluster(rows, 2.0).tolist() == [0, 0, 0]
    assert find_gaps(_records(["a"], outcome=Outcome.ANSWERED), lambda t: np.ones((len(t), 2))) == []


def test_pairwise_precision_and_recall():
    # gold {0,1,2} {3}; predicted {0,1} {2,3}: 2 predicted pairs, 1 right; 3 gold pairs, 1 found
    assert pairwise_scores(["x", "x", "x", "y"], [0, 0, 1, 1]) == (0.5, pytest.approx(1 / 3))
    assert pairwise_scores(["x", "y"], [0, 1]) == (1.0, 1.0)


def test_cli_gaps_groups_with_the_project_embedder(tmp_path: Path, capsys, monkeypatch):
    vectors = _planted_vectors(GROUPS, seed=1)

    class PlantedEmbedder:
        def __init__(self, settings=None):
            pass

        def encode(self, texts, role):
            assert role == "query"
            return np.stack([vectors[t] for t in texts])

    monkeypatch.setattr("cs_rag.models.embedding.Embedder", PlantedEmbedder)
    lines = [{"question": q, "outcome": "refused"} for group in GROUPS.values() for q in group]
    path = write_jsonl(tmp_path / "log.jsonl", lines + [{"question": "退款", "outcome": "answered"}])
    assert main(["gaps", str(path), "--json", "--threshold", "0.3"]) == 0
    gaps = json.loads(capsys.readouterr().out)
    assert [g["count"] for g in gaps] == [3, 2, 1]
    assert main(["gaps", str(path), "--threshold", "0.3"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("6 unanswered of 7 questions, 3 groups (threshold 0.3)")


@pytest.mark.slow
def test_real_embedder_groups_paraphrases_at_the_default_threshold(settings):
    from cs_rag.models.embedding import Embedder

    embedder = Embedder(settings.embedding)
    planted = {"install": ["买的电视能上门安装吗", "电视到了有师傅上门装吗", "电视送货上门负责安装不"],
               "jobs": ["你们公司招不招客服", "想应聘你们的客服岗位"]}
    records = [QuestionRecord(question=q, outcome=Outcome.REFUSED) for qs in planted.values() for q in qs]
    gaps = find_gaps(records, lambda texts: embedder.encode(texts, "query"))
    groups = [set(g.questions) for g in gaps]
    assert set(planted["install"]) in groups
    assert all(not (g & set(planted["install"]) and g & set(planted["jobs"])) for g in groups)


def test_phrases_never_join_words_that_were_not_said_together():
    from cs_rag.ops.insights import QuestionRecord, hot_words
    from cs_rag.text import Tokenizer

    records = [QuestionRecord(question=q) for q in ["物流一直不更新", "物流一直不更新啊", "我要转人工", "我要转人工！"]]
    phrases = {p.term for p in hot_words(records, Tokenizer(), min_count=2).phrases}
    assert "物流一直" in phrases
    assert "物流一直更新" not in phrases and "一直更新" not in phrases and "我要人工" not in phrases
