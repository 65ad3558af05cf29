"""cs-rag learning list|apply|export on a service's data folder."""

import json
import uuid

import openpyxl
import pytest

from cs_rag import KnowledgeBase
from cs_rag.cli import main
from cs_rag.ingest.faq import iter_faq_table
from cs_rag.learning.knowledge import LEARNED_FILE
from cs_rag.learning.loop import LearningLoop
from cs_rag.state import SqliteState
from cs_rag.types import Answer, Outcome, Routing

pytestmark = pytest.mark.slow   # a real ingest

UNSERVED = ["你们的货从哪个仓库发出", "你们的货是从哪个仓库发的"]


@pytest.fixture
def served(tmp_path, knowledge_dir, settings):
    index = tmp_path / "index"
    knowledge_base = KnowledgeBase(index, settings)
    knowledge_base.ingest([knowledge_dir])
    data = tmp_path / "index.service"
    database = SqliteState(data / "service.db")
    loop = LearningLoop(database, knowledge_base, data / "knowledge" / LEARNED_FILE)
    for question in UNSERVED:
        trace_id = uuid.uuid4().hex
        loop.remember(Answer(question=question, text="抱歉", outcome=Outcome.REFUSED, routing=Routing.SEND,
                             confidence=0.1, language="zh", trace_id=trace_id, trace={"trace_id": trace_id}))
    database.close()
    return index, knowledge_dir


def test_list_apply_and_export(served, tmp_path, capsys):
    index, knowledge_dir = served
    assert main(["learning", "list", "--index", str(index), "--json"]) == 0
    [group] = json.loads(capsys.readouterr().out)
    assert [w["text"] for w in group["wordings"]] == UNSERVED and "members" not in group
    assert main(["learning", "apply", group["id"], "--index", str(index)]) == 1
    assert "exactly one of --link" in capsys.readouterr().err
    assert main(["learning", "apply", "g-000000000000", "--ignore", "x", "--index", str(index)]) == 1
    assert "no open group g-000000000000" in capsys.readouterr().err
    assert main(["learning", "apply", group["id"], "--link", "f-ship", "--index", str(index),
                 "--knowledge", str(knowledge_dir)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("action 1: link f-ship") and "updated 1" in out
    assert main(["learning", "list", "--index", str(index)]) == 0
    assert capsys.readouterr().out.startswith("0 groups")
    for name in ("learned.xlsx", "learned.jsonl"):
        target = tmp_path / name
        assert main(["learning", "export", "--index", str(index), "--knowledge", str(knowledge_dir),
                     "--out", str(target)]) == 0
    assert capsys.readouterr().out.endswith("wrote 1 FAQ entry to " + str(tmp_path / "learned.jsonl") + "\n")
    assert main(["learning", "export", "--index", str(index), "--out", str(tmp_path / "alone.jsonl")]) == 0
    assert "1 learned entry was left out" in capsys.readouterr().out      # f-ship lives in the team's files
    [entry] = [e for e in iter_faq_table(tmp_path / "learned.xlsx", "learned.xlsx")]
    assert entry.id == "f-ship" and entry.similar_questions[-2:] == UNSERVED
    assert json.loads((tmp_path / "learned.jsonl").read_text(encoding="utf-8"))["id"] == "f-ship"
    assert openpyxl.load_workbook(tmp_path / "learned.xlsx").active.title == "FAQ"


def test_decline_its_export_round_trip_and_undo(served, tmp_path, capsys, monkeypatch, settings):
    index, knowledge_dir = served
    monkeypatch.chdir(tmp_path)          # relative paths, as an operator types them
    index = "index"
    assert main(["learning", "list", "--index", str(index), "--json"]) == 0
    [group] = json.loads(capsys.readouterr().out)
    assert main(["learning", "apply", group["id"], "--decline", " ", "--index", str(index)]) == 1
    assert "reason: say why" in capsys.readouterr().err
    assert main(["learning", "apply", group["id"], "--decline", "not asked of us", "--index", str(index),
                 "--knowledge", str(knowledge_dir)]) == 0
    assert capsys.readouterr().out.startswith("action 1: decline learned-1")
    target = tmp_path / "declined.xlsx"
    assert main(["learning", "export", "--index", str(index), "--out", str(target)]) == 0
    [entry] = list(iter_faq_table(target, "declined.xlsx"))
    assert (entry.id, entry.question, entry.answer) == ("learned-1", UNSERVED[0], None)
    assert entry.tags == ["learned", "declined"] and entry.similar_questions == UNSERVED[1:]
    assert KnowledgeBase(index, settings).document_chunks("learned-1")
    assert main(["learning", "apply", group["id"], "--undo", "1", "--index", index,
                 "--knowledge", str(knowledge_dir)]) == 0
    assert "removed 1" in capsys.readouterr().out
    assert KnowledgeBase(index, settings).document_chunks("learned-1") == []   # gone from the index too


def test_wordings_act_on_part_of_a_group(served, capsys):
    index, _ = served
    assert main(["learning", "list", "--index", str(index), "--json"]) == 0
    [group] = json.loads(capsys.readouterr().out)
    apply = ["learning", "apply", group["id"], "--index", str(index)]
    assert main([*apply, "--link", "f-ship", "--wordings", UNSERVED[0], "仓库在哪"]) == 1
    assert f"wordings: '仓库在哪' is not a wording of group {group['id']}" in capsys.readouterr().err
    assert main([*apply, "--undo", "1", "--wordings", UNSERVED[0]]) == 1
    assert "takes no --wordings" in capsys.readouterr().err
    assert main([*apply, "--link", "f-ship", "--wordings", UNSERVED[0]]) == 0
    assert capsys.readouterr().out.startswith("action 1: link f-ship")
    assert main(["learning", "list", "--index", str(index), "--json"]) == 0
    [rest] = json.loads(capsys.readouterr().out)
    assert rest["id"] == group["id"] and [w["text"] for w in rest["wordings"]] == UNSERVED[1:]
    assert main([*apply, "--decline", "not ours", "--wordings", UNSERVED[1]]) == 0
    assert capsys.readouterr().out.startswith("action 2: decline learned-2")
    assert main(["learning", "list", "--index", str(index)]) == 0
    assert capsys.readouterr().out.startswith("0 groups")
    learned = (index.parent / "index.service" / "knowledge" / LEARNED_FILE).read_text(encoding="utf-8")
    linked, declined = [json.loads(line) for line in learned.splitlines()]
    assert linked["extends"] == "f-ship" and linked["similar_questions"] == UNSERVED[:1]
    assert declined["creates"]["question"] == UNSERVED[1] and declined["creates"]["similar_questions"] == []
