"""The Index contract on the embedded backend (faiss + BM25 in memory)."""

from __future__ import annotations

import pytest

from index_contract import IndexContract


class TestEmbeddedIndex(IndexContract):
    @pytest.fixture
    def load(self):
        return lambda index: index
