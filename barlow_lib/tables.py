"""Rows of results (lists of dicts) as Markdown tables: one formatter for the bench scripts' printouts,
the result files the book renders and the chapters' own tables."""
from __future__ import annotations


def number(v, digits: int = 3) -> str:
    """A float with ``digits`` decimals from 1 up, ``digits`` significant digits below (0.0051 stays
    0.0051); thousands get separators. Anything else as ``str``."""
    if not isinstance(v, float):
        return str(v)
    text = f"{v:,.{digits}f}" if abs(v) >= 1 or v == 0 else f"{v:.{digits}g}"
    return text.rstrip("0").rstrip(".") if "." in text and "e" not in text else text


def cell(v, digits: int = 3) -> str:
    """One table cell: a ``|`` inside it (a header like ``|step| / |w|``) is escaped, not a column break."""
    return number(v, digits).replace("|", "\\|")


def markdown(rows: list[dict], digits: int = 3) -> str:
    """The rows as a Markdown table, one column per key seen in any row (in order of appearance)."""
    cols = list(dict.fromkeys(k for r in rows for k in r))
    lines = ["| " + " | ".join(cell(c) for c in cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(cell(r.get(c, ""), digits) for c in cols) + " |" for r in rows]
    return "\n".join(lines)
