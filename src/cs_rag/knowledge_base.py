"""A knowledge base: incremental ingest into its index (embedded files or PostgreSQL), and search."""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from cs_rag.config import PG_DSN_ENV, ChunkingSettings, Settings
from cs_rag.errors import ConfigError, IndexMismatchError, InputError
from cs_rag.index.base import Index, SearchFilter
from cs_rag.index.embedded import DocumentRecord, EmbeddedIndex, Row
from cs_rag.index.postgres import PostgresStore
from cs_rag.index.store import (
    CALIBRATION_FILE,
    SYNONYMS_FILE,
    TUNED_FILE,
    USER_DICT_FILE,
    Store,
    Version,
)
from cs_rag.index.versions import FolderStore
from cs_rag.ingest.chunking import document_chunks, has_answer_chunk
from cs_rag.ingest.generated import CACHE_FILE, QuestionWriter, with_generated_questions
from cs_rag.ingest.sources import collect_documents
from cs_rag.models.adapter import fit_adapter
from cs_rag.models.e5_convert import E5_MODEL_NAME
from cs_rag.models.embedding import MINILM_MODEL_NAME, Embedder
from cs_rag.models.tuning import TunedLayers, tuning_for
from cs_rag.retrieval.calibrate import MIN_ENTRIES, fit_calibration
from cs_rag.retrieval.confidence import Calibration
from cs_rag.retrieval.hybrid import HybridRetriever, default_calibration
from cs_rag.state import PostgresState, SqliteState, StateDatabase
from cs_rag.text import Tokenizer, has_cjk
from cs_rag.types import (
    Chunk,
    Document,
    DocumentKind,
    Hit,
    IngestReport,
    Retrieval,
    SkippedInput,
)

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (texts embedded so far, texts to embed)
class KnowledgeBase:
    """An index with the tokenizer and embedding model that built it.

    The index remembers its embedding model and user dictionary; search always uses those.
    With `embedding.model = "auto"` (the default) a new index whose knowledge is English only
    gets the English model, any other the multilingual one (see `choose_model`). Configuring a
    different model for an existing index raises IndexMismatchError. Pass an `embedder` to
    share one loaded model between knowledge bases (it is then used whatever the language).

    With `index.backend = "postgres"` the index lives in PostgreSQL (DSN from CS_RAG_PG_DSN)
    in the schema `index.pg_schema`, by default `index_dir`'s last part; every process using
    that schema sees each ingest as soon as it commits.
    """

    def __init__(self, index_dir: str | Path, settings: Settings | None = None,
                 embedder: Embedder | None = None, question_writer: QuestionWriter | None = None) -> None:
        self.index_dir = Path(index_dir)
        self.settings = settings or Settings()
        self._shared_embedder = embedder
        self.question_writer = question_writer   # writes similar questions (index.generated_questions)
        self._embedders: dict[str, Embedder] = {}  # by model name: each model loads once
        self._loaded: tuple[Version, Index, Tokenizer, Embedder] | None = None
        self._retriever: HybridRetriever | None = None
        self.store: Store = _store(self.index_dir, self.settings)

    # ---- reading -------------------------------------------------------------------------

    @property
    def exists(self) -> bool:
        return self.store.live() is not None

    def index(self) -> Index:
        """The live index version (reloaded when an ingest has switched in a new one)."""
        return self._live()[1]

    def version(self) -> str | None:
        """A name for the live version (an index folder, or a postgres generation); None if
        nothing was ingested."""
        live = self.store.live()
        return live.name if live else None

    def document_chunks(self, doc_id: str) -> list[Chunk]:
        """The live chunks of one document, in order (an FAQ entry is one chunk)."""
        return self.index().document_chunks(doc_id)

    def content(self) -> EmbeddedIndex:
        """The live version's whole content: every chunk, its match texts and their stored
        vectors. On the embedded backend the loaded index itself; on PostgreSQL an export,
        read in full at each call."""
        index = self.index()
        if isinstance(index, EmbeddedIndex):
            return index
        exported = self.store.export()
        if exported is None:
            raise IndexMismatchError(f"{self.index_dir} holds no index")
        return exported

    def search(self, query: str, k: int = 10, where: SearchFilter | None = None) -> list[Hit]:
        """Ranked hits for a customer's question."""
        return self.retriever().search(query, k=k, where=where)

    def retrieve(self, query: str, k: int = 10, where: SearchFilter | None = None, *,
                 read_evidence: bool = True) -> Retrieval:
        """Ranked hits with calibrated confidence and a decision: answer, clarify or none."""
        return self.retriever().retrieve(query, k=k, where=where, read_evidence=read_evidence)

    def retriever(self) -> HybridRetriever:
        """The retriever over the live index version, with this index's calibration."""
        version, index, tokenizer, embedder = self._live()
        if self._retriever is None or self._retriever.index is not index:
            path = version.folder / CALIBRATION_FILE
            calibration = Calibration.load(path) if path.is_file() else None
            if calibration is not None and not calibration.fitted_under(self.settings.retrieval):
                log.warning("%s: confidence was fitted under other retrieval settings than these; "
                            "re-ingest with this config to refit it (`cs-rag eval` refits on the fly)",
                            self.index_dir)
            self._retriever = HybridRetriever(index, tokenizer, embedder, self.settings.retrieval,
                                              calibration)
        return self._retriever

    def _live(self) -> tuple[Version, Index, Tokenizer, Embedder]:
        version = self.store.live()
        if version is None:
            raise IndexMismatchError(f"{self.index_dir} holds no index; run `cs-rag ingest "
                                     f"PATH --index {self.index_dir}` first")
        if self._loaded is None or self._loaded[0] != version:
            index = self.store.open(version)
            embedder = self._embedder_for(index.manifest.embedding_model)
            embedder = embedder.with_tuned(_tuned_in(version.folder))
            tokenizer = _tokenizer_in(version.folder, self.settings)
            if tokenizer.fingerprint != index.manifest.tokenizer_fingerprint:
                raise IndexMismatchError(f"{version.folder}: built with tokenizer "
                                         f"{index.manifest.tokenizer_fingerprint}, this cs_rag "
                                         f"tokenizes as {tokenizer.fingerprint}; re-ingest")
            self._loaded = (version, index, tokenizer, embedder)
        return self._loaded

    def _embedder_for(self, model_name: str | None, suited: str = "e5-small") -> Embedder:
        """The embedder for an index built with `model_name`, or for a new index (None) of
        knowledge that `suited` model fits (see choose_model)."""
        configured = self._shared_embedder or Embedder(self.settings.embedding)
        explicit = self._shared_embedder is not None or self.settings.embedding.model != "auto"
        chosen = configured
        if model_name is None and not explicit:
            if suited != configured.spec:
                chosen = Embedder(self.settings.embedding.model_copy(update={"model": suited}))
        elif model_name is not None and configured.name != model_name:
            if explicit:
                raise IndexMismatchError(f"{self.index_dir} was built with embedding model "
                                         f"{model_name!r}, settings ask for {configured.name!r}; "
                                         "use a new index directory")
            spec = _model_spec(model_name)
            chosen = Embedder(self.settings.embedding.model_copy(update={"model": spec}))
        return self._embedders.setdefault(chosen.name, chosen)

    # ---- writing -------------------------------------------------------------------------

    def ingest(self, paths: Iterable[str | Path], *, skip_bad: bool = False,
               progress: Progress | None = None, refit: bool = False) -> IngestReport:
        """Bring the index in line with the knowledge under `paths`.

        Documents from files under `paths` are added, updated or (if gone) removed; documents
        from other sources stay. Only texts whose content hash is new are embedded. Bad input
        raises InputError before anything is written unless `skip_bad`. The new version is
        switched in atomically: on any failure the previous index stays live and unchanged.
        With `index.fine_tune`, the embedding model's top layers are fitted on the FAQ at the
        first ingest, again once REFIT_SHARE of its entries changed or when `refit` is asked
        (a refit re-embeds every text); `report.tuning` says which happened. With
        `index.generated_questions`, `question_writer` is asked first (`report.generated`).
        """
        started = time.perf_counter()
        paths = [Path(p) for p in paths]
        collected = collect_documents(paths, skip_bad=skip_bad)
        generation = None
        if self.settings.index.generated_questions:   # before the writer's lock: a model takes minutes
            if self.settings.index.backend == "postgres":
                raise ConfigError("index.generated_questions", "the postgres backend has no place for "
                                  "the model's wordings yet: use the embedded backend, or 0")
            collected.documents, generation = with_generated_questions(
                collected.documents, self.settings.index.generated_questions,
                self.index_dir / CACHE_FILE, self.question_writer)
        with self.store.writing() as writing:
            old, old_folder = writing.previous, writing.previous_folder
            suited = choose_model(collected.documents)
            embedder = self._embedder_for(old.manifest.embedding_model if old else None, suited)
            if embedder.spec == "minilm-l6" and suited != "minilm-l6":
                log.warning("%s: this knowledge has Chinese but the index was built with the "
                            "English-only model %s; ingest it into a new index to embed it with "
                            "e5-small", self.index_dir, MINILM_MODEL_NAME)
            user_dict = self._dictionary(USER_DICT_FILE, self.settings.text.user_dict,
                                         collected.folders, old_folder)
            synonyms = self._dictionary(SYNONYMS_FILE, self.settings.text.synonyms,
                                        collected.folders, old_folder)
            tokenizer = Tokenizer.create(user_dict, self.settings.text.stopwords, synonyms)
            plan = _plan(old, collected.documents, [p.resolve() for p in paths], skip_bad,
                         self.settings.index.faq_answers, self.settings.chunking)
            report = IngestReport(skipped=[*collected.skipped, *plan.skipped],
                                  generated=generation.summary() if generation else None)
            chunks, tokens, records = self._lay_out(plan, old, tokenizer)
            previous = None if refit else _tuned_in(old_folder)   # a refit never reads the old fit
            tuned, report.tuning = tuning_for(chunks, previous, embedder,
                                              enabled=self.settings.index.fine_tune)
            embedder = embedder.with_tuned(tuned)
            index = self._assemble(chunks, tokens, records, plan, old, tokenizer, embedder, report,
                                   progress)
            if self.settings.index.adapter and index.faq_questions_only():
                index = index.with_adapter(fit_adapter(*index.question_groups()))
            calibration = fit_calibration(index, tokenizer, embedder, self.settings.retrieval)
            if calibration is None:
                self._warn_if_shipped_calibration_is_foreign(index.manifest.embedding_model)
            writing.commit(index, calibration.model_dump_json(indent=1) if calibration else None,
                           user_dict, synonyms, tuned.to_text() if tuned is not None else None)
        report.chunks = len(index)
        report.seconds = time.perf_counter() - started
        return report

    def _warn_if_shipped_calibration_is_foreign(self, model: str) -> None:
        """Log a warning when the shipped calibration, which this index falls back to, was
        fitted with another embedding model than the index's `model`."""
        shipped = default_calibration().embedding_model
        if shipped != model:
            log.warning("%s: too few FAQ entries with similar questions to calibrate confidence on "
                        "this knowledge, and the calibration shipped with cs_rag was fitted for the "
                        "embedding model %s, not this index's %s: confidence and refusals will be "
                        "unreliable. Give at least %d FAQ entries similar questions and ingest again, "
                        "so that this knowledge base calibrates itself", self.index_dir, shipped,
                        model, MIN_ENTRIES)

    @staticmethod
    def _dictionary(name: str, configured: Path | None, folders: Sequence[Path],
                    old_folder: Path | None) -> Path | None:
        """Where a dictionary file comes from: the setting, else `name` at the top of an
        ingested folder, else the copy the index already has."""
        if configured is not None:
            return configured
        candidates = [f / name for f in folders] + ([old_folder / name] if old_folder else [])
        return next((c for c in candidates if c.is_file()), None)

    def _lay_out(self, plan: _Plan, old: EmbeddedIndex | None, tokenizer: Tokenizer
                 ) -> tuple[list[Chunk], list[list[list[str]]], dict[str, DocumentRecord]]:
        """The new version's chunks in order, each match text's tokens, and the documents'
        records: unchanged documents keep their chunks (and tokens, under the same tokenizer)."""
        same_tokens = old is not None and old.manifest.tokenizer_fingerprint == tokenizer.fingerprint
        old_by_doc = _chunks_by_doc(old) if old else {}
        chunks: list[Chunk] = []
        tokens: list[list[list[str]]] = []
        records: dict[str, DocumentRecord] = {}
        for item in plan.items:
            if item.document is None or item.status == "unchanged":
                source = item.document.source if item.document else item.record.source
                pairs = [(c.model_copy(update={"source": source}), r)
                         for c, r in old_by_doc[item.doc_id]]
                reuse_tokens = same_tokens
            else:
                pairs = [(c, []) for c in document_chunks(item.document, self.settings.chunking,
                                                          self.settings.index.faq_answers)]
                reuse_tokens = False
            for chunk, old_rows in pairs:
                chunks.append(chunk)
                tokens.append([old_rows[j].tokens if reuse_tokens else tokenizer.tokenize(text)
                               for j, text in enumerate(chunk.match_texts)])
            records[item.doc_id] = item.record.model_copy(update={"chunks": len(pairs),
                                                                  "source": pairs[0][0].source})
        return chunks, tokens, records

    def _assemble(self, chunks: list[Chunk], tokens: list[list[list[str]]],
                  records: dict[str, DocumentRecord], plan: _Plan, old: EmbeddedIndex | None,
                  tokenizer: Tokenizer, embedder: Embedder, report: IngestReport,
                  progress: Progress | None) -> EmbeddedIndex:
        rows: list[Row] = []
        texts: dict[str, tuple[str, str]] = {}  # embedding key -> (text, role)
        for ordinal, chunk in enumerate(chunks):
            role = _role(chunk)
            for text, text_tokens in zip(chunk.match_texts, tokens[ordinal]):
                key = embedder.text_key(text, role)
                rows.append(Row(ordinal, key, text_tokens))
                texts[key] = (text, role)
        vectors = _vectors_for(rows, texts, old, embedder, report, progress)
        report.added, report.updated = plan.added, plan.updated
        report.removed, report.unchanged = plan.removed, plan.unchanged
        return EmbeddedIndex.build(chunks, rows, vectors, embedding_model=embedder.name,
                                   tokenizer_fingerprint=tokenizer.fingerprint, documents=records)


class _PlanItem:
    def __init__(self, doc_id: str, status: str, record: DocumentRecord,
                 document: Document | None) -> None:
        self.doc_id, self.status, self.record, self.document = doc_id, status, record, document


class _Plan:
    def __init__(self) -> None:
        self.items: list[_PlanItem] = []
        self.added: list[str] = []
        self.updated: list[str] = []
        self.removed: list[str] = []
        self.unchanged: list[str] = []
        self.skipped: list[SkippedInput] = []


def _plan(old: EmbeddedIndex | None, documents: list[Document], roots: list[Path],
          skip_bad: bool, faq_answers: bool, chunking: ChunkingSettings) -> _Plan:
    """Decide, per document, keep / add / update / remove; out-of-scope documents stay first.
    An unchanged FAQ entry indexed under another `faq_answers` setting counts as updated."""
    plan = _Plan()
    old_docs = old.manifest.documents if old else {}
    old_texts = _match_texts_by_doc(old)
    new_ids = {d.id for d in documents}
    for doc_id, record in old_docs.items():
        if not _in_scope(Path(record.file), roots):
            plan.items.append(_PlanItem(doc_id, "kept", record, None))
        elif doc_id not in new_ids:
            plan.removed.append(doc_id)
    kept = {i.doc_id for i in plan.items}
    for document in documents:
        if document.id in kept:
            error = InputError(document.source, f"duplicate id {document.id!r} (already in the "
                               f"index from {old_docs[document.id].source})", field="id")
            if not skip_bad:
                raise error
            plan.skipped.append(SkippedInput(source=document.source, reason=str(error)))
            continue
        record = DocumentRecord(content_hash=document.content_hash, kind=document.kind,
                                source=document.source, file=document.file or document.source,
                                chunks=0)
        previous = old_docs.get(document.id)
        if previous is None:
            status, bucket = "added", plan.added
        elif (previous.content_hash == record.content_hash
              and (previous.chunks == 1 + has_answer_chunk(document, faq_answers)
                   if document.kind is DocumentKind.FAQ
                   else old_texts.get(document.id) == [c.match_texts for c in
                                                       document_chunks(document, chunking)])):
            status, bucket = "unchanged", plan.unchanged
        else:
            status, bucket = "updated", plan.updated
        bucket.append(document.id)
        plan.items.append(_PlanItem(document.id, status, record, document))
    return plan


def _tuned_in(folder: Path | None) -> TunedLayers | None:
    """The fine-tuned layers a version was embedded with (its TUNED_FILE), if any."""
    path = folder / TUNED_FILE if folder is not None else None
    if path is None or not path.is_file():
        return None
    try:
        return TunedLayers.from_text(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise IndexMismatchError(f"{path} is unreadable: {exc}; re-ingest with --refit") from None


def _role(chunk: Chunk) -> str:
    """FAQ questions are embedded as queries (question-to-question matching); answers and
    document text as passages."""
    return "query" if chunk.kind is DocumentKind.FAQ and not chunk.answer_field else "passage"


def _in_scope(file: Path, roots: list[Path]) -> bool:
    """Whether `file` (an index record's, resolved when written; relative only in learned
    entries of indexes built before, then resolved from the working directory) lies under one of
    `roots`. Absolute paths are not resolved again: this runs for every document at each ingest."""
    if not file.is_absolute():
        file = file.resolve()
    return any(file == root or root in file.parents for root in roots)


def _match_texts_by_doc(index: EmbeddedIndex | None) -> dict[str, list[list[str]]]:
    """What the index matches each document's chunks on. Chunking settings change it: a document
    whose chunks would now be cut or matched otherwise is re-chunked, not kept as it was."""
    grouped: dict[str, list[list[str]]] = {}
    for chunk in index.chunks if index is not None else []:
        grouped.setdefault(chunk.doc_id, []).append(chunk.match_texts)
    return grouped


def _chunks_by_doc(index: EmbeddedIndex) -> dict[str, list[tuple[Chunk, list[Row]]]]:
    grouped: dict[str, list[tuple[Chunk, list[Row]]]] = {}
    rows_of: dict[int, list[Row]] = {}
    for row in index.rows:
        rows_of.setdefault(row.chunk, []).append(row)
    for ordinal, chunk in enumerate(index.chunks):
        grouped.setdefault(chunk.doc_id, []).append((chunk, rows_of[ordinal]))
    return grouped


def _vectors_for(rows: list[Row], texts: dict[str, tuple[str, str]], old: EmbeddedIndex | None,
                 embedder: Embedder, report: IngestReport,
                 progress: Progress | None) -> np.ndarray:
    """One vector per row, reusing the old index's vector for every known content key;
    `texts` maps each key to the text and role to embed."""
    old_rows = {r.key: i for i, r in enumerate(old.rows)} if old else {}
    old_vectors = old.vectors if old else None
    missing = {key: texts[key] for key in texts if key not in old_rows}
    fresh: dict[str, np.ndarray] = {}
    done = 0
    for role in ("query", "passage"):
        keys = [k for k, (_, r) in missing.items() if r == role]
        if not keys:
            continue

        def step(n: int) -> None:
            nonlocal done
            done += n
            if progress:
                progress(done, len(missing))

        encoded = embedder.encode([missing[k][0] for k in keys], role, progress=step)
        fresh.update(zip(keys, encoded))
    report.texts_embedded = len(missing)
    if not rows:
        return np.zeros((0, 0), dtype=np.float32)
    dim = (old_vectors.shape[1] if old_vectors is not None and old_vectors.size
           else next(iter(fresh.values())).shape[0])
    out = np.empty((len(rows), dim), dtype=np.float32)
    for i, row in enumerate(rows):
        out[i] = fresh[row.key] if row.key in fresh else old_vectors[old_rows[row.key]]
    return out


def _store(index_dir: Path, settings: Settings) -> Store:
    """Where the knowledge base's versions live: `index_dir`'s version folders, or for the
    postgres backend a schema of the database CS_RAG_PG_DSN names."""
    if settings.index.backend != "postgres":
        return FolderStore(index_dir)
    return PostgresStore(*_postgres_schema(index_dir, settings), settings.index.pool_size)


SERVICE_DB = "service.db"   # the state's file in the service's data folder (embedded backend)
STATE_SCHEMA_SUFFIX = "_state"


def state_database(index_dir: Path, settings: Settings, data_dir: Path) -> StateDatabase:
    """Where the service's state (sessions, reviews, answers, feedback, the learning queue,
    jobs) lives for this knowledge base: `data_dir`/SERVICE_DB with the embedded backend; with
    the postgres backend, schema `<knowledge base schema>_state` of the same database, which
    every replica of the service shares."""
    if settings.index.backend != "postgres":
        return SqliteState(data_dir / SERVICE_DB)
    dsn, schema = _postgres_schema(index_dir, settings)
    return PostgresState(dsn, schema[:63 - len(STATE_SCHEMA_SUFFIX)] + STATE_SCHEMA_SUFFIX,
                         settings.index.pool_size)


def _postgres_schema(index_dir: Path, settings: Settings) -> tuple[str, str]:
    """(DSN from CS_RAG_PG_DSN, the knowledge base's schema: index.pg_schema, else derived from
    the index argument's last path part)."""
    dsn = os.environ.get(PG_DSN_ENV)
    if not dsn:
        raise ConfigError(PG_DSN_ENV, "index.backend is postgres: set the connection string "
                          "(e.g. host=db.internal dbname=cs_rag user=cs_rag) in this environment variable")
    schema = settings.index.pg_schema or re.sub(r"[^a-z0-9_]", "_", index_dir.name.lower())[:63]
    if not schema or schema[0].isdigit():
        schema = f"kb_{schema}"[:63]
    return dsn, schema


ENGLISH_ONLY_MAX_CJK_SHARE = 0.01  # documents with Chinese an "English" knowledge base may hold


def choose_model(documents: Sequence[Document]) -> str:
    """The embedding model "auto" means for a new index of `documents`: "minilm-l6" when fewer
    than 1% of them contain Chinese (it ranks English FAQ paraphrases better than e5:
    banking77 R@1 .83 vs .76, benchmarks/retrieval.py), else "e5-small"."""
    if not documents:
        return "e5-small"
    with_cjk = sum(1 for d in documents if has_cjk(d.model_dump_json(exclude={"source", "file"})))
    return "minilm-l6" if with_cjk / len(documents) < ENGLISH_ONLY_MAX_CJK_SHARE else "e5-small"


def _model_spec(model_name: str) -> str:
    """The embedding.model setting that rebuilds the model a manifest names."""
    if model_name == E5_MODEL_NAME:
        return "e5-small"
    if model_name == MINILM_MODEL_NAME:
        return "minilm-l6"
    if model_name.startswith("st:"):
        return model_name[3:]
    return model_name


def _tokenizer_in(folder: Path, settings: Settings) -> Tokenizer:
    """The tokenizer an index version was built with (its own dictionary copies)."""
    user_dict, synonyms = folder / USER_DICT_FILE, folder / SYNONYMS_FILE
    return Tokenizer.create(user_dict if user_dict.is_file() else None, settings.text.stopwords,
                            synonyms if synonyms.is_file() else None)
