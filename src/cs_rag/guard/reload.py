"""A value built from files and rebuilt when they change, without a restart."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

T = TypeVar("T")
_log = logging.getLogger(__name__)


class Reloading(Generic[T]):
    """Holds `build()`; rebuilds it when a file of `files()` is added, removed or modified.

    Files are looked at lazily, at most once every `interval` seconds (0: on every `get`), so
    the cost is a few `stat` calls per interval. The first build's errors propagate. A later
    rebuild that fails (a half-saved or mistyped file) keeps the last good value and logs the
    error; the next change is tried again. Thread-safe; readers never see a partial build.
    """

    def __init__(self, build: Callable[[], T], files: Callable[[], list[Path]], interval: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._build = build
        self._files = files
        self._interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._value: T | None = None
        self._stamp: tuple | None = None
        self._checked = 0.0

    def get(self) -> T:
        """The current value, rebuilt first if due and changed."""
        value = self._value
        if value is not None and self._clock() - self._checked < self._interval:
            return value
        with self._lock:
            if self._value is None:
                self._stamp = self._current_stamp()
                self._value = self._build()
                self._checked = self._clock()
            elif self._clock() - self._checked >= self._interval:
                self._refresh()
            return self._value

    def _refresh(self) -> None:
        self._checked = self._clock()
        try:
            stamp = self._current_stamp()
            if stamp != self._stamp:
                self._value = self._build()
                self._stamp = stamp
        except Exception:  # noqa: BLE001 - any failure keeps the last good build, see class doc
            _log.exception("guard: reloading changed files failed; keeping the previous version")

    def _current_stamp(self) -> tuple:
        stamp = []
        for path in self._files():
            try:
                stat = path.stat()
            except FileNotFoundError:   # `build` reports a missing file in its own words
                stamp.append((str(path), None, None))
            else:
                stamp.append((str(path), stat.st_mtime_ns, stat.st_size))
        return tuple(stamp)
