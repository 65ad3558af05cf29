"""Atomic, undoable edits of small files (the service's and the learning loop's own knowledge)."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

Undo = Callable[[], None]   # puts a file back as it was before a change


class FileEditor:
    """Edits files atomically (a dot-named temporary file, which ingest skips, then a rename)
    and returns for each change an undo that restores the file as it was, unless it has changed
    again since. Thread-safe: one lock serialises every edit made through this editor."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def edit(self, path: Path, change: Callable[[bytes | None], bytes | None]) -> Undo:
        """Replace the file's bytes (None: absent) by `change(old)`; None deletes it."""
        with self._lock:
            before = path.read_bytes() if path.exists() else None
            after = change(before)
            write_atomic(path, after)

        def undo() -> None:
            with self._lock:
                now = path.read_bytes() if path.exists() else None
                if now == after:
                    write_atomic(path, before)
        return undo


def write_atomic(path: Path, data: bytes | None) -> None:
    """Write `data` to `path` through a rename, or delete the file when `data` is None."""
    if data is None:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    tmp.write_bytes(data)
    os.replace(tmp, path)
