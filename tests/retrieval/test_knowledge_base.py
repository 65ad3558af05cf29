"""Ingest into the embedded index and search it, with the real embedding model."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest

from cs_rag import KnowledgeBase
from cs_rag.retrieval.calibrate import MIN_ENTRIES
from cs_rag.config import Settings
from cs_rag.models.e5_convert import E5_MODEL_NAME
from cs_rag.errors import IndexMismatchError, InputError
from cs_rag.index.base import SearchFilter
from cs_rag.index.versions import current_version
from cs_rag.types import DocumentKind

from helpers import FAQ, write_jsonl

pytestmark = pytest.mark.slow


def test_ingest_then_search_faq_and_policy(tmp_path, knowledge_dir, settings):
    kb = KnowledgeBase(tmp_path / "index", settings)
    report = kb.ingest([knowledge_dir])
    assert sorted(report.added) == sorted([f["id"] for f in FAQ] + ["退换货政策"])
    assert report.texts_embedded == len(kb.index().rows)   # every match text once: FAQ questions,
    # each policy chunk whole and sentence by sentence
    top = kb.search("我的退款几天到账啊", k=3)[0]
    assert top.id == "f-refund" and top.kind is DocumentKind.FAQ
    assert top.scores["dense"] > 0 and top.scores["bm25"] > 0
    policy = kb.search("耳机拆封了还能退吗", k=3)
    assert policy[0].doc_id == "退换货政策"
    assert policy[0].heading_path == ["退换货政策", "不支持退货的商品"]
    english = kb.search("how can I become a gold member", k=1)[0]
    assert english.id == "f-vip"


def test_expired_entries_are_never_returned(tmp_path, knowledge_dir, settings):
    kb = KnowledgeBase(tmp_path / "index", settings)
    kb.ingest([knowledge_dir])
    ids = [h.id for h in kb.search("双11满减规则", k=10)]
    assert "f-old-promo" not in ids and ids


PROMO = """---
category: 促销活动
products: [手机, 平板]
valid_from: 2026-01-10
valid_to: 2026-02-10
owner: 运营部
---
# 年货节活动规则

## 以旧换新
年货节期间旧手机换新机额外补贴300元。
"""


def test_document_front_matter_filters_and_expires_a_document(tmp_path, knowledge_dir, settings):
    (knowledge_dir / "年货节活动规则.md").write_text(PROMO, encoding="utf-8")
    kb = KnowledgeBase(tmp_path / "index", settings)
    kb.ingest([knowledge_dir])
    during = SearchFilter(valid_on=dt.date(2026, 1, 20))
    top = kb.search("旧手机换新有补贴吗", k=3, where=during)[0]
    assert top.doc_id == "年货节活动规则" and top.category == "促销活动" and top.products == ["手机", "平板"]
    assert (top.valid_from, top.valid_to) == (dt.date(2026, 1, 10), dt.date(2026, 2, 10))  # shown, not only used
    after = {h.doc_id for h in kb.search("旧手机换新有补贴吗", k=10, where=SearchFilter(valid_on=dt.date(2026, 3, 1)))}
    assert "年货节活动规则" not in after and after  # an ended promotion's rules are never returned
    earphones = SearchFilter(valid_on=dt.date(2026, 1, 20), products={"耳机"})
    assert "年货节活动规则" not in {h.doc_id for h in kb.search("旧手机换新有补贴吗", k=10, where=earphones)}
    (knowledge_dir / "年货节活动规则.md").write_text(PROMO.replace("valid_to: 2026-02-10", "valid_to: 2月10日"),
                                                  encoding="utf-8")
    with pytest.raises(InputError, match=r"年货节活动规则.md:5 \(field 'valid_to'\): front matter"):
        kb.ingest([knowledge_dir])
    assert kb.search("旧手机换新有补贴吗", k=1, where=during)[0].doc_id == "年货节活动规则"  # index kept


def test_validity_is_checked_on_todays_date_in_the_configured_time_zone(tmp_path, knowledge_dir, settings):
    # UTC-12 and UTC+14 are 26 hours apart: their dates always differ
    west, east = "Etc/GMT+12", "Etc/GMT-14"
    last_day_in_the_west = dt.datetime.now(dt.timezone(dt.timedelta(hours=-12))).date()
    (knowledge_dir / "年货节活动规则.md").write_text(
        PROMO.replace("valid_from: 2026-01-10", "valid_from: 2000-01-01")
             .replace("valid_to: 2026-02-10", f"valid_to: {last_day_in_the_west}"), encoding="utf-8")
    KnowledgeBase(tmp_path / "index", settings).ingest([knowledge_dir])

    def found(zone: str) -> bool:
        zoned = settings.model_copy(update={"retrieval": settings.retrieval.model_copy(update={"timezone": zone})})
        return "年货节活动规则" in {h.doc_id for h in KnowledgeBase(tmp_path / "index", zoned).search("旧手机换新有补贴吗")}

    assert found(west) and not found(east)
    with pytest.raises(Exception, match="unknown time zone 'Mars/Olympus'"):
        Settings.model_validate({"retrieval": {"timezone": "Mars/Olympus"}})


def test_reingest_embeds_only_what_changed(tmp_path, knowledge_dir, settings):
    kb = KnowledgeBase(tmp_path / "index", settings)
    kb.ingest([knowledge_dir])
    again = kb.ingest([knowledge_dir])
    assert again.texts_embedded == 0 and not (again.added or again.updated or again.removed)
    assert len(again.unchanged) == len(FAQ) + 1

    changed = [dict(f) for f in FAQ if f["id"] != "f-ship"]
    changed[0]["similar_questions"] = changed[0]["similar_questions"] + ["退款到账要几天"]
    changed[1]["answer"] = "在“我的订单”里申请电子发票。"
    write_jsonl(knowledge_dir / "faq.jsonl", changed)
    report = kb.ingest([knowledge_dir])
    assert sorted(report.updated) == ["f-invoice", "f-refund"]
    assert report.removed == ["f-ship"]
    assert report.texts_embedded == 1  # only the new similar question; answers are not embedded
    assert kb.search("发票怎么申请", k=1)[0].text == "在“我的订单”里申请电子发票。"
    assert "f-ship" not in {h.id for h in kb.search("什么时候发货", k=10)}


def test_sources_outside_the_ingested_paths_are_kept(tmp_path, settings):
    a = write_jsonl(tmp_path / "a.jsonl", FAQ[:2])
    b = write_jsonl(tmp_path / "b.jsonl", FAQ[2:4])
    kb = KnowledgeBase(tmp_path / "index", settings)
    kb.ingest([a])
    report = kb.ingest([b])
    assert report.removed == [] and len(kb.index()) == 4
    write_jsonl(b, FAQ[2:3])
    assert kb.ingest([b]).removed == ["f-vip"]


def test_bad_input_keeps_the_previous_index(tmp_path, knowledge_dir, settings):
    kb = KnowledgeBase(tmp_path / "index", settings)
    kb.ingest([knowledge_dir])
    live = current_version(tmp_path / "index")
    (knowledge_dir / "broken.jsonl").write_text('{"id": "x", "question": "q", "answer": "a"}\n{oops\n',
                                                encoding="utf-8")
    with pytest.raises(InputError, match=r"broken.jsonl:2"):
        kb.ingest([knowledge_dir])
    assert current_version(tmp_path / "index") == live
    assert kb.search("退款多久到账", k=1)[0].id == "f-refund"
    report = kb.ingest([knowledge_dir], skip_bad=True)
    assert "x" in report.added and "broken.jsonl:2" in report.skipped[0].reason


def test_failure_while_writing_leaves_the_previous_version(tmp_path, knowledge_dir, settings, monkeypatch):
    from cs_rag.index.embedded import EmbeddedIndex

    index_dir = tmp_path / "index"
    kb = KnowledgeBase(index_dir, settings)
    kb.ingest([knowledge_dir])
    live = current_version(index_dir)

    def fail(self, folder):
        (folder / "manifest.json").write_text("{}", encoding="utf-8")
        raise OSError("disk full")

    monkeypatch.setattr(EmbeddedIndex, "save", fail)
    write_jsonl(knowledge_dir / "faq.jsonl", FAQ[:1])
    with pytest.raises(OSError, match="disk full"):
        kb.ingest([knowledge_dir])
    assert current_version(index_dir) == live
    assert sorted(p.name for p in index_dir.glob("v-*")) == [live.name]


def test_index_folder_holds_no_pickle(tmp_path, knowledge_dir, settings):
    KnowledgeBase(tmp_path / "index", settings).ingest([knowledge_dir])
    files = [p for p in (tmp_path / "index").rglob("*") if p.is_file()]
    assert {p.suffix for p in files} <= {"", ".json", ".jsonl", ".faiss", ".npz", ".txt"}
    for path in files:
        assert b"\x80\x04\x95" not in path.read_bytes()[:64], path  # pickle protocol 4 header


def test_another_model_or_format_is_refused(tmp_path, knowledge_dir, settings):
    index_dir = tmp_path / "index"
    KnowledgeBase(index_dir, settings).ingest([knowledge_dir])
    other = Settings.model_validate({"embedding": {"model": str(tmp_path / "my-bge")}})
    with pytest.raises(IndexMismatchError, match="built with embedding model"):
        KnowledgeBase(index_dir, other).search("退款")
    manifest = current_version(index_dir) / "manifest.json"
    data = json.loads(manifest.read_text(encoding="utf-8"))
    data["format_version"] = 99
    manifest.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(IndexMismatchError, match="format version 99"):
        KnowledgeBase(index_dir, settings).search("退款")


def test_search_on_a_missing_index_says_what_to_do(tmp_path, settings):
    with pytest.raises(IndexMismatchError, match="cs-rag ingest"):
        KnowledgeBase(tmp_path / "nothing", settings).search("退款")


ENGLISH_FAQ = [
    {"id": "en-refund", "question": "How long does a refund take?",
     "similar_questions": ["When will I get my money back?"], "answer": "Refunds arrive within 3 working days.",
     "category": "refund"},
    {"id": "en-password", "question": "How do I reset my password?",
     "similar_questions": ["I forgot my password"], "answer": "Use 'Forgot password' on the sign-in page.",
     "category": "account"},
]


def _faq_documents(entries: list[dict]):
    from cs_rag.types import Document, FaqEntry

    return [Document(id=e["id"], kind=DocumentKind.FAQ, source="faq.jsonl", file="faq.jsonl",
                     faq=FaqEntry.model_validate(e)) for e in entries]


def test_auto_model_is_english_only_below_one_percent_chinese_documents():
    from cs_rag.knowledge_base import choose_model

    english = _faq_documents(ENGLISH_FAQ * 100)
    chinese = _faq_documents(FAQ[:1])
    assert choose_model(english) == "minilm-l6"
    assert choose_model(english + chinese) == "minilm-l6"          # 1 of 201 documents: 0.5%
    assert choose_model(english[:50] + chinese) == "e5-small"      # 1 of 51: 2%
    assert choose_model(chinese) == "e5-small" and choose_model([]) == "e5-small"


def test_auto_model_follows_the_knowledge_language_and_an_explicit_model_wins(tmp_path, settings):
    english = tmp_path / "english" / "faq.jsonl"
    english.parent.mkdir()
    write_jsonl(english, ENGLISH_FAQ)
    kb = KnowledgeBase(tmp_path / "en-index", settings)
    kb.ingest([english])
    assert kb.index().manifest.embedding_model == "all-MiniLM-L6-v2"
    assert kb.search("I want my money back", k=1)[0].doc_id == "en-refund"
    reopened = KnowledgeBase(tmp_path / "en-index", settings)  # search uses the index's own model
    assert reopened.search("can't log in, forgot my password", k=1)[0].doc_id == "en-password"
    chinese = tmp_path / "chinese" / "faq.jsonl"
    chinese.parent.mkdir()
    write_jsonl(chinese, FAQ)
    zh = KnowledgeBase(tmp_path / "zh-index", settings)
    zh.ingest([chinese])
    assert zh.index().manifest.embedding_model != "all-MiniLM-L6-v2"
    pinned = Settings.model_validate({"embedding": {"model": "e5-small"}})
    kept = KnowledgeBase(tmp_path / "en-e5-index", pinned)
    kept.ingest([english])
    assert kept.index().manifest.embedding_model == zh.index().manifest.embedding_model


def test_a_small_knowledge_base_is_warned_when_the_shipped_calibration_is_another_models(
        tmp_path, settings, caplog):
    english = write_jsonl(tmp_path / "en.jsonl", ENGLISH_FAQ)  # auto: MiniLM; shipped: e5-small
    with caplog.at_level(logging.WARNING, logger="cs_rag.knowledge_base"):
        KnowledgeBase(tmp_path / "en-index", settings).ingest([english])
    warnings = [r.getMessage() for r in caplog.records if "calibrat" in r.getMessage()]
    assert len(warnings) == 1
    assert f"for the embedding model {E5_MODEL_NAME}, not this index's all-MiniLM-L6-v2" in warnings[0]
    assert "unreliable" in warnings[0] and f"at least {MIN_ENTRIES} FAQ entries similar questions" in warnings[0]
    caplog.clear()
    chinese = write_jsonl(tmp_path / "zh.jsonl", FAQ)  # as small, but e5-small as the shipped one
    with caplog.at_level(logging.WARNING, logger="cs_rag.knowledge_base"):
        KnowledgeBase(tmp_path / "zh-index", settings).ingest([chinese])
    assert not [r for r in caplog.records if "calibrat" in r.getMessage()]


ANSWERS_ON = Settings.model_validate({"index": {"faq_answers": True}})


def test_an_faq_entry_is_also_found_by_its_answer_and_returned_once(tmp_path, knowledge_dir):
    kb = KnowledgeBase(tmp_path / "index", ANSWERS_ON)
    report = kb.ingest([knowledge_dir])
    # every question, every answer and every policy chunk embedded once
    assert report.texts_embedded == len(kb.index().rows)   # every match text once: FAQ questions,
    # each policy chunk whole and sentence by sentence
    answer_chunks = [c for c in kb.index().chunks if c.answer_field]
    assert {c.id for c in answer_chunks} == {f["id"] + "#answer" for f in FAQ}
    assert all(c.match_texts == [c.text] and c.kind is DocumentKind.FAQ for c in answer_chunks)
    hits = kb.search("原路退回", k=10)  # words of the answer only
    assert hits[0].id == "f-refund" and hits[0].matched_text == FAQ[0]["answer"]
    assert [h.doc_id for h in hits].count("f-refund") == 1


def test_switching_faq_answers_off_and_on_reindexes_only_the_answers(tmp_path, knowledge_dir):
    index_dir = tmp_path / "index"
    off = Settings.model_validate({"index": {"faq_answers": False}})
    first = KnowledgeBase(index_dir, off).ingest([knowledge_dir])
    assert not any(c.answer_field for c in KnowledgeBase(index_dir, off).index().chunks)
    on = KnowledgeBase(index_dir, ANSWERS_ON).ingest([knowledge_dir])
    assert sorted(on.updated) == sorted(f["id"] for f in FAQ) and on.texts_embedded == len(FAQ)
    assert on.chunks == first.chunks + len(FAQ)
    again = KnowledgeBase(index_dir, off).ingest([knowledge_dir])
    assert again.texts_embedded == 0 and again.chunks == first.chunks


def test_changed_chunking_settings_rechunk_unchanged_documents(tmp_path, knowledge_dir, settings):
    kb = KnowledgeBase(tmp_path / "index", settings.model_copy(update={
        "chunking": settings.chunking.model_copy(update={"sentence_match_texts": False})}))
    kb.ingest([knowledge_dir])
    whole = [c.match_texts for c in kb.index().chunks if c.doc_id == "退换货政策"]
    assert all(len(texts) == 1 for texts in whole)
    again = KnowledgeBase(tmp_path / "index", settings).ingest([knowledge_dir])
    assert again.updated == ["退换货政策"] and "f-refund" in again.unchanged
    by_sentence = [c.match_texts for c in KnowledgeBase(tmp_path / "index", settings).index().chunks
                   if c.doc_id == "退换货政策"]
    assert any(len(texts) > 1 for texts in by_sentence)
    assert KnowledgeBase(tmp_path / "index", settings).ingest([knowledge_dir]).updated == []
