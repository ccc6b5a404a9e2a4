"""Result files (JSON written by the bench scripts and `barlow-twins evaluate`) rendered for the book.

Each result file holds its rows, the command that produced it and its provenance; the book shows all three
and types no number by hand.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from .. import provenance, records, tables

RESULTS = records.FOLDER.parent  # the repository's results/ (a clone's, wherever the notebook runs)


def load(folder) -> dict:
    """{file stem: result} for every ``*.json`` in ``folder`` (empty if there is none)."""
    folder = Path(folder)
    return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))} if folder.exists() else {}


# Result files whose table is too wide for a page, shown as several tables: (columns after the first, note)
SPLIT_TABLES = {
    "bench-cpu-profile": (
        (("threads", "train path pairs/s", "train path GFLOP/s", "train path % of fp32 roof",
          "train path pairs/s, each process"),
         "The training path: whole epochs through `train.train_epoch`, the loop `barlow-twins train` runs, "
         "the fastest of the processes."),
        (("step ms", "views ms", "forward ms", "backward ms", "update ms", "rest ms"),
         "One step and its pieces: medians of single calls on one batch (`train_on_batch` for the step), "
         "timed apart from the epochs above, so a step's milliseconds need not match their pairs/s exactly; "
         "`rest` is the step minus its pieces, below zero where the pieces timed one by one add up to more "
         "than the whole step."),
    ),
}
SPLIT_TABLES["bench-cpu-profile-avx2"] = SPLIT_TABLES["bench-cpu-profile"]  # the same profile, another CPU


def markdown(result: dict, split: tuple = (), heading: bool = True) -> str:
    """A result as Markdown: title, table (or ``split`` into several, see ``SPLIT_TABLES``), ratios, the
    command and where it ran. ``heading=False``: the title as the table's bold caption, for a result shown
    under a section heading of its own (a second heading would repeat it)."""
    title = result.get('title', result.get('name', 'result'))
    out = [f"### {title}" if heading else f"**{title}**", ""]
    rows = [{k: _cell(k, v) for k, v in r.items()} for r in result.get("rows") or []]
    if rows and split:
        first = next(iter(rows[0]))
        for columns, note in split:
            part = [{k: r[k] for k in (first, *columns) if k in r} for r in rows]
            out += [tables.markdown(part, DIGITS), "", note, ""]
    elif rows:
        out += [tables.markdown(rows, DIGITS), ""]
    for key, value in (result.get("summary") or {}).items():
        out.append(f"- **{key}**: {_fmt(_cell(key, value))}")
    if result.get("summary"):
        out.append("")
    if result.get("command"):
        out += [commands(result["command"]), ""]
    if result.get("data"):
        out.append(f"Data: {_options_as_code(result['data'])}  ")
    if result.get("relabelled"):
        out.append(f"Relabelled: {_options_as_code(result['relabelled'])}  ")
    prov = result.get("provenance")
    if prov:
        out.append(f"Measured on {provenance.describe(prov)}  ")
    if result.get("wall_seconds") is not None:
        out.append(f"Wall time: {result['wall_seconds']} s")
    return "\n".join(out) + "\n"


def commands(command: str) -> str:
    """A result file's command as Markdown: one command on one line; a chain (a file several commands added
    to, each joined to the next by ``&&``) as a numbered list in the order they ran, which a reader can
    follow and run one by one."""
    chain = [c.strip() for c in command.split(" && ")]
    if len(chain) == 1:
        return f"Command: `{command}`"
    return ("Commands, in the order they ran, each adding to the same file:\n\n"
            + "\n".join(f"{i}. `{c}`" for i, c in enumerate(chain, 1)))


DIGITS = 4  # measured figures: four significant digits below 1, four decimals above


SHARES = re.compile(r"\b(kNN|linear|MFU)\b")  # columns or summary lines of accuracies and shares, kept as fractions


def _cell(key: str, value):
    """An accuracy or a share as a percentage (the files keep fractions), so a table reads like the prose beside
    it: 0.312 is 31.2%, a difference "+0.0033 (noise)" is "+0.33 points (noise)"; anything else as it is."""
    if not SHARES.search(key) or isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and 0 <= value <= 1:
        return f"{value:.1%}"
    if isinstance(value, str) and "minus" in key and (m := re.fullmatch(r"([+-]?\d*\.?\d+)(.*)", value)):
        return f"{float(m[1]) * 100:+.2f} points{m[2]}"
    return value


def _options_as_code(text: str) -> str:
    """Command-line options in prose as code (``--repeats``), which Markdown would otherwise set as an en dash."""
    return re.sub(r"(?<![`\w])(--[A-Za-z][\w-]*)", r"`\1`", text)


def _fmt(v) -> str:
    return tables.number(v, DIGITS)


def show(folder, names=None, heading: bool = True):
    """Display the result files in a notebook (all, or those named), or say plainly that none exist;
    ``heading``: as for ``markdown``."""
    from IPython.display import Markdown, display

    results = load(folder)
    chosen = [n for n in (names or results) if n in results]
    missing = [n for n in (names or []) if n not in results]
    for n in chosen:
        display(Markdown(markdown(results[n], SPLIT_TABLES.get(n, ()), heading)))
    for n in missing:
        display(Markdown(f"*No result file `{n}.json` yet: that measurement has not been run.*"))
    return [results[n] for n in chosen]


def timing_rows(folder) -> list[dict]:
    """How long each recipe takes, from the result files and records: measured rows timed whole trainings,
    estimated rows multiply a measured throughput by the recipe's training pairs (50,000 per epoch)."""
    from .. import recipes, records
    from . import published, recorded

    results = load(folder)
    keras_io_epochs = recipes.get("keras-io").epochs
    rows = [{"recipe": "keras-io", "hardware": "a Colab GPU (the keras-io example's log)",
             "per epoch": f"{published.KERAS_IO['seconds_per_epoch']} s",  # the whole run as every table of
             "whole recipe": f"{published.KERAS_IO_MINUTES:.0f} min",  # published figures gives it
             "kind": "measured by its author"}]
    gpu = results.get("gpu")
    if gpu:  # the keras-io recipe was measured twice in one configuration: one row, slowest timing
        slowest = {}
        for r in gpu["rows"]:
            key = (r["recipe"], r["batch"])
            slowest[key] = max(slowest.get(key, 0), r["s per 50k epoch"])
        for (recipe, batch), epoch_s in slowest.items():
            epochs = recipes.get(recipe).epochs
            rows.append({"recipe": recipe, "hardware": f"{', '.join(gpu['provenance']['accelerators'])}, batch {batch}",
                         "per epoch": f"{epoch_s} s", "whole recipe": f"{epochs * epoch_s / 60:.0f} min",
                         "kind": "estimated from throughput (results/gpu.json)"})
    for row in results.get("bench-train-step", {}).get("rows", []):
        if row["recipe"] == "keras-io" and "mixed_bfloat16, XLA off, augmentation in" in row["variant"]:
            epoch_s = 50_000 / row["pairs/s"]
            rows.append({"recipe": "keras-io", "hardware": "2 CPU cores", "per epoch": f"{epoch_s / 60:.0f} min",
                         "whole recipe": f"{keras_io_epochs * epoch_s / 3600:.0f} hours",
                         "kind": f"estimated from throughput (results/bench-train-step.json: {row['variant']})"})
    fixed = results.get("keras-io-epochs", {}).get("variants", {}).get("fixed")
    if fixed:  # other work on the machine only ever slows an epoch down: its fastest epoch
        epoch_s = min(fixed["seconds_per_epoch"])
        rows.append({"recipe": "keras-io", "hardware": _cpu(results["keras-io-epochs"]["provenance"]),
                     "per epoch": f"{epoch_s / 60:.0f} min",
                     "whole recipe": f"{keras_io_epochs * epoch_s / 3600:.0f} hours",
                     "kind": f"measured: fastest of {fixed['epochs']} (results/keras-io-epochs.json)"})
    for name in records.available():
        rec = records.load(name)
        epochs = len(rec["history"]["epoch"])
        rows.append({"recipe": rec["recipe"], "hardware": recorded.hardware(rec),
                     "per epoch": f"{rec['train_seconds'] / epochs:.0f} s",
                     "whole recipe": f"{rec['train_seconds'] / 60:.1f} min", "kind": f"measured (record {name})"})
    return rows


def _cpu(prov: dict) -> str:
    return f"{prov.get('cpu_count')} CPU cores" if not prov.get("accelerators") else ", ".join(prov["accelerators"])


def merge_same(rows: list[dict], key: list[str], note: str = "runs") -> list[dict]:
    """Rows that are one configuration (equal ``key`` columns) as one row: measured columns become ranges."""
    groups: dict = {}
    for r in rows:
        groups.setdefault(tuple(str(r.get(k)) for k in key), []).append(r)
    out = []
    for group in groups.values():
        row = dict(group[0])
        for col in row:
            values = [g.get(col) for g in group]
            if col not in key and len({str(v) for v in values}) > 1:
                nums = [v for v in values if isinstance(v, (int, float))]
                row[col] = f"{_fmt(_cell(col, min(nums)))} to {_fmt(_cell(col, max(nums)))}" \
                    if len(nums) == len(values) else \
                    " / ".join(map(str, values))
        if len(group) > 1:
            row[note] = len(group)
        out.append(row)
    return out
