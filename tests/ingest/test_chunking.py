"""Sentence splitting and chunking: budgets, overlap, nothing lost, hard cuts, determinism."""

import re

import pytest

from cs_rag.ingest.chunking import chunk_sections, split_sentences
from cs_rag.text import budget_length
from cs_rag.types import Section

RETURNS = (
    "自签收次日零点起7天内，您可以申请七天无理由退货。"
    "商品应保持完好，配件、赠品及原包装齐全。"
    "手机拆封但未激活的，仍可无理由退货！"
    "激活后仅在出现质量问题时办理退换。"
    "参与满赠活动的商品退货时，须将赠品一并退回；"
    "赠品缺失的，按标注价值从退款中扣除。"
    "部分退货后剩余商品不足99元的，扣除8元运费？"
    "闪电PLUS会员不扣运费。"
)


def sentences_without_overlap(chunks):
    """Every chunk's sentences with the sentences it repeats from its predecessor removed."""
    kept = []
    previous: list[str] = []
    for chunk in chunks:
        current = split_sentences(chunk.text)
        repeated = max((k for k in range(len(previous))
                        if previous[len(previous) - k:] == current[:k]), default=0)
        kept.extend(current[repeated:])
        previous = current
    return kept


# --- split_sentences ------------------------------------------------------------------------

def test_split_keeps_punctuation_and_closing_quotes():
    assert split_sentences("他说：“好。”然后离开了……真的吗？！是的。") == [
        "他说：“好。”", "然后离开了……", "真的吗？！", "是的。"]


def test_split_english_needs_space_or_end_after_the_mark():
    assert split_sentences("Fee is 3.5 yuan. See www.example.com now! OK") == [
        "Fee is 3.5 yuan.", "See www.example.com now!", "OK"]


def test_split_at_line_breaks_without_list_numbers_becoming_sentences():
    assert split_sentences("退货流程\n1. 登录账户\n2. 申请售后；上传照片\n\n  3. 等待审核  ") == [
        "退货流程", "1. 登录账户", "2. 申请售后；", "上传照片", "3. 等待审核"]


def test_split_loses_only_whitespace():
    text = " 第一句。 第二句！\n「第三句？」尾巴 (note.) end; last "
    sentences = split_sentences(text)
    assert sentences[2:] == ["「第三句？」", "尾巴 (note.)", "end;", "last"]
    assert "".join("".join(sentences).split()) == "".join(text.split())
    position = 0
    for sentence in sentences:
        position = text.index(sentence, position) + len(sentence)
    assert split_sentences("") == [] and split_sentences(" \n\t") == []


# --- chunk_sections -------------------------------------------------------------------------

def test_budget_respected_and_overlap_present():
    sections = [Section(heading_path=["退换货政策", "七天无理由退货"], text=RETURNS)]
    chunks = chunk_sections(sections, max_tokens=50, overlap_tokens=20)
    assert len(chunks) >= 3
    assert all(budget_length(c.text) <= 50 for c in chunks)
    for before, after in zip(chunks, chunks[1:]):
        last = split_sentences(before.text)[-1]
        assert after.text.startswith(last), "a chunk repeats its predecessor's last sentence"
        repeated = len(after.text) - len(after.text.removeprefix(last))
        assert budget_length(after.text[:repeated]) <= 20


def test_no_sentence_lost_and_order_kept():
    sections = [Section(heading_path=["退换货政策"], text=RETURNS)]
    for max_tokens, overlap in [(30, 0), (40, 10), (60, 25), (500, 50)]:
        chunks = chunk_sections(sections, max_tokens, overlap)
        assert sentences_without_overlap(chunks) == split_sentences(RETURNS)


def test_section_that_fits_is_one_chunk_with_its_text():
    section = Section(heading_path=["运费"], text="满99元包邮。\n不满99元收取8元运费。")
    assert chunk_sections([section], 300, 40) == [section]


def test_chunks_never_span_sections_and_keep_heading_paths():
    sections = [Section(heading_path=["配送说明", "运费"], text="满99元包邮。"),
                Section(heading_path=["配送说明", "时效"], text="省会城市1-2天送达。"),
                Section(heading_path=[], text=RETURNS)]
    chunks = chunk_sections(sections, 40, 10)
    assert [c.heading_path for c in chunks[:2]] == [["配送说明", "运费"], ["配送说明", "时效"]]
    assert [c.text for c in chunks[:2]] == ["满99元包邮。", "省会城市1-2天送达。"]
    assert all(c.heading_path == [] for c in chunks[2:]) and len(chunks) > 3
    chunks[0].heading_path.append("changed")
    assert sections[0].heading_path == ["配送说明", "运费"]


def test_long_sentence_is_cut_hard_between_words():
    sentence = "本店" + "、".join(f"iPhone{n} 保修 3.5 年" for n in range(12)) + "。"
    chunks = chunk_sections([Section(text=sentence)], max_tokens=10, overlap_tokens=0)
    assert len(chunks) > 1
    assert all(budget_length(c.text) <= 10 for c in chunks)
    assert "".join(c.text for c in chunks).replace(" ", "") == sentence.replace(" ", "")
    words = [w for c in chunks for w in re.findall(r"[A-Za-z0-9.]+", c.text)]
    assert words == re.findall(r"[A-Za-z0-9.]+", sentence), "a word or number was cut"


def test_long_chinese_sentence_is_cut_at_the_budget():
    sentence = "退" * 95 + "。"
    chunks = chunk_sections([Section(text=sentence)], max_tokens=30, overlap_tokens=5)
    assert [budget_length(c.text) for c in chunks] == [30, 30, 30, 5]
    assert "".join(c.text for c in chunks) == sentence


def test_overlap_gives_way_to_a_long_next_sentence():
    text = "短句一。短句二。" + "长" * 28 + "。"
    chunks = chunk_sections([Section(text=text)], max_tokens=30, overlap_tokens=10)
    assert [c.text for c in chunks] == ["短句一。短句二。", "长" * 28 + "。"]


def test_deterministic():
    sections = [Section(heading_path=["甲"], text=RETURNS),
                Section(heading_path=["乙"], text=RETURNS)]
    first = [c.model_dump() for c in chunk_sections(sections, 35, 12)]
    assert [c.model_dump() for c in chunk_sections(sections, 35, 12)] == first


def test_empty_sections_give_no_chunks():
    assert chunk_sections([Section(text=""), Section(text="  \n ")], 50, 10) == []
    assert chunk_sections([], 50, 10) == []


@pytest.mark.parametrize("max_tokens, overlap", [(50, 50), (50, 60), (50, -1), (0, 0)])
def test_invalid_budgets_raise(max_tokens, overlap):
    with pytest.raises(ValueError):
        chunk_sections([Section(text=RETURNS)], max_tokens, overlap)


def test_policy_chunks_are_also_matched_sentence_by_sentence():
    from cs_rag.config import ChunkingSettings
    from cs_rag.ingest.chunking import document_chunks
    from cs_rag.types import Document, DocumentKind, Section

    text = "签收后七天内可申请退货。退货运费由买家承担。拆封的耳机不支持退货。"
    sections = [Section(heading_path=["退换货政策", "七天无理由"], text=text)]
    policy = Document(id="p", kind=DocumentKind.POLICY, source="p.md", sections=sections)
    chunk = document_chunks(policy, ChunkingSettings())[0]
    assert chunk.match_texts == ["退换货政策\n七天无理由\n" + text, "签收后七天内可申请退货。",
                                 "退货运费由买家承担。", "拆封的耳机不支持退货。"]
    off = document_chunks(policy, ChunkingSettings(sentence_match_texts=False))[0]
    assert off.match_texts == [chunk.match_texts[0]]
    passage = Document(id="q", kind=DocumentKind.PASSAGE, source="q.jsonl", sections=sections)
    assert len(document_chunks(passage, ChunkingSettings())[0].match_texts) == 1
