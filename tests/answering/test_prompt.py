"""Prompt templates from files, their checks, phrases, and the token-budget trim."""

import os
import shutil
from pathlib import Path

import pytest

from cs_rag.errors import ConfigError
from cs_rag.answering.prompt import (USES, PromptLibrary, count_tokens, fit_answer_prompt, load_template,
                                    truncate_tokens)
from cs_rag.config import default_prompts_dir
from cs_rag.text import detect_language
from cs_rag.types import Customer, Turn

EVIDENCE = ["因质量问题退货，运费由闪电优选承担，可预约免费上门取件。" * 4,
            "七天无理由退货的商品需保持完好，退货运费由顾客承担。" * 3,
            "新疆、西藏地区的运费标准另行计算。" * 6]
HISTORY = [Turn(role="user", content="我想退货"), Turn(role="assistant", content="好的，请问是什么原因呢？"),
           Turn(role="user", content="衣服尺码不合适"), Turn(role="assistant", content="可以申请七天无理由退货。")]


@pytest.fixture(scope="module")
def library() -> PromptLibrary:
    return PromptLibrary()


def _prompt_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "prompts"
    shutil.copytree(default_prompts_dir(), folder)
    return folder


def test_every_shipped_template_loads_with_four_parts(library):
    for language in ("zh", "en"):
        for use in USES:
            template = library.template(use, language)
            assert list(template.parts) == ["role", "task", "constraints", "output"]
            assert all(template.parts.values())
            assert template.placeholders() <= USES[use]
    assert "客服" in library.template("answer", "zh").parts["role"]


def test_unknown_placeholder_fails_naming_file_and_name(tmp_path):
    path = tmp_path / "answer.md"
    path.write_text("## role\n客服\n## task\n{question} {order_status}\n## constraints\n无\n## output\n正文\n",
                    encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_template(path, "answer", "zh")
    assert str(path) in str(err.value) and "{order_status}" in str(err.value)


def test_attribute_access_in_placeholder_is_refused(tmp_path):
    path = tmp_path / "answer.md"
    path.write_text("## role\nr\n## task\n{question.__class__}\n## constraints\nc\n## output\no\n",
                    encoding="utf-8")
    with pytest.raises(ConfigError, match="plain name"):
        load_template(path, "answer", "zh")


def test_missing_or_misordered_sections_fail(tmp_path):
    path = tmp_path / "clarify.md"
    path.write_text("## task\n{question}\n## role\nr\n## output\no\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="in that order") as error:
        load_template(path, "clarify", "zh")
    assert str(error.value).startswith(f"{path}: needs the sections") and error.value.source == str(path)


def test_library_reloads_an_edited_template(tmp_path):
    folder = _prompt_copy(tmp_path)
    library = PromptLibrary(folder)
    path = folder / "zh" / "answer.md"
    path.write_text(path.read_text(encoding="utf-8").replace("的专业客服专员", "的测试客服小闪"),
                    encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert "测试客服小闪" in library.template("answer", "zh").parts["role"]


def test_broken_edit_raises_and_names_the_file(tmp_path):
    folder = _prompt_copy(tmp_path)
    library = PromptLibrary(folder)
    path = folder / "en" / "rewrite.md"
    path.write_text(path.read_text(encoding="utf-8") + "\n{secret}\n", encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    with pytest.raises(ConfigError, match="rewrite.md"):
        library.template("rewrite", "en")


def test_render_fills_every_part_and_splits_system_and_user(library):
    messages = library.template("answer", "zh").render(
        question="运费谁出", evidence="[1] 运费规则", history="（无）", customer="等级: VIP")
    assert [m["role"] for m in messages] == ["system", "user"]
    assert "等级: VIP" in messages[0]["content"] and "运费谁出" in messages[1]["content"]
    assert "{" not in messages[0]["content"] + messages[1]["content"]


def _fit(library, budget, evidence=EVIDENCE, history=HISTORY, customer=Customer(level="PLUS")):
    return fit_answer_prompt(library.template("answer", "zh"), library.phrases("zh"), "那运费呢？",
                             evidence, history, customer, budget)


def _tokens(messages) -> int:
    return sum(count_tokens(m["content"]) for m in messages)


def test_trim_never_exceeds_budget_and_follows_priority(library):
    previous = None
    for budget in range(420, 1200, 60):
        fitted = _fit(library, budget)
        assert fitted.tokens <= budget and _tokens(fitted.messages) <= budget
        assert fitted.evidence_used >= 1
        if previous is not None:  # a larger budget never keeps less evidence
            assert fitted.evidence_used >= previous.evidence_used
        previous = fitted
    roomy = _fit(library, 5000)
    assert (roomy.evidence_used, roomy.history_used, roomy.customer_included) == (3, 4, True)


def test_trim_drops_older_history_before_lower_evidence(library):
    full = _fit(library, 5000).tokens
    tight = _fit(library, full - 10)
    assert tight.evidence_used == 3 and 1 <= tight.history_used < 4
    user = tight.messages[1]["content"]
    assert "我想退货" not in user and "可以申请七天无理由退货" in user


def test_trim_cuts_a_long_first_item_and_keeps_it_numbered(library):
    fitted = _fit(library, 450, evidence=["退货运费规则。" * 400])
    assert fitted.evidence_cut and fitted.evidence_used == 1 and fitted.tokens <= 450
    assert "[1] 退货运费规则" in fitted.messages[1]["content"]


def test_trim_is_deterministic(library):
    assert _fit(library, 700).messages == _fit(library, 700).messages


def test_budget_too_small_for_the_template_is_a_config_error(library):
    with pytest.raises(ConfigError, match="llm.prompt_budget"):
        _fit(library, 50)


def test_truncate_and_language_helpers():
    text = "闪电优选七天无理由退货"
    assert truncate_tokens(text, 1000) == text
    cut = truncate_tokens(text, 3)
    assert text.startswith(cut) and count_tokens(cut) <= 3 and "\ufffd" not in cut
    assert detect_language("那运费呢？") == "zh" and detect_language("Where is my parcel?") == "en"


@pytest.mark.parametrize("use", ["verify", "similar"])
def test_a_folder_copied_before_a_later_use_existed_loads_the_shipped_template(tmp_path, use):
    folder = _prompt_copy(tmp_path)
    for language in ("zh", "en"):
        (folder / language / f"{use}.md").unlink()
    library = PromptLibrary(folder)
    assert library.template(use, "zh").path == default_prompts_dir() / "zh" / f"{use}.md"
    (folder / "zh" / "rewrite.md").unlink()
    with pytest.raises(ConfigError, match="prompt file missing") as caught:
        PromptLibrary(folder)
    assert use not in str(caught.value)
