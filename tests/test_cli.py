"""The cs-rag command line, run as a real process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cs_rag.index.versions import current_version

from conftest import write_jsonl

pytestmark = pytest.mark.slow


def cs_rag(*args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "cs_rag.cli", *args], capture_output=True,
                            text=True, timeout=600, **kwargs)
    if check and result.returncode != 0:
        raise AssertionError(f"cs-rag {' '.join(args)} exited {result.returncode}: {result.stderr}")
    return result


def test_help_on_every_command():
    for command in ([], ["ingest"], ["search"]):
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
