"""Hits as records for other frameworks: content, title, a score that never rises down the
ranking, flat JSON metadata."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from cs_rag.retrieval.records import records
from cs_rag.types import DocumentKind, Hit, Retrieval


def _hit(id: str, confidence: float | None, **fields) -> Hit:
    base = {"doc_id": id, "score": 0.5, "source": "faq.jsonl", "kind": DocumentKind.FAQ, "text": f"{id} text"}
    return Hit(id=id, confidence=confidence, **{**base, **fields})


def test_scores_are_the_calibrated_confidence_capped_by_the_record_above():
    found = Retrieval(query="q", confidence=0.9, hits=[_hit("a", 0.9), _hit("b", 0.2), _hit("c", 0.35),
                                                       _hit("d", 0.012345)])
    assert [r.score for r in records(found)] == [0.9, 0.2, 0.2, 0.0123]
    assert [r.metadata["confidence"] for r in records(found)] == [0.9, 0.2, 0.35, 0.0123]


def test_faq_entries_and_chunks_have_their_content_and_title():
    faq = _hit("f-refund", 0.8, question="退款多久到账", text="3-5个工作日。", category="售后退款",
               products=["手机"], valid_to=dt.date(2030, 1, 31))
    chunk = _hit("退换货政策#0", 0.1, doc_id="退换货政策", kind=DocumentKind.POLICY, text="签收后七天内……",
                 heading_path=["退换货政策", "七天无理由退货"], source="policies/退换货政策.md")
    bare = _hit("notes#0", 0.05, kind=DocumentKind.PASSAGE, text="", source="notes.txt")
    first, second, third = records(Retrieval(query="q", hits=[faq, chunk, bare]))
    assert (first.content, first.title) == ("3-5个工作日。", "退款多久到账")
    assert first.metadata == {
        "id": "f-refund", "doc_id": "f-refund", "source": "faq.jsonl", "kind": "faq", "category": "售后退款",
        "products": ["手机"], "valid_from": None, "valid_to": "2030-01-31", "title": "退款多久到账",
        "heading_path": [], "score": 0.8, "confidence": 0.8}
    assert (second.content, second.title) == ("签收后七天内……", "退换货政策 > 七天无理由退货")
    assert second.metadata["kind"] == "policy" and second.metadata["doc_id"] == "退换货政策"
    assert (third.content, third.title) == ("notes.txt", "notes.txt")   # never an empty content
    json.dumps([r.model_dump() for r in (first, second, third)])   # plain JSON throughout


def test_no_hits_no_records_and_a_hit_without_confidence_is_refused():
    assert records(Retrieval(query="q", hits=[])) == []
    with pytest.raises(ValueError, match="no confidence"):
        records(Retrieval(query="q", hits=[_hit("a", None)]))
