"""A starter folder a customer-service team fills in (`cs-rag init`).

The folder holds a commented `cs_rag.toml`, `knowledge/faq.xlsx` (the columns cs_rag reads, two
example rows, an instructions sheet), an example policy with front matter, dictionaries, editable
copies of the prompts and phrases, a guard lexicon folder, example evaluation questions and a
README with the next steps. Its content ships in `cs_rag/data/starter/<language>/`; everything
it writes ingests as it is. Nothing is ever overwritten.
"""

from __future__ import annotations

import importlib.resources
import json
import shutil
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path

import openpyxl

from cs_rag.config import default_prompts_dir
from cs_rag.errors import InputError

LANGUAGES = ("zh", "en")
FAQ_SPEC = "faq.json"                    # how faq.xlsx is built; not copied itself
FAQ_WORKBOOK = Path("knowledge") / "faq.xlsx"
SETTINGS = "cs_rag.toml"
COMPANY_PLACEHOLDER = {"zh": '#name = "你的公司名"', "en": '#name = "Your Company"'}


@dataclass(frozen=True)
class StarterFolder:
    """What `write_starter` wrote: the folder and its files, relative to it."""

    root: Path
    files: list[Path]


def write_starter(root: str | Path, company: str | None = None, language: str = "zh") -> StarterFolder:
    """Write the starter folder at `root` (created if needed) for `company` in `language`.

    Raises InputError naming the first file that already exists, before writing anything, and
    ValueError for a language other than zh or en.
    """
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, got {language!r}")
    root = Path(root)
    content = _content(language)
    copies = dict(_content_files(content))
    prompts = {Path("prompts") / path.relative_to(default_prompts_dir()): path
               for path in sorted(default_prompts_dir().rglob("*")) if path.is_file()}
    targets = sorted([*copies, *prompts, FAQ_WORKBOOK])
    for relative in targets:
        if (root / relative).exists():
            raise InputError(str(root / relative), "already exists; cs-rag init writes only new "
                             "files, so choose an empty or new folder")
    for relative, source in copies.items():
        text = source.read_text(encoding="utf-8")
        if relative == Path(SETTINGS) and company:
            text = text.replace(COMPANY_PLACEHOLDER[language], f"name = {_toml_string(company)}", 1)
        _write(root / relative, text)
    for relative, source in prompts.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, root / relative)
    spec = json.loads((content / FAQ_SPEC).read_text(encoding="utf-8"))
    _write_workbook(root / FAQ_WORKBOOK, spec)
    return StarterFolder(root, targets)


def example_entries() -> set[tuple[str, str]]:
    """(id, standard question) of the example FAQ rows of every language's starter workbook."""
    examples = set()
    for language in LANGUAGES:
        spec = json.loads((_content(language) / FAQ_SPEC).read_text(encoding="utf-8"))
        examples.update((row[0], row[1]) for row in spec["rows"])   # the id and question columns come first
    return examples


def _content(language: str) -> Traversable:
    return importlib.resources.files("cs_rag") / "data" / "starter" / language


def _content_files(folder: Traversable, prefix: Path = Path()) -> list[tuple[Path, Traversable]]:
    """(relative path, source) of every shipped starter file but the workbook's spec."""
    found: list[tuple[Path, Traversable]] = []
    for item in folder.iterdir():
        relative = prefix / item.name
        if item.is_dir():
            found.extend(_content_files(item, relative))
        elif relative != Path(FAQ_SPEC):
            found.append((relative, item))
    return found


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _toml_string(value: str) -> str:
    """`value` as a TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(value, ensure_ascii=False)


def _write_workbook(path: Path, spec: dict) -> None:
    """The FAQ sheet (header, example rows) first, as ingest reads it, then the instructions."""
    from openpyxl.styles import Alignment, Font

    workbook = openpyxl.Workbook()
    faq = workbook.active
    faq.title = spec["sheet"]
    notes = workbook.create_sheet(spec["instructions_sheet"])
    for sheet, header, rows in ((faq, spec["columns"], spec["rows"]),
                                (notes, spec["instructions_header"], spec["instructions"])):
        sheet.append(header)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append(row)
        for row in sheet.iter_rows(min_row=2):
            for cell in row:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
        sheet.freeze_panes = "A2"
    for letter, width in zip("ABCDEFGHIJ", spec["widths"]):
        faq.column_dimensions[letter].width = width
    for letter, width in zip("ABCD", (14, 12, 70, 30)):
        notes.column_dimensions[letter].width = width
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
