"""cs_rag as a LangChain retriever: langchain-tests' standard retriever suite, what the suite
does not check (the Documents' content and metadata, filters, errors), and docs/langchain.md's
example."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from langchain_core.documents import Document
from langchain_tests.integration_tests import RetrieversIntegrationTests

from cs_rag import KnowledgeBase
from cs_rag.integrations.langchain import CsRagRetriever
from cs_rag.retrieval.records import records

pytestmark = pytest.mark.slow   # reads the session's small index (real embedding model)


class TestCsRagRetrieverStandard(RetrieversIntegrationTests):
    """LangChain's own contract for retrievers, unchanged."""

    @pytest.fixture(autouse=True)
    def _index(self, small_index):
        self.index_dir = small_index

    @property
    def retriever_constructor(self) -> type[CsRagRetriever]:
        return CsRagRetriever

    @property
    def retriever_constructor_params(self) -> dict:
        return {"index": self.index_dir}

    @property
    def retriever_query_example(self) -> str:
        return "退款多久到账"


@pytest.fixture(scope="module")
def knowledge_base(small_index) -> KnowledgeBase:
    return KnowledgeBase(small_index)


def test_documents_carry_the_records_content_and_metadata(knowledge_base):
    documents = CsRagRetriever(knowledge_base=knowledge_base, k=3).invoke("退款多久到账")
    expected = records(knowledge_base.retrieve("退款多久到账", k=3))
    assert [(d.page_content, d.metadata, d.id) for d in documents] == [
        (r.content, r.metadata, r.metadata["id"]) for r in expected]
    assert documents[0].page_content == "退款审核通过后3-5个工作日原路退回。"
    assert documents[0].metadata["title"] == "退款多久到账" and documents[0].metadata["kind"] == "faq"


def test_async_gives_the_same_documents_and_takes_k(knowledge_base):
    retriever = CsRagRetriever(knowledge_base=knowledge_base)
    assert asyncio.run(retriever.ainvoke("退货运费谁出", k=2)) == retriever.invoke("退货运费谁出", k=2)
    assert len(asyncio.run(retriever.ainvoke("退货运费谁出", k=2))) == 2


def test_filters_and_threshold_are_fields(knowledge_base):
    def ids(**fields) -> list[str]:
        return [d.id for d in CsRagRetriever(knowledge_base=knowledge_base, k=5, **fields).invoke("怎么开发票")]

    assert ids(categories=["支付"]) == ["f-invoice"]
    assert "f-invoice" not in ids(products=["冰箱"]) and ids(products=["笔记本"])[0] == "f-invoice"
    assert ids(kinds=["policy"]) and all("#" in i for i in ids(kinds=["policy"]))
    assert "f-old-promo" in [d.id for d in CsRagRetriever(knowledge_base=knowledge_base, k=5,
                             valid_on=dt.date(2020, 11, 11)).invoke("双11满减")]
    kept = CsRagRetriever(knowledge_base=knowledge_base, k=5, score_threshold=0.5).invoke("怎么开发票")
    assert [d.id for d in kept] == ["f-invoice"] and kept[0].metadata["score"] >= 0.5


def test_bad_construction_and_k_name_the_field(tmp_path, knowledge_base):
    with pytest.raises(ValueError, match="either index"):
        CsRagRetriever()
    with pytest.raises(ValueError, match="either index"):
        CsRagRetriever(index=tmp_path, knowledge_base=knowledge_base)
    with pytest.raises(ValueError, match="index: .* holds no index"):
        CsRagRetriever(index=tmp_path / "missing")
    with pytest.raises(ValueError, match="k\n"):
        CsRagRetriever(knowledge_base=knowledge_base, k=0)
    with pytest.raises(ValueError, match="k: 0 is not"):
        CsRagRetriever(knowledge_base=knowledge_base).invoke("退款", k=0)
    assert isinstance(CsRagRetriever(knowledge_base=knowledge_base).invoke("退款")[0], Document)


def test_the_example_in_docs_langchain_md_runs(small_index, tmp_path):
    page = (Path(__file__).resolve().parents[2] / "docs" / "langchain.md").read_text(encoding="utf-8")
    example = page.split("```python\n", 1)[1].split("```", 1)[0]
    (tmp_path / "my-index").symlink_to(small_index, target_is_directory=True)
    (tmp_path / "example.py").write_text(example, encoding="utf-8")
    run = subprocess.run([sys.executable, "example.py"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=300, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].endswith("退款多久到账 退款审核通过后3-5个工作日原路退回。")
    assert "资料：" in run.stdout and "问题：退款多久到账" in run.stdout
