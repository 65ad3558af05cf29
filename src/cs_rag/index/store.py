"""The write contract every backend implements: `Store`, where a knowledge base's versions
live (find the live one, write the next), and the `Writing` an ingest holds."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cs_rag.index.base import Index
from cs_rag.index.embedded import EmbeddedIndex

# The files a version carries beside its index: the dictionaries it was tokenized with, the
# confidence calibration fitted on it and the embedding model's fine-tuned layers it was
# embedded with (models.tuning; none when the knowledge base is not fine-tuned).
USER_DICT_FILE = "userdict.txt"
SYNONYMS_FILE = "synonyms.txt"
CALIBRATION_FILE = "calibration.json"
TUNED_FILE = "tuned_layers.json"
VERSION_FILES = (USER_DICT_FILE, SYNONYMS_FILE, CALIBRATION_FILE, TUNED_FILE)


@dataclass(frozen=True)
class Version:
    """One published version of a knowledge base: `name` identifies it, `folder` is a local
    folder holding its VERSION_FILES (those it has)."""

    name: str
    folder: Path


class Writing(Protocol):
    """One ingest's hold on a store (no other writer runs until it ends): the live content,
    and `commit`, which publishes the next version atomically (readers see all of it or none)."""

    previous: EmbeddedIndex | None   # the live content in memory; None if never ingested
    previous_folder: Path | None       # the live version's VERSION_FILES

    def commit(self, index: EmbeddedIndex, calibration_json: str | None,
               user_dict: Path | None, synonyms: Path | None, tuned_json: str | None = None) -> None: ...


class Store(Protocol):
    """Where a knowledge base's versions live; the write contract every backend meets.

    - `live()` is the version searches use now, None before the first ingest.
    - `open(version)` loads its Index; `export()` the live content as an in-memory index
      (None before the first ingest), e.g. to fit confidence on.
    - `writing()` holds the store's single writer: concurrent ingests queue, and a reader
      sees the version before or after a commit, never a mix.
    """

    def live(self) -> Version | None: ...

    def open(self, version: Version) -> Index: ...

    def export(self) -> EmbeddedIndex | None: ...

    def writing(self) -> AbstractContextManager[Writing]: ...
