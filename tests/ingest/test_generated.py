"""Similar questions written at ingest (cs_rag.ingest.generated): which entries are asked, what
joins them, and the cache that keeps a re-ingest from asking again."""

import json

import pytest

from cs_rag import KnowledgeBase, Settings
from cs_rag.errors import InputError, LLMError
from cs_rag.ingest.generated import CACHE_FILE, FAILURES_IN_A_ROW, added_wordings, with_generated_questions
from cs_rag.types import Document, DocumentKind, FaqEntry


def faq(doc_id: str, question: str, answer: str | None, similar: list[str] | None = None) -> Document:
    entry = FaqEntry(id=doc_id, question=question, answer=answer, similar_questions=similar or [])
    return Document(id=doc_id, kind=DocumentKind.FAQ, source="faq.jsonl", faq=entry)


class Writer:
    """Writes the wordings it is given per question; records what it was asked."""

    def __init__(self, wordings: dict[str, list[str]], failing: set[str] = frozenset()) -> None:
        self.wordings, self.failing, self.asked = wordings, failing, []

    def __call__(self, question: str, answer: str, count: int) -> list[str]:
        self.asked.append((question, count))
        if question in self.failing:
            raise LLMError("timeout", "the chat model timed out")
        return self.wordings.get(question, [])


def similar(documents: list[Document]) -> dict[str, list[str]]:
    return {d.id: d.faq.similar_questions for d in documents if d.faq}


def test_answered_entries_get_new_wordings_without_repeats(tmp_path):
    documents = [faq("a", "退货运费谁出", "质量问题由我们承担。", ["退货要付运费吗"]),
                 faq("b", "怎么联系客服", None),
                 Document(id="policy", kind=DocumentKind.POLICY, source="p.md")]
    writer = Writer({"退货运费谁出": ["退货要付运费吗？", "退个货运费谁掏", "退个货 运费谁掏", "寄回去的运费咋算"]})
    out, done = with_generated_questions(documents, 3, tmp_path / CACHE_FILE, writer)
    # a wording the team wrote, or one already taken (punctuation and spaces aside), is dropped
    assert similar(out) == {"a": ["退货要付运费吗", "退个货运费谁掏", "寄回去的运费咋算"], "b": []}
    assert writer.asked == [("退货运费谁出", 3)]   # an entry without an answer is never asked
    assert (done.cached, done.asked, done.failed) == (0, 1, 0)
    assert out[2] is documents[2]


def test_a_reingest_reads_the_cache_and_a_changed_entry_is_asked_again(tmp_path):
    cache = tmp_path / "index" / CACHE_FILE
    first = Writer({"退货运费谁出": ["退个货运费谁掏"]})
    with_generated_questions([faq("a", "退货运费谁出", "质量问题由我们承担。")], 2, cache, first)
    again, done = with_generated_questions([faq("a", "退货运费谁出", "质量问题由我们承担。")], 2, cache, None)
    assert similar(again) == {"a": ["退个货运费谁掏"]} and done.cached == 1
    changed = Writer({"退货运费谁出": ["运费怎么算"]})
    out, done = with_generated_questions([faq("a", "退货运费谁出", "七天内由我们承担。")], 2, cache, changed)
    assert similar(out) == {"a": ["运费怎么算"]} and changed.asked == [("退货运费谁出", 2)]
    assert len(json.loads(cache.read_text(encoding="utf-8"))["entries"]) == 2


def test_a_failed_call_is_counted_not_cached_and_the_others_go_on(tmp_path):
    cache = tmp_path / CACHE_FILE
    writer = Writer({"发票怎么开": ["能开发票不"]}, failing={"退货运费谁出"})
    documents = [faq("a", "退货运费谁出", "质量问题由我们承担。"), faq("b", "发票怎么开", "在订单页申请。")]
    out, done = with_generated_questions(documents, 2, cache, writer)
    assert similar(out) == {"a": [], "b": ["能开发票不"]} and (done.asked, done.failed) == (1, 1)
    retry = Writer({"退货运费谁出": ["运费谁付"]})
    out, done = with_generated_questions(documents, 2, cache, retry)
    assert retry.asked == [("退货运费谁出", 2)] and similar(out)["a"] == ["运费谁付"] and done.cached == 1


@pytest.mark.parametrize("content", ["not json", '{"version": 9, "entries": {}}', '{"version": 2, "entries": {"k": "x"}}',
                                     '{"version": 2, "entries": {"k": {"asked": 2, "wordings": [1]}}}'])
def test_a_cache_that_cannot_be_read_is_named(tmp_path, content):
    cache = tmp_path / CACHE_FILE
    cache.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=CACHE_FILE):
        with_generated_questions([faq("a", "退货运费谁出", "质量问题由我们承担。")], 2, cache, None)


def test_an_ingest_matches_a_written_wording_and_keeps_it_without_a_writer(tmp_path):
    folder = tmp_path / "kb"
    folder.mkdir()
    rows = [{"id": "fee", "question": "退货运费谁承担", "answer": "质量问题退货的运费由我们承担。"},
            {"id": "invoice", "question": "怎么开发票", "answer": "在订单详情页申请电子发票。"}]
    (folder / "faq.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                      encoding="utf-8")
    settings = Settings.model_validate({"index": {"generated_questions": 2, "fine_tune": False}})
    writer = Writer({"怎么开发票": ["报销要的票在哪弄"]})
    kb = KnowledgeBase(tmp_path / "index", settings, question_writer=writer)
    report = kb.ingest([folder])
    assert "2 asked" in report.summary()
    assert kb.search("报销要的票在哪弄", k=1)[0].doc_id == "invoice"
    again = KnowledgeBase(tmp_path / "index", settings).ingest([folder])   # the service's ingest: no writer
    assert again.texts_embedded == 0 and "2 entries from the file" in again.generated
    assert kb.search("报销要的票在哪弄", k=1)[0].matched_text == "报销要的票在哪弄"


def test_an_interrupted_run_keeps_what_was_written_before_it_stopped(tmp_path):
    cache = tmp_path / CACHE_FILE
    documents = [faq(f"e{i}", f"问题{i}", f"答案{i}") for i in range(3)]

    def writer(question: str, answer: str, count: int) -> list[str]:
        if question == "问题2":
            raise KeyboardInterrupt
        return [question + "呢"]

    with pytest.raises(KeyboardInterrupt):
        with_generated_questions(documents, 1, cache, writer)
    out, done = with_generated_questions(documents[:2], 1, cache, None)
    assert similar(out) == {"e0": ["问题0呢"], "e1": ["问题1呢"]} and done.cached == 2


def test_a_larger_count_asks_again_and_a_smaller_one_takes_the_first_wordings(tmp_path):
    cache = tmp_path / CACHE_FILE
    documents = [faq("a", "退货运费谁出", "质量问题由我们承担。")]
    with_generated_questions(documents, 1, cache, Writer({"退货运费谁出": ["运费谁掏"]}))
    more = Writer({"退货运费谁出": ["运费谁掏", "寄回运费咋算", "退货邮费谁付"]})
    out, done = with_generated_questions(documents, 3, cache, more)
    assert more.asked == [("退货运费谁出", 3)] and len(similar(out)["a"]) == 3
    fewer = Writer({})
    out, done = with_generated_questions(documents, 2, cache, fewer)
    assert fewer.asked == [] and similar(out)["a"] == ["运费谁掏", "寄回运费咋算"] and done.cached == 1
    record = next(iter(json.loads(cache.read_text(encoding="utf-8"))["entries"].values()))
    assert record["question"] == "退货运费谁出" and record["asked"] == 3   # an operator can read the file


def test_a_wording_that_is_another_entrys_question_is_dropped(tmp_path):
    documents = [faq("a", "退货运费谁出", "质量问题由我们承担。"), faq("b", "发票怎么开", "在订单页申请。", ["能开票吗"])]
    writer = Writer({"退货运费谁出": ["发票怎么开？", "能开票吗", "运费谁掏"], "发票怎么开": ["运费谁掏", "开票在哪"]})
    out, _ = with_generated_questions(documents, 3, tmp_path / CACHE_FILE, writer)
    assert similar(out) == {"a": ["运费谁掏"], "b": ["能开票吗", "开票在哪"]}


def test_an_ingest_stops_asking_a_model_that_keeps_failing(tmp_path):
    documents = [faq(f"e{i}", f"问题{i}", f"答案{i}") for i in range(8)]
    writer = Writer({}, failing={f"问题{i}" for i in range(8)})
    _, done = with_generated_questions(documents, 2, tmp_path / CACHE_FILE, writer)
    assert len(writer.asked) == FAILURES_IN_A_ROW and done.failed == FAILURES_IN_A_ROW


def test_the_file_says_which_wordings_the_last_ingest_added_never_a_teams_own(tmp_path):
    """The console's entry editor leaves these out, so saving an entry never writes the model's
    wordings into the team's file."""
    cache = tmp_path / CACHE_FILE
    documents = [faq("a", "退货运费谁出", "质量问题由我们承担。", ["退货要付运费吗"])]
    with_generated_questions(documents, 2, cache, Writer({"退货运费谁出": ["退货要付运费吗", "运费谁掏"]}))
    assert added_wordings(cache) == {"运费谁掏"}
    assert added_wordings(tmp_path / "none.json") == set()


def test_a_wording_an_operator_deletes_from_the_file_stays_out(tmp_path):
    """The file is the review point: a wording removed from an entry's `wordings` is not added
    again, and the entry is not asked again for it."""
    cache = tmp_path / CACHE_FILE
    documents = [faq("a", "退货运费谁出", "质量问题由我们承担。")]
    with_generated_questions(documents, 2, cache, Writer({"退货运费谁出": ["运费谁掏", "您需要退货吗"]}))
    data = json.loads(cache.read_text(encoding="utf-8"))
    record = next(iter(data["entries"].values()))
    record["wordings"].remove("您需要退货吗")
    cache.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    writer = Writer({"退货运费谁出": ["您需要退货吗"]})
    out, done = with_generated_questions(documents, 2, cache, writer)
    assert similar(out) == {"a": ["运费谁掏"]} and writer.asked == [] and done.cached == 1
