"""Optional dependencies: the core library (ingest, retrieve, answer, guard) needs none of them;
each feature that does imports it through `require`, which names the pip extra when it is missing."""

from __future__ import annotations

import importlib
from types import ModuleType

from cs_rag.errors import MissingExtraError


def require(module: str, extra: str, feature: str) -> ModuleType:
    """`module`, imported; MissingExtraError naming `cs-rag[extra]` when it is not installed."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(feature, extra, module.split(".")[0]) from exc
