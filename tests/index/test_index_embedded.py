"""The Index contract on the embedded backend (faiss + BM25 in memory)."""

from __future__ import annotations

import pytest

from cs_rag.index.versions import FolderStore
from cs_rag.testing.index_contract import IndexContract
from cs_rag.testing.store_contract import StoreContract


class TestEmbeddedIndex(IndexContract):
    @pytest.fixture
    def load(self):
        return lambda index: index


class TestFolderStore(StoreContract):
    @pytest.fixture
    def store(self, tmp_path):
        return FolderStore(tmp_path / "index")


def test_filtered_search_keeps_exactly_what_the_filter_accepts():
    """The index's filter columns (codes, product ordinals, dates) implement SearchFilter.accepts."""
    import datetime as dt
    import itertools
    import random

    from cs_rag.testing.index_contract import build, vector_for
    from cs_rag.index.base import SearchFilter
    from cs_rag.types import DocumentKind

    rng = random.Random(0)
    docs = [(f"d{i}", rng.choice(["faq", "policy", "passage"]), rng.choice(["支付", "物流配送", None]),
             rng.choice([None, (None, dt.date(2020, 1, 1)), (dt.date(2999, 1, 1), None)]), [f"问题{i}"], "答")
            for i in range(60)]
    products = {f"d{i}": rng.sample(["手机", "耳机", "iPhone 15", "平板"], rng.randint(1, 2))
                for i in range(60) if i % 3}
    index = build(docs, products=products)
    choices = {"categories": [None, {"支付"}, {"支付", "物流配送"}, {"售后"}],
               "kinds": [None, {DocumentKind.FAQ}, {DocumentKind.POLICY, DocumentKind.PASSAGE}],
               "products": [None, {"手机"}, {"IPHONE 15", "平板"}, {"冰箱"}],
               "include_expired": [False, True]}
    for values in itertools.product(*choices.values()):
        where = SearchFilter(**dict(zip(choices, values)))
        found = {index.chunk(s.ordinal).doc_id for s in index.dense_search(vector_for("问题"), 100, where)}
        assert found == {c.doc_id for c in index.chunks if where.accepts(c, dt.date.today())}, where
