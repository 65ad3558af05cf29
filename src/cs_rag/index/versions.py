"""The embedded backend's Store: versioned index directories, each built beside the live
version and switched in with an atomic rename.

Layout: DIR/CURRENT names the live version folder (DIR/v-...). A writer holds DIR/.lock,
builds a new folder, then replaces CURRENT via os.replace; a killed writer leaves only an
unreferenced folder, removed by the next writer. The previous version is kept one round so
a reader that resolved CURRENT just before a switch can still finish loading.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cs_rag.errors import IndexStoreError
from cs_rag.index.embedded import EmbeddedIndex
from cs_rag.index.store import CALIBRATION_FILE, SYNONYMS_FILE, TUNED_FILE, USER_DICT_FILE, Version

POINTER = "CURRENT"
_PREFIX = "v-"


def current_version(root: Path) -> Path | None:
    """The live version folder, or None if the index has never been written."""
    pointer = root / POINTER
    if not pointer.is_file():
        return None
    name = pointer.read_text(encoding="utf-8").strip()
    folder = root / name
    if not name.startswith(_PREFIX) or not folder.is_dir():
        raise IndexStoreError(f"{pointer} names {name!r}, which is not a version folder")
    return folder


@contextlib.contextmanager
def writer_lock(root: Path) -> Iterator[None]:
    """Exclusive writer lock on the index directory (blocks until free)."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def new_version_folder(root: Path) -> Path:
    """A fresh, empty folder for the next version (call under writer_lock)."""
    folder = root / f"{_PREFIX}{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    return folder


def publish(root: Path, folder: Path) -> None:
    """Make `folder` the live version atomically, then drop versions older than the previous."""
    previous = current_version(root)
    tmp = root / f".{POINTER}.{uuid.uuid4().hex[:8]}"
    tmp.write_text(folder.name + "\n", encoding="utf-8")
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, root / POINTER)
    keep = {folder.name, previous.name if previous else None}
    for stale in root.glob(f"{_PREFIX}*"):
        if stale.name not in keep:
            shutil.rmtree(stale, ignore_errors=True)
    for stale in root.glob(f".{POINTER}.*"):
        stale.unlink(missing_ok=True)


class FolderStore:
    """The Store of an embedded knowledge base: version folders under `root` (see the module doc)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def live(self) -> Version | None:
        folder = current_version(self.root)
        return Version(folder.name, folder) if folder else None

    def open(self, version: Version) -> EmbeddedIndex:
        return EmbeddedIndex.load(version.folder)

    def export(self) -> EmbeddedIndex | None:
        version = self.live()
        return self.open(version) if version else None

    @contextlib.contextmanager
    def writing(self) -> Iterator["FolderWriting"]:
        with writer_lock(self.root):
            folder = current_version(self.root)
            yield FolderWriting(self.root, EmbeddedIndex.load(folder) if folder else None, folder)


@dataclass
class FolderWriting:
    """An ingest's hold on a FolderStore: commit saves a new version folder and publishes it."""

    root: Path
    previous: EmbeddedIndex | None
    previous_folder: Path | None

    def commit(self, index: EmbeddedIndex, calibration_json: str | None,
               user_dict: Path | None, synonyms: Path | None, tuned_json: str | None = None) -> None:
        folder = new_version_folder(self.root)
        try:
            index.save(folder)
            for text, name in ((calibration_json, CALIBRATION_FILE), (tuned_json, TUNED_FILE)):
                if text is not None:
                    (folder / name).write_text(text, encoding="utf-8")
            for source, name in ((user_dict, USER_DICT_FILE), (synonyms, SYNONYMS_FILE)):
                if source is not None:
                    shutil.copyfile(source, folder / name)
            publish(self.root, folder)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
