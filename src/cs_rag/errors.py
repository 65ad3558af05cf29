"""The cs_rag exception tree: one base class, a few leaves callers really catch.

    CsRagError
    ├── ConfigError            a setting is missing or invalid (names the key and its file)
    ├── InputError             a knowledge file is unreadable or malformed (names file and line/row/field)
    ├── EmbeddingError         the embedding model cannot be built or loaded
    ├── IndexStoreError        an index directory is missing, corrupt or incompatible
    │   └── IndexMismatchError built with another embedding model, tokenizer or format version
    └── LLMError               a chat model gave no usable reply or cannot run (`reason` says why)
"""

from __future__ import annotations


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


class EmbeddingError(CsRagError):
    """The embedding model cannot be built or loaded."""


class IndexStoreError(CsRagError):
    """An index directory is missing, corrupt or cannot be written."""


class IndexMismatchError(IndexStoreError):
    """The index was built with another embedding model, tokenizer or format version."""


class LLMError(CsRagError):
    """A chat model gave no usable reply, or the local one cannot run.

    `reason` is a short fixed word, so callers decide on retries and fallbacks without
    parsing the message: "timeout", "rate_limited", "server_error", "connection",
    "client_error" (a 4xx other than 429: a wrong key or model name), "malformed"
    (unparseable or empty reply, or a stream cut off), "unavailable" (the local model or its runtime
    is not installed or will not start; the message says what to install).
    """

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(message)
