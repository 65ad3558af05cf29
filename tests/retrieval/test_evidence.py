"""The evidence reader's part in a decision (retrieval/evidence.py), on scores given by the test:
which texts are read, and what each reading decides."""

import pytest

from cs_rag.config import RetrievalSettings
from cs_rag.retrieval.evidence import Reading, read_decision
from cs_rag.types import Decision, DocumentKind, Hit

SETTINGS = RetrievalSettings(evidence_reader=True, reader_threshold=0.05, reader_refuse_threshold=0.03,
                             reader_promote_threshold=0.7)


def options(*doc_ids: str, answerless: str = "") -> list[Hit]:
    return [Hit(id=f"{d}#0", doc_id=d, score=1.0, source="faq.jsonl", kind=DocumentKind.FAQ,
                text="" if d == answerless else f"{d} text")
            for d in doc_ids]


class Reader:
    """Scores by document id; records every batch it was asked to read."""

    def __init__(self, **scores: float) -> None:
        self.scores = scores
        self.batches: list[list[str]] = []

    def __call__(self, hits):
        self.batches.append([h.doc_id for h in hits])
        return [self.scores[h.doc_id] for h in hits]


def test_a_direct_answer_whose_text_reads_as_answering_stays_and_only_it_is_read():
    reader = Reader(a=0.4, b=0.9, c=0.9)
    assert read_decision(Decision.ANSWER, options("a", "b", "c"), reader, SETTINGS) == \
        Reading(Decision.ANSWER, 0.4, "kept")
    assert reader.batches == [["a"]]


def test_a_withheld_answer_is_clarified_when_an_option_reads_as_answering():
    reader = Reader(a=0.01, b=0.02, c=0.5)
    assert read_decision(Decision.ANSWER, options("a", "b", "c"), reader, SETTINGS) == \
        Reading(Decision.CLARIFY, 0.01, "withheld")
    assert reader.batches == [["a"], ["b", "c"]]


def test_a_withheld_answer_whose_first_text_reads_above_the_refusal_line_is_clarified_unread():
    """0.04 is below the answer line (0.05) but above the refusal line (0.03): the others are
    not read, as nothing they say could refuse it."""
    reader = Reader(a=0.04, b=0.0, c=0.0)
    assert read_decision(Decision.ANSWER, options("a", "b", "c"), reader, SETTINGS).decision is Decision.CLARIFY
    assert reader.batches == [["a"]]


def test_a_withheld_answer_is_refused_when_nothing_offered_reads_as_answering():
    reader = Reader(a=0.01, b=0.02, c=0.029)
    assert read_decision(Decision.ANSWER, options("a", "b", "c"), reader, SETTINGS) == \
        Reading(Decision.NONE, 0.01, "refused")


def test_without_a_refusal_line_a_withheld_answer_is_always_clarified():
    settings = SETTINGS.model_copy(update={"reader_refuse_threshold": 0.0})
    reader = Reader(a=0.0, b=0.0)
    assert read_decision(Decision.ANSWER, options("a", "b"), reader, settings).decision is Decision.CLARIFY
    assert reader.batches == [["a"]]


def test_a_withheld_answer_with_one_option_is_refused():
    assert read_decision(Decision.ANSWER, options("a"), Reader(a=0.01), SETTINGS).decision is Decision.NONE


def test_a_clarify_reply_whose_first_option_reads_surely_is_answered_directly():
    reader = Reader(a=0.7, b=0.1)
    assert read_decision(Decision.CLARIFY, options("a", "b"), reader, SETTINGS) == \
        Reading(Decision.ANSWER, 0.7, "promoted")
    reader = Reader(a=0.69, b=0.1)
    assert read_decision(Decision.CLARIFY, options("a", "b"), reader, SETTINGS) == \
        Reading(Decision.CLARIFY, 0.69, "unchanged")
    assert reader.batches == [["a"]]


@pytest.mark.parametrize("names_unknown, promote, answerless", [(True, 0.7, ""), (False, 1.0, ""), (False, 0.7, "a")])
def test_a_clarify_reply_is_not_read_when_it_names_the_unknown_promotion_is_off_or_it_has_no_answer(
        names_unknown, promote, answerless):
    """An entry without an answer text (a retrieval-only or declined one) is never promoted:
    the answer step would refuse it where the choice offered the answerable options."""
    settings = SETTINGS.model_copy(update={"reader_promote_threshold": promote})
    reader = Reader(a=0.99, b=0.1)
    assert read_decision(Decision.CLARIFY, options("a", "b", answerless=answerless), reader, settings,
                         names_unknown=names_unknown) == Reading(Decision.CLARIFY, None, "unchanged")
    assert reader.batches == []


def test_a_refusal_and_a_question_without_hits_are_never_read():
    reader = Reader(a=0.99)
    assert read_decision(Decision.NONE, options("a"), reader, SETTINGS) == Reading(Decision.NONE, None, "unchanged")
    assert read_decision(Decision.ANSWER, [], reader, SETTINGS) == Reading(Decision.ANSWER, None, "unchanged")
    assert reader.batches == []


def test_a_question_worded_as_the_first_options_own_is_never_read():
    """The team wrote that question (or similar question) for that entry: the reader, which can
    be wrong about a short answer, does not overrule it. Another wording is read."""
    reader = Reader(a=0.01, b=0.01, c=0.01)
    assert read_decision(Decision.ANSWER, options("a", "b", "c"), reader, SETTINGS, as_written=True) == \
        Reading(Decision.ANSWER, None, "as written")
    assert reader.batches == []
    assert read_decision(Decision.ANSWER, options("a", "b", "c"), reader, SETTINGS,
                         as_written=False).verdict == "refused"
