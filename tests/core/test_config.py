"""Settings: defaults, TOML, environment precedence, errors naming the key."""

import re
from pathlib import Path

import pytest

from cs_rag.config import Fusion, load_settings
from cs_rag.errors import ConfigError


def test_defaults_without_file_or_environment():
    settings = load_settings(environ={})
    assert settings.embedding.model == "auto"  # e5-small, or minilm-l6 for English-only knowledge
    assert settings.chunking.max_tokens > settings.chunking.overlap_tokens


def test_toml_then_environment_precedence(tmp_path: Path):
    path = tmp_path / "cs_rag.toml"
    path.write_text('[embedding]\nbatch_size = 16\n[chunking]\nmax_tokens = 200\n', encoding="utf-8")
    settings = load_settings(path, environ={"CS_RAG_EMBEDDING_BATCH_SIZE": "8"})
    assert settings.embedding.batch_size == 8
    assert settings.chunking.max_tokens == 200


def test_dictionary_paths_are_relative_to_the_config_file(tmp_path: Path):
    path = tmp_path / "conf" / "cs_rag.toml"
    path.parent.mkdir()
    path.write_text('[text]\nuser_dict = "dict/userdict.txt"\n', encoding="utf-8")
    assert load_settings(path, environ={}).text.user_dict == tmp_path / "conf" / "dict" / "userdict.txt"


def test_bad_toml_value_names_the_key(tmp_path: Path):
    path = tmp_path / "cs_rag.toml"
    path.write_text("[embedding]\nbatch_size = 0\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}: embedding\.batch_size: Input should be greater"):
        load_settings(path, environ={})


def test_unknown_toml_key_names_the_file_the_key_and_the_known_keys(tmp_path: Path):
    path = tmp_path / "cs_rag.toml"
    path.write_text("[chunking]\nmax_token = 10\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    assert str(caught.value) == (f"{path}: chunking.max_token: unknown setting; "
                                 "chunking has: max_tokens, overlap_tokens, sentence_match_texts")
    assert (caught.value.source, caught.value.key) == (str(path), "chunking.max_token")
    path.write_text("[chunkng]\nmax_tokens = 10\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}: chunkng: unknown section; sections: answer, chunking, "):
        load_settings(path, environ={})


def test_bad_environment_value_names_the_variable():
    with pytest.raises(ConfigError, match="CS_RAG_CHUNKING_MAX_TOKENS"):
        load_settings(environ={"CS_RAG_CHUNKING_MAX_TOKENS": "lots"})


def test_unknown_environment_key_in_a_section_is_an_error():
    with pytest.raises(ConfigError, match="^setting 'CS_RAG_EMBEDDING_MODLE': unknown setting; "
                                          "embedding has: batch_size, cache_dir, model, threads$"):
        load_settings(environ={"CS_RAG_EMBEDDING_MODLE": "x"})


def test_variables_of_other_parts_are_ignored():
    assert load_settings(environ={"CS_RAG_API_KEYS": "k1,k2"}).embedding.model == "auto"


def test_missing_or_broken_file_is_named_with_what_is_wrong(tmp_path: Path):
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as caught:
        load_settings(missing, environ={})
    assert str(caught.value) == f"{missing}: cannot read the config file: No such file or directory"
    assert caught.value.key is None
    broken = tmp_path / "broken.toml"
    broken.write_text("[embedding]\nbatch_size = 8\nmodel e5-small\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(broken))}: TOML syntax error: .*\(at line 3, column 7\)$"):
        load_settings(broken, environ={})
    flat = tmp_path / "flat.toml"
    flat.write_text("retrieval = 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(flat))}: retrieval: must be a \[retrieval\] table"):
        load_settings(flat, environ={"CS_RAG_RETRIEVAL_FUSION": "rrf"})
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes('[llm]\nmodel = "caf\u00e9"\n'.encode("latin-1"))
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(latin1))}: the config file is not UTF-8 text$"):
        load_settings(latin1, environ={})


def test_fusion_is_checked_when_settings_load(tmp_path: Path):
    path = tmp_path / "cs_rag.toml"
    path.write_text('[retrieval]\nfusion = "ZScore"\n', encoding="utf-8")
    assert load_settings(path, environ={}).retrieval.fusion is Fusion.ZSCORE
    path.write_text('[retrieval]\nfusion = "bogus"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"retrieval\.fusion.*unknown fusion 'bogus'; one of: rrf, weighted, zscore$"):
        load_settings(path, environ={})
    with pytest.raises(ConfigError, match=r"CS_RAG_RETRIEVAL_FUSION.*one of: rrf, weighted, zscore$"):
        load_settings(environ={"CS_RAG_RETRIEVAL_FUSION": "magic"})


def test_a_misspelt_key_in_a_nested_table_lists_that_tables_keys(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[company]\nname = "青禾家居"\n[company.levels.vip]\nname = "VIP"\ncontakt = "1"\n',
                    encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    assert str(caught.value) == (f"{path}: company.levels.vip.contakt: unknown setting; "
                                 "company.levels.vip has: contact, hours, name")


def test_the_evidence_readers_three_lines_must_be_in_order(tmp_path: Path):
    path = tmp_path / "cs_rag.toml"
    path.write_text("[retrieval]\nreader_refuse_threshold = 0.02\nreader_threshold = 0.2\n"
                    "reader_promote_threshold = 0.9\n", encoding="utf-8")
    assert load_settings(path, environ={}).retrieval.reader_threshold == 0.2
    path.write_text("[retrieval]\nreader_threshold = 0.8\nreader_promote_threshold = 0.6\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(str(path)) + r".*reader_refuse_threshold <= reader_threshold "
                                          r"<= reader_promote_threshold"):
        load_settings(path, environ={})
    with pytest.raises(ConfigError, match=r"reader_refuse_threshold <= reader_threshold"):
        load_settings(environ={"CS_RAG_RETRIEVAL_READER_REFUSE_THRESHOLD": "0.5"})
