"""The evidence reader: its file format (no pickle, bad files named), what it reads, and the
shipped model telling an answered question from a near miss (real model)."""

from __future__ import annotations

import numpy as np
import pytest

from cs_rag.models.reader import (SHIPPED, EvidenceReader, evidence_text, hit_evidence, read_weights,
                                  write_weights)
from cs_rag.types import DocumentKind, Hit


def test_a_reader_file_round_trips_as_float16_safetensors_with_its_metadata(tmp_path):
    path = tmp_path / "reader.safetensors"
    write_weights(path, {"head.weight": np.ones((1, 4), dtype=np.float32)}, {"layers": 12, "max_length": 192})
    tensors, meta = read_weights(path)
    assert tensors["head.weight"].dtype == np.float16 and tensors["head.weight"].shape == (1, 4)
    assert meta == {"layers": "12", "max_length": "192"}


def test_a_file_that_is_not_a_reader_is_named_in_the_error(tmp_path):
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a safetensors file")
    with pytest.raises(ValueError, match="junk.safetensors"):
        read_weights(junk)
    bare = tmp_path / "bare.safetensors"
    write_weights(bare, {"head.bias": np.zeros(1, dtype=np.float32)}, {"layers": 12})
    with pytest.raises(ValueError, match="bare.safetensors.*max_length"):
        read_weights(bare)


def test_the_reader_reads_an_faq_entry_as_question_and_answer_and_a_passage_under_its_headings():
    faq = Hit(id="f1", doc_id="f1", score=1.0, source="faq.jsonl", kind=DocumentKind.FAQ,
              text="微信1-3个工作日到账。", question="退款多久到账")
    passage = Hit(id="p#1", doc_id="p", score=1.0, source="p.md", kind=DocumentKind.POLICY,
                  text="偏远地区加收10元。", heading_path=["配送说明", "运费"])
    assert hit_evidence(faq) == "passage: 退款多久到账\n微信1-3个工作日到账。"
    assert hit_evidence(passage) == "passage: 配送说明 / 运费\n偏远地区加收10元。"
    assert evidence_text(None, " 正文 ") == "passage: 正文"


@pytest.mark.slow
def test_the_shipped_reader_tells_an_answered_question_from_a_near_miss_on_the_same_text():
    """Written for this test (no training or evaluation text): the entry gives refund times by
    payment method; one question asks one of them, the other asks a fee the text never states."""
    assert SHIPPED.is_file()
    reader = EvidenceReader()
    entry = evidence_text("退款多久能到账", "退款审核通过后原路退回：微信和支付宝1-3个工作日到账，"
                                      "银行卡3-7个工作日到账，节假日顺延。")
    answered, near_miss = (float(reader.scores(q, [entry])[0])
                           for q in ("退到银行卡要等几天啊", "退款的时候要扣手续费吗 扣多少"))
    assert answered > 0.5 > near_miss
    assert reader.scores("随便问问", []).shape == (0,)


@pytest.mark.slow
def test_a_question_longer_than_the_reader_reads_is_cut_not_an_error():
    reader = EvidenceReader()
    rambling = "我上个月买的东西到现在都没解决，" * 30 + "退款到底多久能到账"
    score = reader.scores(rambling, [evidence_text("退款多久能到账", "微信1-3个工作日到账。")])
    assert score.shape == (1,) and 0.0 <= float(score[0]) <= 1.0


def test_reader_weights_that_cannot_be_read_fail_at_first_use_naming_the_setting_and_file(tmp_path):
    from cs_rag.errors import EmbeddingError

    reader = EvidenceReader(tmp_path / "missing.safetensors")   # nothing is read yet
    with pytest.raises(EmbeddingError, match="evidence reader.*missing.safetensors"):
        reader.scores("退款多久到账", [evidence_text(None, "原路退回。")])


@pytest.mark.slow
def test_bfloat16_reads_like_float32_and_each_precision_can_be_forced():
    """What `retrieval.reader_precision` chooses between: the same weights in either precision
    give nearly the same scores (bfloat16 rounds; docs give the measured spread)."""
    entry = evidence_text("退款多久能到账", "退款审核通过后原路退回：微信和支付宝1-3个工作日到账，银行卡3-7个工作日到账。")
    questions = ("退到银行卡要等几天啊", "退款的时候要扣手续费吗 扣多少")
    full, half = EvidenceReader(precision="float32"), EvidenceReader(precision="bfloat16")
    assert not full.bfloat16 and half.bfloat16
    for question in questions:
        assert abs(float(full.scores(question, [entry])[0]) - float(half.scores(question, [entry])[0])) < 0.1
