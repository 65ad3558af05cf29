"""The entries a learning group offers to link to: FAQ entries only, the best scores first,
whatever order retrieval ranked them in (calibrated confidence need not fall with the rank)."""

import uuid
from types import SimpleNamespace

import numpy as np

from cs_rag.learning.loop import LearningLoop
from cs_rag.state import SqliteState
from cs_rag.types import Answer, DocumentKind, Hit, Outcome, Routing

QUESTION = "你们的货从哪个仓库发出"


def _hit(doc_id: str, confidence: float, kind: DocumentKind = DocumentKind.FAQ) -> Hit:
    return Hit(id=doc_id, doc_id=doc_id, score=1.0, source="knowledge", kind=kind, text="…",
               question=f"question of {doc_id}", confidence=confidence)


class RankedKnowledge:
    """A knowledge base whose search returns `hits` in their order, as retrieval ranked them."""

    def __init__(self, hits: list[Hit]) -> None:
        self.hits = hits

    def search(self, question: str, k: int = 10) -> list[Hit]:
        return self.hits[:k]

    def retriever(self):
        return SimpleNamespace(embedder=SimpleNamespace(encode_query=lambda text: np.ones(4, dtype=np.float32)))


def test_candidates_are_the_best_scored_faq_entries_best_first(tmp_path):
    ranked = [_hit("f-a", 0.30), _hit("policy", 0.90, DocumentKind.POLICY), _hit("f-b", 0.62),
              _hit("f-c", 0.05), _hit("f-d", 0.45)]
    database = SqliteState(tmp_path / "service.db")
    loop = LearningLoop(database, RankedKnowledge(ranked), tmp_path / "learned.jsonl")
    trace_id = uuid.uuid4().hex
    loop.remember(Answer(question=QUESTION, text="抱歉", outcome=Outcome.REFUSED, routing=Routing.SEND,
                         confidence=0.1, language="zh", trace_id=trace_id, trace={"trace_id": trace_id}))
    [group] = loop.groups()
    database.close()
    # the policy section is no entry to link to; f-c scores below the three best
    assert [(c.id, c.score) for c in group.candidates] == [("f-b", 0.62), ("f-d", 0.45), ("f-a", 0.30)]
    assert group.candidates[0].question == "question of f-b"
