"""Collecting knowledge from paths: dispatch by type, duplicates, empty folders, --skip-bad."""

import json
from pathlib import Path

import pytest

from cs_rag.errors import InputError
from cs_rag.ingest.sources import collect_documents
from cs_rag.types import DocumentKind

from helpers import write_jsonl, write_knowledge


def _faq(path: Path, *records: dict) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def _kb(tmp_path: Path) -> Path:
    root = tmp_path / "kb"
    (root / "policies").mkdir(parents=True)
    _faq(root / "faq.jsonl", {"id": "f1", "question": "退款多久到账", "answer": "3-5个工作日", "category": "售后退款"})
    (root / "policies" / "退换货政策.md").write_text("# 退换货政策\n## 七天无理由退货\n签收后七天内可申请退货。\n",
                                               encoding="utf-8")
    (root / "userdict.txt").write_text("七天无理由 10\n", encoding="utf-8")
    (root / ".hidden.md").write_text("# 不应读取\n", encoding="utf-8")
    return root


def test_folder_dispatches_by_type_and_skips_dictionaries_and_hidden_files(tmp_path: Path):
    collected = collect_documents([_kb(tmp_path)])
    kinds = {d.id: d.kind for d in collected.documents}
    assert kinds == {"f1": DocumentKind.FAQ, "退换货政策": DocumentKind.POLICY}
    assert collected.folders == [tmp_path / "kb"]
    assert all(Path(d.file).is_absolute() for d in collected.documents)


def test_passage_set(tmp_path: Path):
    path = _faq(tmp_path / "passages.jsonl", {"id": "p1", "title": "会员", "text": "金卡会员免运费。"})
    (doc,) = collect_documents([path]).documents
    assert doc.kind is DocumentKind.PASSAGE and doc.sections[0].heading_path == ["会员"]


def test_mixed_jsonl_records_are_rejected(tmp_path: Path):
    path = _faq(tmp_path / "k.jsonl", {"id": "f1", "question": "q", "answer": "a"}, {"id": "p1", "text": "t"})
    with pytest.raises(InputError, match=r"k.jsonl:2: a passage record in a file of faq records"):
        collect_documents([path])


def test_duplicate_ids_name_both_files(tmp_path: Path):
    a = _faq(tmp_path / "a.jsonl", {"id": "dup", "question": "q1", "answer": "a"})
    b = _faq(tmp_path / "b.jsonl", {"id": "dup", "question": "q2", "answer": "a"})
    with pytest.raises(InputError, match=r"b.jsonl.*duplicate id 'dup' \(first defined in .*a.jsonl\)"):
        collect_documents([a, b])


def test_empty_folder_and_missing_path(tmp_path: Path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no knowledge files found"):
        collect_documents([tmp_path / "empty"])
    with pytest.raises(InputError, match="no such file"):
        collect_documents([tmp_path / "missing"])


def test_unsupported_file_stops_by_default_and_is_listed_with_skip_bad(tmp_path: Path):
    root = _kb(tmp_path)
    (root / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    with pytest.raises(InputError, match=r"logo.png: unsupported file type '.png'"):
        collect_documents([root])
    collected = collect_documents([root], skip_bad=True)
    assert {d.id for d in collected.documents} == {"f1", "退换货政策"}
    assert [s.source for s in collected.skipped] == [str(root / "logo.png")] or \
        collected.skipped[0].source.endswith("logo.png")


def test_skip_bad_keeps_the_good_lines_of_a_file(tmp_path: Path):
    path = tmp_path / "faq.jsonl"
    path.write_text('{"id": "a", "question": "q", "answer": "x"}\n{"id": "b", "question": "q2", "answer": ""}\n'
                    '{"id": "c", "question": "q3", "answer": "y"}\n', encoding="utf-8")
    collected = collect_documents([path], skip_bad=True)
    assert [d.id for d in collected.documents] == ["a", "c"]
    assert "faq.jsonl:2" in collected.skipped[0].reason


def test_skip_bad_keeps_the_lines_after_malformed_json(tmp_path: Path):
    path = tmp_path / "faq.jsonl"
    path.write_text('{"id": "a", "question": "q", "answer": "x"}\n{broken\n[1, 2]\n'
                    '{"id": "c", "question": "q3", "answer": "y"}\n{"id": "d", "question": "q4", "answer": ""}\n',
                    encoding="utf-8")
    collected = collect_documents([path], skip_bad=True)
    assert [d.id for d in collected.documents] == ["a", "c"]
    reasons = [s.reason for s in collected.skipped]
    assert len(reasons) == 3 and "faq.jsonl:2" in reasons[0] and "faq.jsonl:3" in reasons[1]
    assert "faq.jsonl:5" in reasons[2]
    with pytest.raises(InputError, match="faq.jsonl:2"):
        collect_documents([path])


def test_passage_records_may_carry_filter_metadata(tmp_path: Path):
    path = tmp_path / "passages.jsonl"
    path.write_text(json.dumps({"id": "p1", "title": "耳机保修", "text": "耳机保修一年。", "category": "售后",
                                "products": "蓝牙耳机", "valid_to": "2027-01-01"}, ensure_ascii=False) + "\n"
                    + json.dumps({"id": "p2", "text": "正文", "valid_from": "明天"}, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    with pytest.raises(InputError, match=r"passages.jsonl:2 \(field 'valid_from'\)"):
        collect_documents([path])
    good = collect_documents([path], skip_bad=True).documents
    assert [(d.id, d.category, d.products, str(d.valid_to)) for d in good] == [("p1", "售后", ["蓝牙耳机"], "2027-01-01")]


def test_markdown_front_matter_is_metadata_not_text(tmp_path: Path):
    (tmp_path / "promo.md").write_text("---\nproducts: 手机\nvalid_to: 2026-02-10\n---\n# 活动\n每满200减20。\n",
                                       encoding="utf-8")
    (tmp_path / "broken.md").write_text("---\nproducts: [手机\n---\n# 活动\n正文\n", encoding="utf-8")
    (tmp_path / "list.md").write_text("---\n- 手机\n---\n# 活动\n正文\n", encoding="utf-8")
    collected = collect_documents([tmp_path], skip_bad=True)
    (promo,) = collected.documents
    assert promo.products == ["手机"] and str(promo.valid_to) == "2026-02-10"
    assert "valid_to" not in " ".join(s.text for s in promo.sections)
    reasons = sorted(s.reason for s in collected.skipped)
    assert "broken.md:2: front matter (lines 2-2) is not valid YAML" in reasons[0]
    assert "list.md:2: front matter is not a mapping" in reasons[1]


@pytest.mark.parametrize("front_matter, message", [
    # never closed: the YAML would otherwise be indexed as text and the dates lost
    ("---\ncategory: 促销活动\nvalid_to: 2026-02-10\n", r"promo.md:1: front matter opened on line 1 is never closed"),
    ("---\ncategory: 促销活动\nvalid_to: 2026-02-31\n---\n", r"promo.md:3 \(field 'valid_to'\).*day value is outside"),
    ("---\nvalid_from: 2026-03-10\nvalid_to: 2026-02-10\n---\n", r"promo.md:3 \(field 'valid_to'\).*before valid_from"),
    ("---\nowner: 运营部\nvalid_until: 2026-02-10\n---\n", r"promo.md:3 \(field 'valid_until'\).*did you mean 'valid_to'"),
])
def test_bad_front_matter_is_named_by_file_and_line(tmp_path: Path, front_matter, message):
    (tmp_path / "promo.md").write_text(front_matter + "# 活动\n每满200减20。\n", encoding="utf-8")
    with pytest.raises(InputError, match=message):
        collect_documents([tmp_path])


def test_one_string_of_products_is_split_as_in_a_spreadsheet_cell(tmp_path: Path):
    (tmp_path / "promo.md").write_text("---\nproducts: 手机, 平板、耳机\n---\n# 活动\n正文\n", encoding="utf-8")
    (promo,) = collect_documents([tmp_path]).documents
    assert promo.products == ["手机", "平板", "耳机"]


def test_extensions_teach_an_entry_defined_in_another_file(tmp_path: Path):
    write_knowledge(tmp_path / "team")
    (tmp_path / "service").mkdir()
    write_jsonl(tmp_path / "service" / "learned.jsonl", [
        {"extends": "f-refund", "similar_questions": ["钱咋还没退回来", "退款几天能到"], "action": 3},
        {"extends": "f-ship", "answer": "现货商品当天发货。"},
        {"extends": "f-gone", "similar_questions": ["已删除的条目"]},
        {"creates": {"id": "learned-4", "question": "能开专票吗", "answer": "可以。"}, "action": 4},
        {"extends": "learned-4", "similar_questions": ["专用发票能开不"]},
    ])
    collected = collect_documents([tmp_path / "team", tmp_path / "service"])
    faq = {doc.id: doc.faq for doc in collected.documents if doc.faq}
    assert faq["f-refund"].similar_questions == ["钱什么时候退回来", "退款几天能到", "钱咋还没退回来"]
    assert faq["f-ship"].answer == "现货商品当天发货。" and faq["f-ship"].question == "下单后多久发货"
    assert faq["learned-4"].similar_questions == ["专用发票能开不"]    # a proposal can be extended too
    assert [s.reason for s in collected.skipped] == \
        ["extends FAQ entry 'f-gone', which no knowledge file defines"]       # skipped, never an error
    assert collected.skipped[0].source.endswith("learned.jsonl line 3")


@pytest.mark.parametrize("record, problem", [
    ({"extends": "", "similar_questions": ["a"]}, "'extends' must name an FAQ entry id"),
    ({"extends": "f-refund", "similar_questions": "a"}, "similar_questions must be a list"),
    ({"extends": "f-refund"}, "an extension adds similar_questions or an answer"),
    ({"extends": "f-refund", "answer": " "}, "answer must be a non-empty text"),
])
def test_bad_extensions_name_the_line(tmp_path: Path, record, problem):
    write_jsonl(tmp_path / "learned.jsonl", [record])
    with pytest.raises(InputError, match=problem) as error:
        collect_documents([tmp_path / "learned.jsonl"])
    assert error.value.line == 1


def test_a_learned_entry_the_team_merged_into_its_own_files_yields_to_them(tmp_path: Path):
    team = write_knowledge(tmp_path / "team")
    write_jsonl(team / "merged.jsonl", [{"id": "learned-4", "question": "能开专票吗", "answer": "可以，请在订单页申请。",
                                         "similar_questions": ["专票"]}])
    (tmp_path / "service").mkdir()
    write_jsonl(tmp_path / "service" / "learned.jsonl",
                [{"creates": {"id": "learned-4", "question": "能开专票吗", "answer": "可以。"}, "action": 4},
                 {"creates": {"id": "learned-5", "question": "x"}}])
    collected = collect_documents([team, tmp_path / "service"])
    learned = next(d.faq for d in collected.documents if d.id == "learned-4")
    assert learned.answer == "可以，请在订单页申请。" and "learned-5" in {d.id for d in collected.documents}
    [skipped] = collected.skipped
    assert skipped.reason.startswith("learned entry 'learned-4' is now defined in ")
    assert skipped.reason.endswith("team/merged.jsonl; that definition is used")
