"""Versioned index directories: build beside the live version, switch with an atomic rename.

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
from pathlib import Path

from cs_rag.errors import IndexStoreError

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
