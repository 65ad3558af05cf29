"""The cs-rag command line, run as a real process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from cs_rag.index.versions import current_version

from helpers import SAMPLE_CONFIG, write_jsonl

pytestmark = pytest.mark.slow


def cs_rag(*args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "cs_rag.cli", *args], capture_output=True,
                            text=True, timeout=600, **kwargs)
    if check and result.returncode != 0:
        raise AssertionError(f"cs-rag {' '.join(args)} exited {result.returncode}: {result.stderr}")
    return result


def test_help_on_every_command():
    for command in ([], ["ingest"], ["search"], ["ask"], ["chat"]):
        out = cs_rag(*command, "--help").stdout
        assert "usage: cs-rag" in out


def test_ingest_and_search_json(tmp_path, knowledge_dir):
    index = str(tmp_path / "index")
    out = cs_rag("ingest", str(knowledge_dir), "--index", index).stdout
    assert "added 6" in out and "texts embedded" in out
    hits = json.loads(cs_rag("search", "退款要几天才到账", "--index", index, "--json", "-k", "3").stdout)
    assert isinstance(hits, list) and len(hits) == 3
    assert {"id", "score", "source"} <= set(hits[0]) and hits[0]["id"] == "f-refund"
    assert hits[0]["source"].endswith("faq.jsonl")
    text = cs_rag("search", "耳机拆封能退吗", "--index", index).stdout
    assert "退换货政策 > 不支持退货的商品" in text
    policy = json.loads(cs_rag("search", "退款要几天才到账", "--index", index, "--json", "--kind", "policy").stdout)
    assert policy and {h["kind"] for h in policy} == {"policy"}
    both = json.loads(cs_rag("search", "退款要几天才到账", "--index", index, "--json",
                             "--kind", "faq", "--category", "支付").stdout)
    assert both and {(h["kind"], h["category"]) for h in both} == {("faq", "支付")}
    phone = json.loads(cs_rag("search", "怎么开发票", "--index", index, "--json", "--product", "手机").stdout)
    assert phone[0]["id"] == "f-invoice" and phone[0]["products"] == ["手机", "笔记本"]
    earphones = json.loads(cs_rag("search", "怎么开发票", "--index", index, "--json", "--product", "耳机").stdout)
    assert earphones and "f-invoice" not in {h["id"] for h in earphones}  # about other products only
    blank = cs_rag("search", "怎么开发票", "--index", index, "--product", " ", check=False)
    assert blank.returncode == 2 and "--product: a name cannot be blank" in blank.stderr
    laptop = json.loads(cs_rag("ask", "怎么开发票", "--index", index, "--json", "--product", "笔记本").stdout)
    assert laptop["citations"][0]["id"] == "f-invoice"
    fridge = json.loads(cs_rag("ask", "怎么开发票", "--index", index, "--json", "--product", "冰箱").stdout)
    assert "f-invoice" not in {h["id"] for h in fridge["trace"]["retrieval"]["hits"]}


def test_bad_input_exits_non_zero_naming_the_file(tmp_path, knowledge_dir):
    index = str(tmp_path / "index")
    cs_rag("ingest", str(knowledge_dir), "--index", index)
    (knowledge_dir / "bad.csv").write_text("标准问题,分类\n退款,售后\n", encoding="utf-8")
    result = cs_rag("ingest", str(knowledge_dir), "--index", index, check=False)
    assert result.returncode != 0
    assert "bad.csv" in result.stderr and "答案/answer" in result.stderr
    skipped = cs_rag("ingest", str(knowledge_dir), "--index", index, "--skip-bad").stdout
    assert "skipped: " in skipped and "bad.csv" in skipped


def test_killed_ingest_leaves_the_previous_index_intact(tmp_path, knowledge_dir):
    index = tmp_path / "index"
    cs_rag("ingest", str(knowledge_dir), "--index", str(index))
    live = current_version(index)
    before = cs_rag("search", "退款多久到账", "--index", str(index), "--json").stdout
    big = [{"id": f"gen-{i}", "question": f"第{i}号商品的保修期是多久", "answer": f"{i}号商品保修一年。",
            "similar_questions": [f"{i}号商品保修几年", f"{i}号坏了能修吗"]} for i in range(1500)]
    write_jsonl(knowledge_dir / "big.jsonl", big)
    process = subprocess.Popen([sys.executable, "-m", "cs_rag.cli", "ingest", str(knowledge_dir),
                                "--index", str(index)], stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        seen = ""
        while "embedding" not in seen:  # the progress bar shows the ingest is mid-way
            assert time.monotonic() < deadline and process.poll() is None, seen
            seen += os.read(process.stderr.fileno(), 4096).decode("utf-8", "replace")
        time.sleep(2)
        assert process.poll() is None, "ingest finished before it could be killed"
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert current_version(index) == live
    assert cs_rag("search", "退款多久到账", "--index", str(index), "--json").stdout == before
    (knowledge_dir / "big.jsonl").unlink()
    report = json.loads(cs_rag("ingest", str(knowledge_dir), "--index", str(index), "--json").stdout)
    assert report["texts_embedded"] == 0 and len(report["unchanged"]) == 6


@pytest.fixture(scope="module")
def small_index(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp("cli-answer")
    knowledge = root / "knowledge"
    knowledge.mkdir()
    from helpers import FAQ
    write_jsonl(knowledge / "faq.jsonl", FAQ)
    index = str(root / "index")
    cs_rag("ingest", str(knowledge), "--index", index)
    return index


def test_ask_json_has_the_promised_fields(small_index):
    answer = json.loads(cs_rag("ask", "退款几天能到账", "--index", small_index, "--json").stdout)
    assert {"text", "outcome", "citations", "confidence", "flags", "routing"} <= set(answer)
    assert answer["outcome"] == "answered" and answer["routing"] == "send"
    assert answer["citations"][0]["id"] == "f-refund" and answer["citations"][0]["source"].endswith("faq.jsonl")
    assert "3-5个工作日" in answer["text"]


def test_ask_with_history_and_customer_files(tmp_path, small_index):
    history = write_jsonl(tmp_path / "history.jsonl", [
        {"role": "user", "content": "下单后多久发货"}, {"role": "assistant", "content": "现货24小时内发货。"}])
    customer = tmp_path / "customer.json"
    customer.write_text(json.dumps({"level": "VIP", "tags": ["老客户"]}), encoding="utf-8")
    answer = json.loads(cs_rag("--config", str(SAMPLE_CONFIG), "ask", "那退款呢？", "--index", small_index,
                               "--json", "--history", str(history), "--customer", str(customer)).stdout)
    assert answer["trace"]["rewrite"]["question"] == "下单后多久发货，退款呢？"
    assert "400-820-6699" in answer["text"]   # the sample company's VIP line, from its settings


def test_ask_bad_history_names_the_file_and_line(tmp_path, small_index):
    history = tmp_path / "history.jsonl"
    history.write_text('{"role": "user", "content": "你好"}\n{"role": "robot", "content": "x"}\n',
                       encoding="utf-8")
    result = cs_rag("ask", "退款几天到", "--index", small_index, "--history", str(history), check=False)
    assert result.returncode == 1 and f"{history}:2" in result.stderr and "role" in result.stderr


def test_chat_keeps_history_between_questions(small_index):
    # "那退款呢？" would do, but the shipped message model reads it as angry (a known false
    # alarm, tests/guard/test_understanding.py) and the chat hands off
    result = cs_rag("chat", "--index", small_index, input="下单后多久发货\n那发票呢\n/quit\n")
    assert "现货商品24小时内发货" in result.stdout
    assert "understood as: 下单后多久发货，发票呢" in result.stdout
    assert "申请发票" in result.stdout


def test_ingest_asked_to_write_similar_questions_without_a_chat_model_stops_and_says_so(tmp_path, knowledge_dir):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CS_RAG_LLM_")}
    result = cs_rag("ingest", str(knowledge_dir), "--index", str(tmp_path / "index"), check=False,
                    env={**env, "CS_RAG_INDEX_GENERATED_QUESTIONS": "2"})
    assert result.returncode == 1 and "index.generated_questions" in result.stderr
    assert "[llm] model" in result.stderr and not (tmp_path / "index").exists()
