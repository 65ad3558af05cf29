"""A knowledge base in PostgreSQL as a Store: versions are generations, published by one
writer at a time under the schema's advisory lock."""


from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cs_rag.index.embedded import EmbeddedIndex
from cs_rag.index.postgres.database import PostgresSchema
from cs_rag.index.postgres.schema import (
    _LOCK_KEY,
)
from cs_rag.index.postgres.search import PostgresIndex
from cs_rag.index.postgres.writer import PostgresWriter, export_content
from cs_rag.index.store import (
    CALIBRATION_FILE,
    SYNONYMS_FILE,
    TUNED_FILE,
    USER_DICT_FILE,
    VERSION_FILES,
    Version,
)


class PostgresStore(PostgresSchema):
    """The Store of a postgres-backed knowledge base (see cs_rag.index.base.Store): its versions
    are the schema's generations; `index()` searches the live one, `writer()` holds the lock."""

    def __init__(self, dsn: str, schema: str, pool_size: int = 4) -> None:
        super().__init__(dsn, schema, pool_size)
        self._copies: tempfile.TemporaryDirectory | None = None  # VERSION_FILES per generation
        self._live: Version | None = None   # the last generation live() read, with its meta

    def index(self) -> PostgresIndex:
        return PostgresIndex(self)

    # ---- the Store contract --------------------------------------------------------------

    def live(self) -> Version | None:
        """The live generation, its VERSION_FILES copied to a local folder (once per generation).
        This runs on every search, so it asks only for the generation number: the meta (read in
        one snapshot with it) is read again only when the generation has changed. Once the schema
        was found current (check()), it is not looked up again (that takes a connection of its own)."""
        if not self._checked and not self.exists():
            return None
        with self.connection() as conn:
            generation = conn.execute("SELECT generation FROM stats").fetchone()[0]
        if not generation:
            return None
        if self._live is None or self._live.name != f"g{generation}":
            generation, meta = self.state()
            self._live = Version(f"g{generation}", self._copy_of(generation, meta)) if generation else None
        return self._live

    def open(self, version: Version) -> PostgresIndex:
        return PostgresIndex(self)

    def export(self) -> EmbeddedIndex | None:
        if not self.exists():
            return None
        with self.snapshot() as conn:
            return export_content(conn)

    @contextlib.contextmanager
    def writing(self) -> Iterator[PostgresWriting]:
        with self.writer() as writer:
            generation, meta = writer.generation(), writer.meta()
            previous = writer.export()
            folder = self._copy_of(generation, meta) if previous is not None else None
            yield PostgresWriting(writer, previous, folder)

    def _copy_of(self, generation: int, meta: dict[str, str]) -> Path:
        if self._copies is None:
            self._copies = tempfile.TemporaryDirectory(prefix="cs-rag-pg-")
        folder = Path(self._copies.name) / f"g{generation}"
        if not folder.is_dir():
            staging = Path(tempfile.mkdtemp(dir=self._copies.name))
            for name in VERSION_FILES:
                if name in meta:
                    (staging / name).write_text(meta[name], encoding="utf-8")
            staging.rename(folder)
        return folder

    # ---- writing -----------------------------------------------------------------------

    @contextlib.contextmanager
    def writer(self) -> Iterator[PostgresWriter]:
        """Exclusive writer for this knowledge base (blocks while another process ingests).
        Creates the schema on first use; never migrates an old one."""
        if not self.exists():
            self.init()
        with self.connection() as conn:
            conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (_LOCK_KEY + self.schema,))
            try:
                yield PostgresWriter(conn)
            finally:
                conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (_LOCK_KEY + self.schema,))




@dataclass
class PostgresWriting:
    """An ingest's hold on a PostgresStore: commit publishes the next generation with its files."""

    writer: PostgresWriter
    previous: EmbeddedIndex | None
    previous_folder: Path | None

    def commit(self, index: EmbeddedIndex, calibration_json: str | None,
               user_dict: Path | None, synonyms: Path | None, tuned_json: str | None = None) -> None:
        def text(path: Path | None) -> str | None:
            return path.read_text(encoding="utf-8") if path is not None else None
        self.writer.publish(index, {USER_DICT_FILE: text(user_dict), SYNONYMS_FILE: text(synonyms),
                                    CALIBRATION_FILE: calibration_json, TUNED_FILE: tuned_json})
