"""The import rule of docs/architecture.md, checked on every module of src/cs_rag: a part
imports only its own modules and parts on lower layers (imports inside functions count too)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "cs_rag"

# Lowest first; the parts of one layer do not import each other. cs_rag/__init__.py, the
# public face, may import any part.
LAYERS = [
    {"errors"},                                     # core: errors,
    {"types", "config", "reading", "extras", "edits"},   # data types, settings, files,
    {"text", "state"},                              #   the one tokenizer, the service's tables
    {"ingest", "models", "guard"},
    {"index"},
    {"retrieval"},
    {"knowledge_base"},
    {"answering"},
    {"ops"},
    {"learning", "qa"},     # the learning loop; quality inspection of agents' conversations
    {"service"},
    {"cli"},
    {"testing", "integrations"},    # reusable test suites and adapters to other frameworks:
]                                   # nothing in the library imports them
LAYER_OF = {part: n for n, parts in enumerate(LAYERS) for part in parts}
MAX_LINES = 500


def part_of(module: str) -> str:
    return module.split(".")[1] if module.count(".") else "__init__"


def imports_of(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("cs_rag"):
            if node.module == "cs_rag":   # `from cs_rag import x`: x is a part or a public name
                found |= {f"cs_rag.{a.name}" for a in node.names if a.name in LAYER_OF}
            else:
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("cs_rag.")}
    return found


def modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        out.append((".".join(rel.parts), path))
    return out


def test_every_part_of_the_package_has_a_layer():
    parts = {part_of(m) for m, _ in modules()} - {"__init__"}
    assert parts == set(LAYER_OF), parts ^ set(LAYER_OF)


def test_no_module_imports_from_a_higher_layer_or_a_sibling_part():
    broken = []
    for module, path in modules():
        part = part_of(module)
        if part == "__init__":
            continue
        for imported in imports_of(path):
            other = part_of(imported)
            if other == part:
                continue
            if other == "__init__" or LAYER_OF[other] >= LAYER_OF[part]:
                broken.append(f"{module} imports {imported}")
    assert broken == []


def test_no_module_is_over_the_line_limit():
    long = {m: n for m, p in modules() if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_every_exception_class_is_defined_in_errors_py():
    """One error tree: no module but errors.py defines an exception (a class deriving from an
    *Error, *Exception or *Conflict name)."""
    elsewhere = []
    for module, path in modules():
        if module == "cs_rag.errors":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                bases = [ast.unparse(b) for b in node.bases]
                if any(b.endswith(("Error", "Exception", "Conflict")) for b in bases):
                    elsewhere.append(f"{module}.{node.name}")
    assert elsewhere == []
