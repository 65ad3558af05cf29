"""cs-rag init's starter folder and cs-rag doctor's findings (no model is loaded here)."""

import tomllib

import openpyxl
import pytest

from cs_rag.cli import main
from cs_rag.config import load_settings
from cs_rag.errors import InputError
from cs_rag.ingest.faq import iter_faq_table
from cs_rag.ingest.sources import collect_documents
from cs_rag.ops.doctor import FAIL, OK, WARN, run_checks
from cs_rag.ops.starter import write_starter
from cs_rag.types import FaqEntry


@pytest.mark.parametrize("language", ["zh", "en"])
def test_init_writes_a_folder_whose_examples_are_valid_knowledge(tmp_path, language):
    starter = write_starter(tmp_path / "team", "Acme & \"Sons\"", language)
    root = starter.root
    for name in ("cs_rag.toml", "README.md", "knowledge/faq.xlsx", "knowledge/userdict.txt",
                 "knowledge/synonyms.txt", "guard/banned.txt", "guard/sensitive.txt",
                 "eval/questions.jsonl", f"prompts/{language}/phrases.toml", "prompts/zh/answer.md"):
        assert (root / name).is_file(), name
    settings = load_settings(root / "cs_rag.toml", environ={})
    assert settings.company.name == 'Acme & "Sons"'            # quoted safely into TOML
    assert settings.answer.prompts_dir == root / "prompts" and settings.guard.lexicon_dir == root / "guard"
    rows = list(iter_faq_table(root / "knowledge" / "faq.xlsx", "faq.xlsx"))
    assert len(rows) == 2 and all(isinstance(r, FaqEntry) for r in rows)   # the instructions sheet is not read
    assert [r.id for r in rows] == ["faq-001", "faq-002"] and all(len(r.similar_questions) >= 2 for r in rows)
    workbook = openpyxl.load_workbook(root / "knowledge" / "faq.xlsx")
    assert len(workbook.sheetnames) == 2 and workbook.worksheets[1].max_row >= 9
    collected = collect_documents([root / "knowledge"])           # settings and dictionaries are not knowledge
    assert collected.skipped == [] and len(collected.documents) == 3
    policy = next(d for d in collected.documents if d.kind.value == "policy")
    assert policy.category and str(policy.valid_from) == "2026-01-01"
    assert all(check.status != FAIL for check in run_checks(root / "cs_rag.toml"))


def test_init_without_a_company_leaves_replies_neutral(tmp_path):
    root = write_starter(tmp_path / "team").root
    assert load_settings(root / "cs_rag.toml", environ={}).company.name is None
    assert tomllib.loads((root / "cs_rag.toml").read_text(encoding="utf-8"))["company"] == {}


def test_init_refuses_to_overwrite_and_writes_nothing(tmp_path, capsys):
    root = tmp_path / "team"
    (root / "knowledge").mkdir(parents=True)
    (root / "knowledge" / "faq.xlsx").write_bytes(b"ours")
    assert main(["init", str(root), "--company", "青禾家居"]) == 1
    assert "faq.xlsx: already exists" in capsys.readouterr().err
    assert sorted(p.name for p in root.rglob("*")) == ["faq.xlsx", "knowledge"]
    assert (root / "knowledge" / "faq.xlsx").read_bytes() == b"ours"
    with pytest.raises(ValueError, match="language must be one of zh, en"):
        write_starter(tmp_path / "other", language="fr")
    with pytest.raises(InputError):
        write_starter(root)


def _by_name(checks):
    return {check.name: check for check in checks}


def test_doctor_names_each_problem_with_its_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("CS_RAG_EMBEDDING_CACHE_DIR", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("CS_RAG_LLM_MODEL", "qwen")
    monkeypatch.setenv("CS_RAG_LLM_BASE_URL", "http://127.0.0.1:9/v1")     # nothing listens on port 9
    monkeypatch.setenv("CS_RAG_INDEX_BACKEND", "postgres")
    monkeypatch.setenv("CS_RAG_PG_DSN", "host=127.0.0.1 port=9 dbname=kb user=kb connect_timeout=3")
    checks = _by_name(run_checks(None, str(tmp_path / "kb")))
    assert checks["settings"].status == OK and "defaults" in checks["settings"].detail
    assert checks["company"].status == WARN and "[company]" in checks["company"].fix
    assert checks["model"].status == WARN and "not built yet" in checks["model"].detail
    assert "first ingest builds it" in checks["model"].fix
    assert checks["llm"].status == FAIL and "cannot reach http://127.0.0.1:9/v1" in checks["llm"].detail
    assert "start the model server" in checks["llm"].fix
    assert checks["postgres"].status == FAIL and "cannot connect to PostgreSQL" in checks["postgres"].detail
    assert "CS_RAG_PG_DSN" in checks["postgres"].fix
    monkeypatch.delenv("CS_RAG_PG_DSN")
    assert "set CS_RAG_PG_DSN" in _by_name(run_checks(None))["postgres"].fix


def test_doctor_reports_bad_settings_prompts_and_a_missing_index(tmp_path, capsys):
    config = tmp_path / "cs_rag.toml"
    config.write_text("[retrieval]\nanswer_confidence = 2\n", encoding="utf-8")
    checks = run_checks(config)
    assert [c.status for c in checks] == [FAIL] and "retrieval.answer_confidence" in checks[0].detail
    root = write_starter(tmp_path / "team", "青禾家居").root
    phrases = root / "prompts" / "zh" / "phrases.toml"
    phrases.write_text(phrases.read_text(encoding="utf-8").replace('opening = [', 'opening = ["{nonsense}", '),
                       encoding="utf-8")
    assert main(["--config", str(root / "cs_rag.toml"), "doctor", "--index", str(tmp_path / "none")]) == 1
    out = capsys.readouterr().out
    assert "FAIL  prompts" in out and "unknown placeholder {nonsense}" in out
    assert "FAIL  index" in out and f"fix: cs-rag ingest knowledge --index {tmp_path / 'none'}" in out
    assert "ok    company     replies speak for 青禾家居" in out
