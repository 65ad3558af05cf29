"""wrong_info with the real retrieval over helpers' small knowledge (builds an index: slow)."""

from __future__ import annotations

import pytest

from cs_rag import KnowledgeBase
from cs_rag.qa import Inspector

from conftest import chat

pytestmark = pytest.mark.slow


def test_a_wrong_refund_time_is_found_and_a_right_one_is_not(small_index, settings):
    inspector = Inspector(settings, knowledge_base=KnowledgeBase(small_index, settings))
    wrong, right = inspector.inspect([
        chat([("customer", 0, "退款多久到账"), ("agent", 10, "您好，退款审核通过后10个工作日原路退回，祝您生活愉快")]),
        chat([("customer", 0, "退款多久到账"), ("agent", 10, "您好，退款审核通过后3-5个工作日原路退回，祝您生活愉快")]),
    ])
    assert [(f.code.value, f.turn) for f in wrong.findings] == [("wrong_info", 1)]
    assert "3-5个工作日" in wrong.findings[0].evidence
    assert right.findings == []
