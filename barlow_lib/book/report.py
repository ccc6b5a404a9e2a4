"""Result files (JSON written by the bench scripts and `barlow-twins evaluate`) rendered for the book.

Each result file holds its rows, the command that produced it and its provenance; the book shows all three
and types no number by hand.
"""
from __future__ import annotations

import json
from pathlib import Path

from .. import provenance


def load(folder) -> dict:
    """{file stem: result} for every ``*.json`` in ``folder`` (empty if there is none)."""
    folder = Path(folder)
    return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))} if folder.exists() else {}


def markdown(result: dict) -> str:
    """A result as Markdown: title, table, ratios, the command and where it ran."""
    out = [f"### {result.get('title', result.get('name', 'result'))}", ""]
    rows = result.get("rows") or []
    if rows:
        cols = list(dict.fromkeys(k for r in rows for k in r))
        out += ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        out += ["| " + " | ".join(_fmt(r.get(c, "")) for c in cols) + " |" for r in rows]
        out.append("")
    for key, value in (result.get("summary") or {}).items():
        out.append(f"- **{key}**: {_fmt(value)}")
    if result.get("summary"):
        out.append("")
    if result.get("command"):
        out.append(f"Command: `{result['command']}`  ")
    if result.get("data"):
        out.append(f"Data: {result['data']}  ")
    prov = result.get("provenance")
    if prov:
        out.append(f"Measured on {provenance.describe(prov)}  ")
    if result.get("wall_seconds") is not None:
        out.append(f"Wall time: {result['wall_seconds']} s")
    return "\n".join(out) + "\n"


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 1000 else f"{v:,.0f}"
    return str(v)


def show(folder, names=None):
    """Display the result files in a notebook (all, or those named), or say plainly that none exist."""
    from IPython.display import Markdown, display

    results = load(folder)
    chosen = [n for n in (names or results) if n in results]
    missing = [n for n in (names or []) if n not in results]
    for n in chosen:
        display(Markdown(markdown(results[n])))
    for n in missing:
        display(Markdown(f"*No result file `{n}.json` yet: that measurement has not been run.*"))
    return [results[n] for n in chosen]
