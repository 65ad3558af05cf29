"""Phrases filled in for a company: neutral with nothing set, alternatives, level closings."""

import shutil
from pathlib import Path

import pytest

from cs_rag.answering.phrases import PHRASE_KEYS
from cs_rag.answering.prompt import USES, PromptLibrary
from cs_rag.config import CompanySettings, MemberLevel, default_prompts_dir
from cs_rag.errors import ConfigError
from cs_rag.types import Customer

from helpers import SAMPLE_COMPANY

ACME = CompanySettings(name="青禾家居", name_en="Qinghe Home", hotline="400-111-2222",
                       service_hours="每天9:00-18:00",
                       levels={"Gold": MemberLevel(name="金卡会员", contact="400-111-3333")})
SAMPLE_FACTS = ("闪电", "Shandian", "400-820")


def _all_text(library: PromptLibrary, language: str) -> list[str]:
    phrases = library.phrases(language)
    texts = [getattr(phrases, key) for key in PHRASE_KEYS] + list(phrases.level_closings.values())
    templates = [part for use in USES for part in library.template(use, language).parts.values()]
    return texts + templates


@pytest.mark.parametrize("language", ["zh", "en"])
def test_shipped_phrases_and_prompts_name_no_company_when_none_is_set(language):
    library = PromptLibrary()
    for text in _all_text(library, language):
        assert not any(fact in text for fact in SAMPLE_FACTS), text
    phrases = library.phrases(language)
    assert phrases.opening == ("您好！" if language == "zh" else "Hello!")
    assert phrases.closing_for(Customer(level="vip")) == phrases.closing
    for use, allowed in USES.items():   # {company} was filled in; only render's own remain
        assert library.template(use, language).placeholders() <= allowed


def test_company_settings_fill_the_phrases_and_the_prompts():
    library = PromptLibrary(company=ACME)
    zh, en = library.phrases("zh"), library.phrases("en")
    assert zh.opening == "您好，感谢您联系青禾家居！" and "青禾家居智能客服" in zh.greeting_reply
    assert "400-111-2222" in zh.refusal and "每天9:00-18:00" in zh.handoff
    assert en.opening == "Hello, and thank you for contacting Qinghe Home!"
    assert "你是青禾家居的专业客服专员" in library.template("answer", "zh").parts["role"]
    assert "Qinghe Home" in library.template("answer", "en").parts["role"]
    # a level in [company.levels] gets the shared level closing; keys compare case-insensitively
    gold = zh.closing_for(Customer(level=" GOLD "))
    assert gold == "您是我们的金卡会员，如需进一步帮助，可随时拨打专属热线400-111-3333。"
    assert zh.closing_for(Customer(level="plus")) == zh.closing


def test_the_sample_company_speaks_as_before():
    phrases = PromptLibrary(company=SAMPLE_COMPANY).phrases("zh")
    assert phrases.opening == "您好，感谢您联系闪电优选！"
    assert phrases.closing_for(Customer(level="PLUS")) == \
        "您是我们的闪电PLUS会员，如需进一步帮助，可随时拨打7×24小时专属热线400-820-6699。"


def _edited_copy(tmp_path: Path, old: str, new: str) -> Path:
    folder = tmp_path / "prompts"
    shutil.copytree(default_prompts_dir(), folder)
    path = folder / "zh" / "phrases.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return folder


def test_a_phrase_that_cannot_be_filled_names_the_settings_it_needs(tmp_path):
    folder = _edited_copy(tmp_path, 'opening = ["您好，感谢您联系{company}！", "您好！"]',
                          'opening = "您好，感谢您联系{company}！"')
    with pytest.raises(ConfigError, match=r"opening: no alternative can be filled; set company.name") as error:
        PromptLibrary(folder)
    assert error.value.source.endswith("phrases.toml")
    assert PromptLibrary(folder, company=ACME).phrases("zh").opening == "您好，感谢您联系青禾家居！"


def test_unknown_placeholder_and_the_old_company_key_are_refused(tmp_path):
    folder = _edited_copy(tmp_path, 'clarify_intro = "', 'clarify_intro = "{name}')
    with pytest.raises(ConfigError, match=r"clarify_intro: unknown placeholder \{name\}"):
        PromptLibrary(folder)
    folder = _edited_copy(tmp_path / "b", "opening =", 'company = "某公司"\nopening =')
    with pytest.raises(ConfigError, match=r"company: the name now comes from the settings' \[company\]"):
        PromptLibrary(folder)


def test_one_levels_own_closing_wins_and_must_be_fillable(tmp_path):
    folder = tmp_path / "prompts"
    shutil.copytree(default_prompts_dir(), folder)
    path = folder / "zh" / "phrases.toml"   # tables go last: level_closing is the last plain key
    path.write_text(path.read_text(encoding="utf-8") + '\n[levels.gold]\nclosing = "尊敬的{level_name}，专线{level_contact}。"\n'
                    '\n[levels.silver]\nclosing = "银卡专线{level_contact}。"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"levels.silver.closing: no alternative can be filled; "
                                          r"set company.levels.silver.contact"):
        PromptLibrary(folder, company=ACME)
    company = ACME.model_copy(update={"levels": {**ACME.levels, "silver": MemberLevel(name="银卡", contact="1")}})
    phrases = PromptLibrary(folder, company=company).phrases("zh")
    assert phrases.closing_for(Customer(level="gold")) == "尊敬的金卡会员，专线400-111-3333。"
    assert phrases.closing_for(Customer(level="silver")) == "银卡专线1。"
