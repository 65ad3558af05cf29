"""A team's first hour, as a new user would go through it: cs-rag init, their own FAQ typed into
the template, their company's settings, ingest, and the questions a manager tries in a demo.
No reply may carry the sample company's name or numbers."""

import openpyxl
import pytest

from cs_rag import Assistant, Customer, KnowledgeBase, Outcome, load_settings
from cs_rag.cli import main

SAMPLE_FACTS = ("闪电", "Shandian", "SparkMall", "sparkmall", "400-820")
# 青禾家居, a furniture shop: its own FAQ, typed into the template's columns
OWN_FAQ = [
    ["qh-001", "沙发可以上门安装吗", "送货包安装吗\n师傅会上门装吗", "青禾家居所有家具免费送货上门并安装，安装时间可在订单页预约。", "配送安装", "", "", ""],
    ["qh-002", "实木床多久能发货", "床什么时候发\n定制的床要等多久", "现货实木床下单后3天内发货；定制款生产周期为25个工作日，完工后安排配送。", "配送安装", "实木床", "", ""],
    ["qh-003", "家具有质量问题怎么保修", "桌子开裂了怎么办\n保修期多长", "实木家具整体保修3年，五金件保修1年；保修期内出现开裂、变形，我们免费上门维修或更换。", "售后", "", "", ""],
    ["qh-004", "可以开发票吗", "怎么开发票\n发票在哪里申请", "可以。收货后在“我的订单-申请发票”中填写抬头，电子发票3个工作日内发送到您的邮箱。", "订单", "", "", ""],
]
SETTINGS = """
hotline = "400-111-2222"
service_hours = "每天9:00-18:00"

[company.levels.vip]
name = "青禾VIP会员"
contact = "400-111-3333"
"""


@pytest.fixture(scope="module")
def team(tmp_path_factory):
    root = tmp_path_factory.mktemp("first-hour") / "qinghe"
    assert main(["init", str(root), "--company", "青禾家居"]) == 0
    workbook = openpyxl.load_workbook(root / "knowledge" / "faq.xlsx")
    sheet = workbook.worksheets[0]
    sheet.delete_rows(2, sheet.max_row)          # the two example rows go, the team's come in
    for row in OWN_FAQ:
        sheet.append(row)
    workbook.save(root / "knowledge" / "faq.xlsx")
    (root / "knowledge" / "policies" / "示例-退换货政策.md").unlink()
    config = root / "cs_rag.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace('name = "青禾家居"\n', 'name = "青禾家居"' + SETTINGS, 1), encoding="utf-8")
    settings = load_settings(config, environ={})
    knowledge_base = KnowledgeBase(root / "index", settings)
    report = knowledge_base.ingest([root / "knowledge"])
    assert len(report.added) == len(OWN_FAQ) and not report.skipped
    return root, Assistant(knowledge_base)


def _clean(text: str) -> None:
    assert not any(fact in text for fact in SAMPLE_FACTS), text


@pytest.mark.slow
def test_ordinary_questions_greeting_refusal_handoff_and_vip_speak_for_the_team(team):
    _, assistant = team
    answered = assistant.answer("师傅会上门帮忙装沙发吗")
    assert answered.outcome is Outcome.ANSWERED and answered.citations[0].id == "qh-001"
    assert answered.text.startswith("您好，感谢您联系青禾家居！")
    greeting = assistant.answer("你好")
    assert greeting.text == "您好，我是青禾家居智能客服，请问有什么可以帮您？"
    refused = assistant.answer("你们的股票代码是多少")
    assert refused.outcome is Outcome.REFUSED and "客服热线400-111-2222" in refused.text
    handoff = assistant.answer("我要找人工客服")
    assert "服务时间：每天9:00-18:00" in handoff.text
    vip = assistant.answer("桌子开裂了怎么办", customer=Customer(level="VIP"))
    assert vip.outcome is Outcome.ANSWERED
    assert vip.text.endswith("您是我们的青禾VIP会员，如需进一步帮助，可随时拨打专属热线400-111-3333。")
    vip_refused = assistant.answer("你们的股票代码是多少", customer=Customer(level="vip"))
    assert vip_refused.outcome is Outcome.REFUSED and vip_refused.text.endswith("专属热线400-111-3333。")
    vip_handoff = assistant.answer("我要找人工客服", customer=Customer(level="VIP"))
    assert "400-111-3333" in vip_handoff.text                    # the member's own line, not office hours only
    digits = assistant.answer("1")                               # no letters: the shop's language, not English
    assert digits.language == "zh" and "抱歉" in digits.text
    english = assistant.answer("Hi there")
    assert english.text == "Hello! I'm the 青禾家居 assistant. How can I help you?"
    for answer in (answered, greeting, refused, handoff, vip, vip_refused, vip_handoff, english):
        _clean(answer.text)


@pytest.mark.slow
def test_the_prompts_an_llm_would_get_name_the_team_not_the_sample(team):
    _, assistant = team
    for language in ("zh", "en"):
        for use in ("answer", "clarify", "handoff_summary", "rewrite"):
            for part in assistant.prompts.template(use, language).parts.values():
                _clean(part)
    assert "你是青禾家居的专业客服专员" in assistant.prompts.template("answer", "zh").parts["role"]


@pytest.mark.slow
def test_the_starter_folder_ingests_as_it_is_and_doctor_passes(tmp_path, capsys, monkeypatch):
    root = tmp_path / "starter"
    assert main(["init", str(root), "--lang", "en", "--company", "Qinghe Home"]) == 0
    monkeypatch.chdir(root)                      # cs_rag.toml in the working directory is read
    assert main(["ingest", "knowledge", "--index", "index"]) == 0
    capsys.readouterr()
    assert main(["ask", "when do I get my money back", "--index", "index"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Hello, and thank you for contacting Qinghe Home!") and "[1]" in out
    assert main(["doctor", "--index", "index"]) == 0
    out = capsys.readouterr().out
    assert "warn  index" in out and "all working" in out                   # works, but:
    assert "cs-rag init's examples are still in it: example-returns-policy, faq-001, faq-002" in out
