"""Fixed phrases (`prompts/<language>/phrases.toml`) with the company's details filled in.

A phrase is a string or a list of alternatives. The first alternative whose placeholders all
have values is used, so the shipped phrases name the company when `[company]` is set and stay
neutral ("您好！") when it is not; no company's name or number is built into the package.

Placeholders: `{company}`, `{hotline}`, `{service_hours}`; a level's closing (`level_closing`
for every level in `[company.levels]`, or `[levels.<name>] closing` for one) may also use
`{level_name}`, `{level_contact}`, `{level_hours}`. `{{` and `}}` are literal braces. A phrase
none of whose alternatives can be filled is a ConfigError naming it and the settings it needs.
"""

from __future__ import annotations

import string
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cs_rag.answering.smalltalk import SmallTalk
from cs_rag.config import CompanySettings, MemberLevel, default_prompts_dir
from cs_rag.errors import ConfigError
from cs_rag.types import Customer

PHRASE_KEYS = ("opening", "closing", "refusal", "handoff", "clarify_intro", "no_history",
               "no_customer", "greeting_reply", "thanks_reply", "farewell_reply", "presence_reply",
               "acknowledgement_reply")
# Added after operators made their own copies: a copy without one takes the shipped wording.
LATER_KEYS = ("suggestion_reply",)
LEVEL_CLOSING = "level_closing"     # optional: the closing for any level in [company.levels]
COMPANY_FIELDS = {"company": "company.name", "hotline": "company.hotline",
                  "service_hours": "company.service_hours"}
LEVEL_FIELDS = {"level_name": "name", "level_contact": "contact", "level_hours": "hours"}
# What templates (prompt.py) say for {company} when no name is set.
NEUTRAL_COMPANY = {"zh": "本公司", "en": "the company"}


def placeholder_names(text: str) -> list[str]:
    """Field names in a str.format template; attribute or index access is refused (ValueError)."""
    names = []
    for _, name, spec, conversion in string.Formatter().parse(text):
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise ValueError(f"placeholder {{{name}}} must be a plain name like {{question}}")
        names.append(name)
    return names


def company_name(company: CompanySettings, language: str) -> str | None:
    """The name replies in `language` use: `name_en` for English when set, else `name`."""
    if language == "en" and company.name_en:
        return company.name_en
    return company.name


@dataclass(frozen=True)
class Phrases:
    """The fixed lines of one language, filled in for one company."""

    opening: str
    closing: str
    refusal: str
    handoff: str
    clarify_intro: str
    no_history: str
    no_customer: str
    greeting_reply: str          # replies to small talk (cs_rag.answering.smalltalk), one per kind
    thanks_reply: str
    farewell_reply: str
    presence_reply: str
    acknowledgement_reply: str
    suggestion_reply: str        # thanks for a suggestion, passed to the product team
    level_closings: dict[str, str] = field(default_factory=dict)

    def small_talk_reply(self, kind: SmallTalk) -> str:
        return getattr(self, f"{kind.value}_reply")

    def closing_for(self, customer: Customer | None) -> str:
        """The closing line for this customer's level, or the standard one."""
        return self.level_line(customer) or self.closing

    def level_line(self, customer: Customer | None) -> str:
        """The closing of this customer's level (its own line, e.g. a 24/7 member hotline), or ""
        for a customer without a configured level; refusals and hand-offs end with it too."""
        if customer is not None and customer.level:
            return self.level_closings.get(customer.level.strip().lower(), "")
        return ""


def load_phrases(path: Path, company: CompanySettings | None = None,
                 language: str = "zh") -> Phrases:
    """Read one language's phrases and fill in `company`; ConfigError names the file and key."""
    company = company or CompanySettings()
    data = _read(path)
    values = {"company": company_name(company, language), "hotline": company.hotline,
              "service_hours": company.service_hours}
    filled = {key: _fill(path, key, data[key], values, required=True) for key in PHRASE_KEYS}
    for key in LATER_KEYS:
        source = path if key in data else default_prompts_dir() / language / path.name
        raw = data[key] if key in data else _read(source)[key]
        filled[key] = _fill(source, key, raw, values, required=True)
    closings: dict[str, str] = {}
    if LEVEL_CLOSING in data:  # a level without what the phrase needs keeps the standard closing
        for level, member in company.levels.items():
            text = _fill(path, LEVEL_CLOSING, data[LEVEL_CLOSING], {**values, **_level_values(member)},
                         required=False, level=level)
            if text is not None:
                closings[level] = text
    for level, spec in data.get("levels", {}).items():
        key = level.strip().lower()
        if not isinstance(spec, dict) or "closing" not in spec:
            raise ConfigError(None, f"[levels.{level}] needs closing = \"...\"", source=str(path))
        member = company.levels.get(key)
        level_values = _level_values(member) if member else {}
        closings[key] = _fill(path, f"levels.{level}.closing", spec["closing"],
                              {**values, **level_values}, required=True, level=key)
    return Phrases(**filled, level_closings=closings)


def _read(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(None, f"cannot read phrases: {exc}", source=str(path)) from None
    if "company" in data:
        raise ConfigError(None, "company: the name now comes from the settings' [company] section "
                          "(company.name), and phrases use it as {company}", source=str(path))
    missing = [key for key in PHRASE_KEYS if key not in data]
    if missing:
        raise ConfigError(None, f"missing text for {', '.join(missing)}", source=str(path))
    unknown = set(data) - set(PHRASE_KEYS) - set(LATER_KEYS) - {LEVEL_CLOSING, "levels"}
    if unknown:
        raise ConfigError(None, f"unknown key {sorted(unknown)[0]!r}; allowed: "
                          f"{', '.join([*PHRASE_KEYS, *LATER_KEYS])}, {LEVEL_CLOSING}, [levels.<name>]", source=str(path))
    return data


def _level_values(member: MemberLevel) -> dict[str, str | None]:
    return {placeholder: getattr(member, attribute) for placeholder, attribute in LEVEL_FIELDS.items()}


def _fill(path: Path, key: str, raw: Any, values: dict[str, str | None], *, required: bool,
          level: str | None = None) -> str | None:
    """The first alternative of `raw` whose placeholders all have values; None (or, when
    `required`, ConfigError naming the settings it needs) when there is none."""
    alternatives = [raw] if isinstance(raw, str) else raw
    if not isinstance(alternatives, list) or not alternatives or \
            not all(isinstance(a, str) for a in alternatives):
        raise ConfigError(None, f"{key}: give a text or a list of texts", source=str(path))
    wanted: set[str] = set()
    for text in alternatives:
        try:
            names = placeholder_names(text)
        except ValueError as exc:
            raise ConfigError(None, f"{key}: {exc}", source=str(path)) from None
        allowed = set(COMPANY_FIELDS) | (set(LEVEL_FIELDS) if level is not None else set())
        unknown = [n for n in names if n not in allowed]
        if unknown:
            raise ConfigError(None, f"{key}: unknown placeholder {{{unknown[0]}}}; allowed: "
                              f"{', '.join('{%s}' % a for a in sorted(allowed))}", source=str(path))
        missing = [n for n in names if not values.get(n)]
        if not missing:
            return text.format(**{n: values[n] for n in names})
        wanted.update(missing)
    if not required:
        return None
    settings = sorted(COMPANY_FIELDS.get(n) or f"company.levels.{level}.{LEVEL_FIELDS[n]}"
                      for n in wanted)
    raise ConfigError(None, f"{key}: no alternative can be filled; set {', '.join(settings)} "
                      "or add an alternative without placeholders", source=str(path))
