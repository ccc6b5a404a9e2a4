"""What every chapter does first: resolve its parameters into a recipe, data and a run folder, and say in one
line which data it runs on."""
from __future__ import annotations

import hashlib
import json
import re
import textwrap

from .. import data, recipes


def data_source(source: str = "") -> str:
    """The chapter's data: what it was given, else CIFAR-10 (the shipped sample where it cannot be downloaded)."""
    return source or data.default_source()


# The chapters' live run: the settings a parameters cell left as None take these values.
LIVE_RUN = {"recipe": "cpu", "limit": 5000, "epochs": 30, "batch_size": 128}


def live_run(recipe: str | None = None, source: str = "", limit=None, epochs=None, batch_size=None,
             run_dir: str = ""):
    """(recipe, dataset, run folder) of a chapter's live run.

    ``None`` takes the live run's value (``LIVE_RUN``); 0 takes the recipe's own epochs or batch size, and
    every training image for ``limit``. Numbers may come as strings (from environment variables). The
    folder's name carries every setting (``run_folder``), so changing one in a parameters cell trains a new
    run instead of colliding with the old one.
    """
    given = {"recipe": recipe, "limit": limit, "epochs": epochs, "batch_size": batch_size}
    chosen = {k: LIVE_RUN[k] if v is None or v == "" else v for k, v in given.items()}
    limit, epochs, batch_size = (int(chosen[k]) for k in ("limit", "epochs", "batch_size"))
    r = recipes.get(chosen["recipe"])
    r = r.replace(epochs=epochs or r.epochs, batch_size=batch_size or r.batch_size)
    source = data_source(source)
    ds = data.load(source, limit=limit or None)
    show_data(ds)
    print(wrapped(live_run_line(r, limit)))
    return r, ds, run_dir or run_folder(r, ds.name, limit)


def run_folder(r, data_name: str, limit: int) -> str:
    """``runs/<recipe>-<epochs>ep-b<batch>-<data>-<limit>-<hash>``: the hash is of the whole recipe, so a recipe
    that a newer library changes trains a new live run instead of meeting the old folder's other settings."""
    digest = hashlib.sha256(json.dumps(r.to_dict(), sort_keys=True).encode()).hexdigest()[:6]
    name = re.sub(r"[^A-Za-z0-9.]+", "-", f"{r.name}-{r.epochs}ep-b{r.batch_size}-{data_name}-{limit or 'all'}")
    return f"runs/{name.strip('-').lower()}-{digest}"


def live_run_line(r, limit: int) -> str:
    """The live run's settings in one line, each override set beside the recipe's own value."""
    own = recipes.get(r.name)
    changed = [f"{what} (the recipe: {mine})" if mine != theirs else what
               for what, theirs, mine in ((f"{r.epochs} epochs", r.epochs, own.epochs),
                                          (f"batch {r.batch_size}", r.batch_size, own.batch_size))]
    images = "every training image" if not limit else f"{limit:,} training images"
    return f"Live run: the {r.name} recipe with {images}, {', '.join(changed)}"


# Characters of printed output the page shows uncut: a cell's output box in a 1280 px browser window holds 76
# (measured in Chromium on the built book; wider lines scroll out of sight).
PAGE_WIDTH = 76
# A code cell's input box, in the same window, shows 73 (its margin and border take the rest).
CODE_WIDTH = 73


def wrapped(text) -> str:
    """``text`` (or an object's repr) wrapped to the page's width, continuation lines indented."""
    return textwrap.fill(text if isinstance(text, str) else repr(text), PAGE_WIDTH, subsequent_indent="    ",
                         break_on_hyphens=False)


def recipe_text(r) -> str:
    """Every setting of a recipe as JSON, its description wrapped to the page below it."""
    d = r.to_dict()
    description = d.pop("description")
    return json.dumps(d, indent=1) + "\n" + textwrap.fill(description, PAGE_WIDTH)


def show_data(ds) -> None:
    """The chapter's one line (wrapped to the page) on which data it ran; where the data comes from is on the
    how-to-run and references pages, not repeated in every chapter."""
    print(textwrap.fill(f"Data: {ds.describe(about=False)}", PAGE_WIDTH, subsequent_indent="  "))


WHY_AUTO = {"mixed_bfloat16": "bfloat16 is native here",
            "mixed_float16": "this GPU has no bfloat16 units: float16, the loss scaled so small gradients survive",
            "float32": "no fast half precision here"}


def precision_line(setting: str, policy: str) -> str:
    """What the run computes in, and why: the recipe's own setting, or what ``auto`` chose on this machine."""
    if setting != "auto":
        return f"{policy} (the recipe's setting)"
    return f"{policy} (the recipe's 'auto': {WHY_AUTO[policy]})"


def check_accelerator(recipe) -> str | None:
    """Say which accelerator this notebook has and what the recipe computes in on it; warn before a GPU recipe
    starts on a CPU."""
    from .. import hardware

    found = hardware.accelerator()
    print(f"Accelerator: {found or 'none, this runtime computes on its CPU'}")
    print(f"Precision: {precision_line(recipe.model.precision, hardware.resolve_precision(recipe.model.precision))}")
    if found is None and recipe.name in ("keras-io", "cifar") and recipe.epochs > 30:
        print(f"WARNING: the {recipe.name} recipe is sized for a GPU ({recipe.epochs} epochs). On a CPU it takes "
              "days (table below). In Colab: Runtime > Change runtime type > GPU, then run the chapter again.")
    return found
