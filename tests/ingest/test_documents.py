"""Policy documents to sections: heading paths per format, decoding, and errors naming the file."""

import io
import os

import docx
import pypdf
import pytest
from docx.enum.style import WD_STYLE_TYPE
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from cs_rag.errors import InputError
from cs_rag.ingest.documents import SUPPORTED_SUFFIXES, read_document
from cs_rag.reading import decode_text

pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))


def paths(sections):
    return [s.heading_path for s in sections]


def section(sections, *path):
    found = [s for s in sections if s.heading_path == list(path)]
    assert len(found) == 1, f"no single section {path}; have {paths(sections)}"
    return found[0]


# --- Markdown -------------------------------------------------------------------------------

RETURNS_MD = """\
# 退换货政策

本政策适用于本店自营商品。

## 七天无理由退货

签收后7天内可申请**无理由**退货，详见[售后页面](https://example.com/after-sale)。
- 商品完好
- 配件齐全

### 不适用的商品

定制商品不支持无理由退货。

## 退款时效

退款将在1-3个工作日内原路退回。
"""


def test_markdown_headings_build_paths_under_the_title(tmp_path):
    path = tmp_path / "退换货政策.md"
    path.write_text(RETURNS_MD, encoding="utf-8")
    sections = read_document(path)
    assert paths(sections) == [
        ["退换货政策"],
        ["退换货政策", "七天无理由退货"],
        ["退换货政策", "七天无理由退货", "不适用的商品"],
        ["退换货政策", "退款时效"],
    ]
    assert section(sections, "退换货政策").text == "本政策适用于本店自营商品。"
    assert section(sections, "退换货政策", "七天无理由退货").text == (
        "签收后7天内可申请无理由退货，详见售后页面。\n商品完好\n配件齐全")
    assert "1-3个工作日" in section(sections, "退换货政策", "退款时效").text


def test_markdown_text_before_headings_has_empty_path_without_a_single_title(tmp_path):
    path = tmp_path / "说明.md"
    path.write_text("适用于全部门店。\n\n# 会员\n\n会员享受包邮。\n\n# 积分\n\n积分一年有效。\n",
                    encoding="utf-8")
    sections = read_document(path)
    assert [(s.heading_path, s.text) for s in sections] == [
        ([], "适用于全部门店。"), (["会员"], "会员享受包邮。"), (["积分"], "积分一年有效。")]


def test_markdown_single_title_roots_text_before_it(tmp_path):
    path = tmp_path / "a.md"
    path.write_text("前言一句。\n\n# 配送说明\n\n## 运费\n\n满99元包邮。\n", encoding="utf-8")
    assert paths(read_document(path)) == [["配送说明"], ["配送说明", "运费"]]


def test_markdown_new_first_level_heading_resets_the_path(tmp_path):
    path = tmp_path / "a.md"
    path.write_text("# 甲\n## 甲一\n内容一。\n# 乙\n内容二。\n", encoding="utf-8")
    assert paths(read_document(path)) == [["甲", "甲一"], ["乙"]]


def test_markdown_markup_code_tables_setext_and_wrapped_lines(tmp_path):
    path = tmp_path / "a.md"
    path.write_text(
        "---\ntitle: 元数据\n---\n"
        "售后说明\n====\n\n"
        "> 请**务必**保留_原包装_。\n\n"
        "联系客服时请提供\n订单号。\n\n"
        "1. 登录 `我的订单`\n2. 点击申请售后\n\n"
        "| 项目 | 时效 |\n|---|:---:|\n| 退款 | 3天 |\n\n"
        "```\n# 不是标题\n```\n"
        "售后邮箱 <mailto:help@example.com>，参见 \\*注释\\*。\n", encoding="utf-8")
    [only] = read_document(path)
    assert only.heading_path == ["售后说明"]
    assert only.text.split("\n") == [
        "请务必保留原包装。", "联系客服时请提供订单号。", "1. 登录 我的订单", "2. 点击申请售后",
        "项目 | 时效", "退款 | 3天", "# 不是标题", "售后邮箱 mailto:help@example.com，参见 *注释*。"]


def test_empty_markdown_is_an_error(tmp_path):
    path = tmp_path / "empty.md"
    path.write_text("", encoding="utf-8")
    with pytest.raises(InputError, match="empty.md.*no text"):
        read_document(path)


def test_markdown_with_headings_only_is_an_error(tmp_path):
    path = tmp_path / "bare.md"
    path.write_text("# 标题\n\n## 小节\n", encoding="utf-8")
    with pytest.raises(InputError, match="no text"):
        read_document(path)


# --- plain text -----------------------------------------------------------------------------

WARRANTY_TXT = """\
保修条款

本条款适用于自营数码产品。

一、保修期限
（一）起算时间
保修期自签收次日起计算。
（二）各类商品
1. 手机：整机保修1年。
2. 耳机：保修6个月。
二、保修方式
1. 寄修
2. 到店
"""


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk", "utf-16"])
def test_text_headings_in_every_encoding(tmp_path, encoding):
    path = tmp_path / "保修条款.txt"
    path.write_bytes(WARRANTY_TXT.encode(encoding))
    sections = read_document(path)
    assert [(s.heading_path, s.text) for s in sections] == [
        (["保修条款"], "本条款适用于自营数码产品。"),
        (["保修条款", "一、保修期限", "（一）起算时间"], "保修期自签收次日起计算。"),
        (["保修条款", "一、保修期限", "（二）各类商品"], "1. 手机：整机保修1年。\n2. 耳机：保修6个月。"),
        (["保修条款", "二、保修方式"], "1. 寄修\n2. 到店"),
    ]


def test_text_chapters_and_articles_with_inline_text(tmp_path):
    path = tmp_path / "办法.txt"
    path.write_text(
        "会员管理办法\n"
        "第一章 总则\n"
        "第一条　为规范会员服务，制定本办法。\n"
        "第二条【适用范围】本办法适用于全部会员。\n"
        "第二章 积分\n"
        "第三条 积分规则\n"
        "（一）消费1元得1分；\n"
        "（二）积分可抵现；\n"
        "第二条规定的会员不含企业账号。\n", encoding="utf-8")
    sections = read_document(path)
    assert [(s.heading_path, s.text) for s in sections] == [
        (["会员管理办法", "第一章 总则", "第一条"], "为规范会员服务，制定本办法。"),
        (["会员管理办法", "第一章 总则", "第二条【适用范围】"], "本办法适用于全部会员。"),
        (["会员管理办法", "第二章 积分", "第三条 积分规则"],
         "（一）消费1元得1分；\n（二）积分可抵现；\n第二条规定的会员不含企业账号。"),
    ]


def test_text_numbered_headings_only_when_short_and_not_a_sentence(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text(
        "本说明适用于所有订单。\n"
        "1. 退货条件\n"
        "商品完好即可退货。\n"
        "1.1 特殊商品\n"
        "定制商品不退。\n"
        "2. 签收后七天内可以申请退货，逾期不予受理。\n"
        "3. 退款\n"
        "原路退回。\n", encoding="utf-8")
    sections = read_document(path)
    assert paths(sections) == [[], ["1. 退货条件"], ["1. 退货条件", "1.1 特殊商品"], ["3. 退款"]]
    assert "2. 签收后七天内可以申请退货" in section(sections, "1. 退货条件", "1.1 特殊商品").text


def test_text_first_line_that_is_a_clause_is_not_a_title(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("本店支持七天无理由退货。\n运费由买家承担。\n", encoding="utf-8")
    assert [(s.heading_path, s.text) for s in read_document(path)] == [
        ([], "本店支持七天无理由退货。\n运费由买家承担。")]


def test_binary_file_named_txt_is_an_error(tmp_path):
    path = tmp_path / "image.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    with pytest.raises(InputError, match="image.txt.*binary"):
        read_document(path)


def test_unsupported_suffix_is_an_error(tmp_path):
    path = tmp_path / "政策.doc"
    path.write_bytes(b"whatever")
    with pytest.raises(InputError, match=r"政策\.doc.*unsupported"):
        read_document(path)
    assert ".doc" not in SUPPORTED_SUFFIXES and ".docx" in SUPPORTED_SUFFIXES


def test_source_name_is_used_in_errors(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text("  \n\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_document(path, source="policies/empty.txt")
    assert info.value.source == "policies/empty.txt"


def test_decode_text_variants():
    text = "退货政策：七天无理由。"
    assert decode_text(text.encode("utf-8"), "x") == text
    assert decode_text(b"\xef\xbb\xbf" + text.encode("utf-8"), "x") == text
    assert decode_text(text.encode("gbk"), "x") == text
    assert decode_text(text.encode("gb18030"), "x") == text
    assert decode_text(b"", "x") == ""
    with pytest.raises(InputError, match="binary"):
        decode_text(b"abc\x00def", "x")
    with pytest.raises(InputError, match="binary"):
        decode_text(b"\x01\x02\x03\x04 text \x05\x06\x07\x08", "x")


# --- HTML -----------------------------------------------------------------------------------

SHIPPING_HTML = """\
<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>配送说明 - 示例商城</title>
<style>p { color: red; }</style></head>
<body>
<nav><a href="/">首页</a></nav>
<h1>配送说明</h1>
<p>本说明适用于<b>中国大陆</b>地区。</p>
<h2>配送时效</h2>
<table>
<tr><th>地区</th><th>时效</th></tr>
<tr><td>省会城市</td><td>1-2天</td></tr>
</table>
<h2>运费</h2>
<ul><li>满99元包邮</li><li>不满99元收取8元</li></ul>
<script>var tracking = "不应出现";</script>
</body></html>
"""


def test_html_headings_tables_and_lists(tmp_path):
    path = tmp_path / "配送说明.html"
    path.write_text(SHIPPING_HTML, encoding="utf-8")
    sections = read_document(path)
    assert [(s.heading_path, s.text) for s in sections] == [
        (["配送说明"], "本说明适用于中国大陆地区。"),
        (["配送说明", "配送时效"], "地区 | 时效\n省会城市 | 1-2天"),
        (["配送说明", "运费"], "满99元包邮\n不满99元收取8元"),
    ]


def test_html_title_roots_several_h1(tmp_path):
    path = tmp_path / "faq.htm"
    path.write_text("<title>帮助中心</title><h1>退货</h1><p>七天内可退。</p>"
                    "<h1>换货</h1><p>十五天内可换。</p>", encoding="gbk")
    assert paths(read_document(path)) == [["帮助中心", "退货"], ["帮助中心", "换货"]]


# --- DOCX -----------------------------------------------------------------------------------

def test_docx_styles_build_paths_and_tables_become_rows(tmp_path):
    document = docx.Document()
    document.add_heading("退换货政策", level=0)
    document.add_paragraph("本政策自2026年1月1日起施行。")
    document.add_heading("七天无理由退货", level=1)
    document.add_paragraph("签收后7天内可申请退货。")
    document.add_heading("运费", level=2)
    table = document.add_table(rows=2, cols=3)
    for row, values in zip(table.rows, [("情形", "承担方", "备注"), ("质量问题", "商家", "")]):
        for cell, value in zip(row.cells, values):
            cell.text = value
    merged = table.add_row().cells
    merged[0].merge(merged[1]).text = "其他情形按页面说明"
    merged[2].text = "—"
    document.styles.add_style("标题 1", WD_STYLE_TYPE.PARAGRAPH)
    document.add_paragraph("十五天换货", style="标题 1")
    document.add_paragraph("性能故障可换新。")
    path = tmp_path / "退换货政策.docx"
    document.save(path)
    sections = read_document(path)
    assert [(s.heading_path, s.text) for s in sections] == [
        (["退换货政策"], "本政策自2026年1月1日起施行。"),
        (["退换货政策", "七天无理由退货"], "签收后7天内可申请退货。"),
        (["退换货政策", "七天无理由退货", "运费"],
         "情形 | 承担方 | 备注\n质量问题 | 商家 | \n其他情形按页面说明 | —"),
        (["退换货政策", "十五天换货"], "性能故障可换新。"),
    ]


def test_corrupt_docx_is_an_error(tmp_path):
    path = tmp_path / "broken.docx"
    path.write_bytes(os.urandom(2048))
    with pytest.raises(InputError, match="broken.docx.*DOCX"):
        read_document(path)


# --- PDF ------------------------------------------------------------------------------------

def make_pdf(pages: list[list[str]]) -> bytes:
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    for lines in pages:
        pdf.setFont("STSong-Light", 12)
        y = 780
        for line in lines:
            pdf.drawString(72, y, line)
            y -= 24
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def test_pdf_chinese_text_is_extracted_with_plain_text_headings(tmp_path):
    path = tmp_path / "会员规则.pdf"
    path.write_bytes(make_pdf([
        ["会员规则", "一、会员等级", "会员分为普通会员和金卡会员。", "- 1 -"],
        ["二、积分", "消费1元获得1积分。", "第 2 页"],
    ]))
    sections = read_document(path)
    assert [(s.heading_path, s.text) for s in sections] == [
        (["会员规则", "一、会员等级"], "会员分为普通会员和金卡会员。"),
        (["会员规则", "二、积分"], "消费1元获得1积分。"),
    ]


def encrypt(data: bytes, **passwords: str) -> bytes:
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(data)))
    writer.encrypt(**passwords)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_encrypted_pdf_is_an_error_naming_the_file(tmp_path):
    path = tmp_path / "secret.pdf"
    path.write_bytes(encrypt(make_pdf([["保密政策", "内部资料。"]]), user_password="secret"))
    with pytest.raises(InputError, match=r"secret\.pdf.*encrypted"):
        read_document(path)


def test_pdf_encrypted_with_an_empty_user_password_opens(tmp_path):
    path = tmp_path / "restricted.pdf"
    path.write_bytes(encrypt(make_pdf([["价保规则", "下单后7天内降价可申请价保。"]]),
                             user_password="", owner_password="owner"))
    assert [(s.heading_path, s.text) for s in read_document(path)] == [
        (["价保规则"], "下单后7天内降价可申请价保。")]


def test_pdf_without_text_is_an_error(tmp_path):
    path = tmp_path / "scan.pdf"
    path.write_bytes(make_pdf([[]]))
    with pytest.raises(InputError, match=r"scan\.pdf.*no extractable text"):
        read_document(path)


def test_garbage_pdf_is_an_error(tmp_path):
    path = tmp_path / "junk.pdf"
    path.write_bytes(b"%PDF-1.4\n" + os.urandom(512))
    with pytest.raises(InputError, match=r"junk\.pdf"):
        read_document(path)


def test_pdf_page_that_fails_to_extract_is_named(tmp_path, monkeypatch):
    path = tmp_path / "damaged.pdf"
    path.write_bytes(make_pdf([["第一页内容。"], ["第二页内容。"]]))
    original = pypdf.PageObject.extract_text

    def extract_text(page, *args, **kwargs):
        text = original(page, *args, **kwargs)
        if "第二页" in text:
            raise ValueError("bad content stream")
        return text

    monkeypatch.setattr(pypdf.PageObject, "extract_text", extract_text)
    with pytest.raises(InputError, match=r"damaged\.pdf: page 2: .*bad content stream"):
        read_document(path)


def test_unreadable_path_is_an_error(tmp_path):
    folder = tmp_path / "folder.md"
    folder.mkdir()
    with pytest.raises(InputError, match=r"folder\.md: cannot read file"):
        read_document(folder)
