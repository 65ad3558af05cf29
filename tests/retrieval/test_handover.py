"""Document hand-over: an FAQ entry that refers the reader to a document yields first place to
that document's chunk when the chunk covers the question about as well."""

from __future__ import annotations

from cs_rag.retrieval.handover import handover, referenced_documents
from cs_rag.types import DocumentKind, Hit


def _faq(entry: str, answer: str) -> Hit:
    return Hit(id=entry, doc_id=entry, score=0.9, source="faq.jsonl", kind=DocumentKind.FAQ, text=answer,
               question="一般几天能送到")


def _chunk(doc: str, n: int, title: str = "") -> Hit:
    return Hit(id=f"{doc}#{n}", doc_id=doc, score=0.8, source=f"policies/{doc}.md", kind=DocumentKind.POLICY,
               text="新疆、西藏、青海：出库后一般5-8天送达。", heading_path=[title or doc])


REFERS = _faq("faq-logistics-002", "其他地区一般1-5天送达。各地区详细时效可查看《配送说明》。")


def test_the_names_an_answer_refers_to_are_read_from_book_title_marks():
    assert referenced_documents("标准见《配送说明》，完整规则请查看《双11促销活动规则》。") == {"配送说明", "双11促销活动规则"}
    assert referenced_documents("没有书名号") == set()


def test_the_referred_documents_chunk_takes_first_place_when_it_covers_the_question():
    hits = [REFERS, _faq("faq-logistics-003", "订单实付满99元免运费。"), _chunk("配送说明", 3)]
    assert handover(hits, [0.4, 0.5, 0.1]) == 2
    assert handover(hits, [0.1, 0.5, 0.3]) == 2      # within the margin: the detail lives there
    assert handover(hits, [0.1, 0.5, 0.35]) is None  # it leaves far more of the question uncovered


def test_a_document_is_recognised_by_its_title_too():
    hits = [REFERS, _chunk("shipping", 2, title="闪电优选配送说明")]
    assert handover(hits, [0.3, 0.3]) == 1


def test_no_hand_over_without_a_reference_to_that_document_or_beyond_the_first_four():
    plain = _faq("faq-logistics-002", "其他地区一般1-5天送达。")
    assert handover([plain, _chunk("配送说明", 3)], [0.5, 0.0]) is None
    assert handover([REFERS, _chunk("退换货政策", 1)], [0.5, 0.0]) is None
    far = [REFERS, *[_faq(f"faq-x-{i}", "无关") for i in range(3)], _chunk("配送说明", 3)]
    assert handover(far, [0.5, 0.9, 0.9, 0.9, 0.0]) is None
    # a document's chunk on top stays there
    assert handover([_chunk("配送说明", 3), REFERS], [0.5, 0.0]) is None
