"""FAQ readers: JSONL, CSV and XLSX exports, with errors that name the place."""

import datetime as dt
import json
from pathlib import Path

import pytest
from openpyxl import Workbook

from cs_rag.errors import InputError
from cs_rag.ingest.faq import iter_faq_table, read_faq_jsonl_record
from cs_rag.reading import parse_jsonl


def _entries(path: Path) -> list:
    return list(iter_faq_table(path, path.name))


def test_jsonl_record_in_the_shared_format():
    entry = read_faq_jsonl_record({"id": "f1", "question": "退款多久到账", "similar_questions":
                                   ["钱什么时候退回来", " "], "answer": "3-5个工作日", "category": "售后退款"},
                                  "faq.jsonl", 1)
    assert entry.similar_questions == ["钱什么时候退回来"]
    assert entry.category == "售后退款"


def test_jsonl_products_are_names_or_one_name():
    entry = read_faq_jsonl_record({"id": "f1", "question": "耳机怎么配对", "answer": "长按3秒",
                                   "products": ["蓝牙耳机", " ", "Buds Pro"]}, "faq.jsonl", 4)
    assert entry.products == ["蓝牙耳机", "Buds Pro"]
    one = read_faq_jsonl_record({"id": "f2", "question": "q", "answer": "a", "products": "耳机"}, "faq.jsonl", 5)
    assert one.products == ["耳机"]
    with pytest.raises(InputError, match=r"faq.jsonl:6 \(field 'products'\)"):
        read_faq_jsonl_record({"id": "f3", "question": "q", "answer": "a", "products": {"a": 1}}, "faq.jsonl", 6)


def test_jsonl_null_answer_is_a_retrieval_only_entry_but_empty_answer_is_an_error():
    assert read_faq_jsonl_record({"id": "f1", "question": "q", "answer": None}, "k.jsonl", 3).answer is None
    with pytest.raises(InputError, match=r"k.jsonl:3 \(field 'answer'\): empty answer"):
        read_faq_jsonl_record({"id": "f1", "question": "q", "answer": "  "}, "k.jsonl", 3)


def test_jsonl_bad_field_and_bad_line_are_named(tmp_path: Path):
    with pytest.raises(InputError, match=r"k.jsonl:7 \(field 'valid_to'\)"):
        read_faq_jsonl_record({"id": "f1", "question": "q", "answer": "a", "valid_to": "soon"}, "k.jsonl", 7)
    with pytest.raises(InputError, match=r"k.jsonl:8 \(field 'valid_to'\).*before valid_from 2026-03-01"):
        read_faq_jsonl_record({"id": "f1", "question": "q", "answer": "a", "valid_from": "2026-03-01",
                               "valid_to": "2026-02-28"}, "k.jsonl", 8)
    assert read_faq_jsonl_record({"id": "f1", "question": "q", "answer": "a", "products": "手机、平板"},
                                 "k.jsonl", 9).products == ["手机", "平板"]
    path = tmp_path / "faq.jsonl"
    path.write_text(json.dumps({"id": "a", "question": "q"}) + "\n\n{not json\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"faq.jsonl:3: malformed JSON"):
        list(parse_jsonl(path, "faq.jsonl"))


def test_csv_with_chinese_headers_bom_and_separators(tmp_path: Path):
    path = tmp_path / "faq.csv"
    path.write_text("标准问题,相似问题,答案,分类\n"
                    "退款多久到账,\"钱多久退回|退款几天到；退款到账时间\",3-5个工作日原路退回,售后退款\n"
                    "怎么开发票,\"发票在哪开\n能开专票吗\",在订单详情页申请,支付\n", encoding="utf-8-sig")
    first, second = _entries(path)
    assert first.question == "退款多久到账"
    assert first.similar_questions == ["钱多久退回", "退款几天到", "退款到账时间"]
    assert second.similar_questions == ["发票在哪开", "能开专票吗"]
    assert first.id.startswith("faq-") and first.id != second.id


def test_csv_products_column(tmp_path: Path):
    path = tmp_path / "faq.csv"
    path.write_text("标准问题,答案,适用商品\n耳机怎么配对,长按3秒,蓝牙耳机、Buds Pro\n退款多久到账,3-5天,\n",
                    encoding="utf-8")
    earphones, general = _entries(path)
    assert earphones.products == ["蓝牙耳机", "Buds Pro"] and general.products == []


def test_csv_ids_survive_row_reordering(tmp_path: Path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("question,answer\nQ1,A1\nQ2,A2\n", encoding="utf-8")
    b.write_text("question,answer\nQ2,A2\nQ1,A1\n", encoding="utf-8")
    assert {e.id for e in _entries(a)} == {e.id for e in _entries(b)}


def test_csv_in_gbk_with_english_headers(tmp_path: Path):
    path = tmp_path / "faq.csv"
    path.write_bytes("Question,Similar Questions,Answer,Category,Valid To\n会员怎么升级,怎么升金卡,消费满额自动升级,账户与会员,2026-12-31\n"
                     .encode("gbk"))
    (entry,) = _entries(path)
    assert entry.answer == "消费满额自动升级" and str(entry.valid_to) == "2026-12-31"


def test_table_without_answer_column_names_the_file(tmp_path: Path):
    path = tmp_path / "faq.csv"
    path.write_text("标准问题,分类\n退款,售后\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"faq.csv row 1: no 答案/answer column"):
        _entries(path)


def test_empty_answer_cell_is_yielded_as_an_error_naming_the_row(tmp_path: Path):
    path = tmp_path / "faq.csv"
    path.write_text("标准问题,答案\n退款多久,3天\n发票怎么开,\n", encoding="utf-8")
    good, bad = _entries(path)
    assert good.question == "退款多久"
    assert isinstance(bad, InputError) and "row 3 (field '答案')" in str(bad)  # the column as the file heads it


def test_csv_dates_as_spreadsheets_write_them(tmp_path: Path):
    path = tmp_path / "faq.csv"
    path.write_text("标准问题,答案,生效日期,失效日期\n"
                    "双12怎么减,满300减50,2026/12/1,2026年12月12日\n"
                    "年货节怎么减,满200减20,2026.1.10,2026-02-10\n"
                    "元宵节怎么减,满100减10,2026-03-01,下个月\n"
                    "清明节怎么减,满100减10,2026-04-06,2026-04-01\n", encoding="utf-8")
    double12, spring, bad_date, reversed_dates = _entries(path)
    assert (double12.valid_from, double12.valid_to) == (dt.date(2026, 12, 1), dt.date(2026, 12, 12))
    assert (spring.valid_from, spring.valid_to) == (dt.date(2026, 1, 10), dt.date(2026, 2, 10))
    assert "row 4 (field '失效日期'): not a date" in str(bad_date)
    assert "row 5 (field '失效日期')" in str(reversed_dates) and "before valid_from" in str(reversed_dates)


def test_xlsx_export_with_multiline_similar_questions_and_dates(tmp_path: Path):
    import datetime as dt

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["ID", "标准问题", "相似问题", "答案", "分类", "失效日期"])
    sheet.append(["promo-1", "双11定金能退吗", "定金退不退\n付了定金后悔了", "定金不退", "促销活动", dt.datetime(2026, 11, 30)])
    sheet.append([None, None, None, None, None, None])
    path = tmp_path / "faq.xlsx"
    workbook.save(path)
    (entry,) = _entries(path)
    assert entry.id == "promo-1"
    assert entry.similar_questions == ["定金退不退", "付了定金后悔了"]
    assert entry.valid_to == dt.date(2026, 11, 30)


def test_damaged_xlsx_is_an_input_error(tmp_path: Path):
    path = tmp_path / "faq.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(InputError, match="faq.xlsx: not a readable XLSX"):
        _entries(path)
