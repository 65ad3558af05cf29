"""Rendering a report's blocks as one self-contained HTML file and as Markdown.

A block is a piece of a report's content: ("h2", text), ("p", text), ("table", headers, rows
of cells, indexes of rows flagged in red), ("img", file name without .png, png bytes,
caption). Every text and cell is a str; the HTML escapes every one of them, so text that
customers or agents wrote can be shown as it is.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from pathlib import Path

Block = tuple


def write_blocks(blocks: Sequence[Block], out_dir: Path, title: str) -> tuple[Path, Path, list[Path]]:
    """Write `report.html` (charts embedded as base64 PNG data URIs: one file, readable
    offline), `report.md` and the charts as `plots/*.png` (which the Markdown links) into
    `out_dir`, created if needed; return (html, markdown, charts)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    plot_dir = out_dir / "plots"
    plot_dir.mkdir(exist_ok=True)
    written = []
    for block in blocks:
        if block[0] == "img":
            path = plot_dir / f"{block[1]}.png"
            path.write_bytes(block[2])
            written.append(path)
    html_path, md_path = out_dir / "report.html", out_dir / "report.md"
    html_path.write_text(to_html(blocks, title), encoding="utf-8")
    md_path.write_text(to_markdown(blocks, title), encoding="utf-8")
    return html_path, md_path, written


_STYLE = """body{font-family:system-ui,'Noto Sans CJK SC','Microsoft YaHei',sans-serif;max-width:960px;
margin:2em auto;padding:0 1em;color:#222}table{border-collapse:collapse;margin:0.5em 0 1em}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}th{background:#f3f3f3}
tr.regression td{color:#c00;font-weight:600}img{max-width:100%}figcaption{color:#555;font-size:90%}"""


def to_html(blocks: Sequence[Block], title: str) -> str:
    """The blocks as an HTML page, every text escaped."""
    parts = [f"<!DOCTYPE html>\n<html lang=\"zh\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}"
             f"</title><style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>"]
    for block in blocks:
        kind = block[0]
        if kind == "h2":
            parts.append(f"<h2>{html.escape(block[1])}</h2>")
        elif kind == "p":
            parts.append(f"<p>{html.escape(block[1])}</p>")
        elif kind == "img":
            data = base64.b64encode(block[2]).decode("ascii")
            parts.append(f'<figure><img alt="{html.escape(block[1])}" src="data:image/png;base64,{data}">'
                         f"<figcaption>{html.escape(block[3])}</figcaption></figure>")
        else:
            _, headers, rows, flagged = block
            head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
            body = "".join(
                ('<tr class="regression">' if i in flagged else "<tr>")
                + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>"
                for i, row in enumerate(rows))
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def to_markdown(blocks: Sequence[Block], title: str) -> str:
    """The blocks as Markdown; charts link plots/<name>.png."""
    lines = [f"# {title}", ""]
    for block in blocks:
        kind = block[0]
        if kind == "h2":
            lines += [f"## {block[1]}", ""]
        elif kind == "p":
            lines += [block[1], ""]
        elif kind == "img":
            lines += [f"![{block[1]}](plots/{block[1]}.png)", "", f"*{block[3]}*", ""]
        else:
            _, headers, rows, flagged = block
            lines.append("| " + " | ".join(headers) + " |")
            lines.append("|" + "---|" * len(headers))
            for i, row in enumerate(rows):
                cells = [_md_cell(c) for c in row]
                if i in flagged:
                    cells = [f"**{c}**" if c else c for c in cells]
                lines.append("| " + " | ".join(cells) + " |")
            lines.append("")
    return "\n".join(lines)


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
