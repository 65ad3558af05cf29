"""The core library installs without the optional dependencies; a feature that needs one names
its pip extra."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Runs in a fresh interpreter where the optional packages cannot be imported, as on an
# install of cs-rag without extras.
_WITHOUT_EXTRAS = textwrap.dedent("""
    import importlib.abc, sys
    BLOCKED = {"fastapi", "starlette", "uvicorn", "multipart", "matplotlib", "psycopg",
               "psycopg_pool", "pgvector", "openai", "langchain_core"}
    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {name!r}")
            return None
    sys.meta_path.insert(0, Block())
    import cs_rag, cs_rag.cli, cs_rag.knowledge_base, cs_rag.answering.assistant, cs_rag.guard
    import cs_rag.ops.evaluate, cs_rag.index.postgres
    from cs_rag.config import LLMSettings
    from cs_rag.errors import MissingExtraError
    def extra_named(call):
        try:
            call()
        except MissingExtraError as exc:
            return exc.extra, str(exc)
        return None
    print(extra_named(lambda: __import__("cs_rag.service")))
    print(extra_named(lambda: __import__("cs_rag.ops.report")))
    print(extra_named(lambda: cs_rag.ChatModel(LLMSettings(model="m"))))
    print(extra_named(lambda: cs_rag.index.postgres.PostgresStore("postgresql://x", "kb")))
    print(extra_named(lambda: __import__("cs_rag.integrations.langchain")))
    print(sorted(m.split(".")[0] for m in sys.modules if m.split(".")[0] in BLOCKED))
""")


def test_the_core_imports_without_extras_and_features_name_theirs():
    result = subprocess.run([sys.executable, "-c", _WITHOUT_EXTRAS], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("('server', ") and "pip install 'cs-rag[server]'" in lines[0]
    assert lines[1].startswith("('report', ") and "cs-rag[report]" in lines[1]
    assert lines[2].startswith("('llm', ") and "cs-rag[llm]" in lines[2]
    assert lines[3].startswith("('postgres', ") and "cs-rag[postgres]" in lines[3]
    assert lines[4].startswith("('langchain', ") and "cs-rag[langchain]" in lines[4]
    assert lines[5] == "[]"   # nothing optional was imported on the way


def test_the_all_extra_is_every_other_runtime_extra():
    extras = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    runtime = {"server", "postgres", "report", "llm", "local-llm", "langchain"}
    assert set(extras["all"]) == {req for name in runtime for req in extras[name]}
