"""The chapters as the book build executed them (one execution serves the build and these checks): every
code cell ran, in order, and none ended in an error. (Their stderr, TensorFlow's start-up lines among it, is
kept in the executed notebooks and removed from the pages by `stderr_output: remove` in _config.yml.)

Runs after `jupyter-book build` (CI: the strict build step, then `pytest -m pages`); skipped without a build.
"""
import os
from pathlib import Path

import nbformat
import pytest
from barlow_lib.chapters.start import PAGE_WIDTH  # the width the chapters wrap their printed lines to

ROOT = Path(__file__).parents[1]
EXECUTED = Path(os.environ.get("BOOK_EXECUTED", ROOT / "_build" / "jupyter_execute" / "notebooks"))
CHAPTERS = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))

pytestmark = [pytest.mark.pages,
              pytest.mark.skipif(not EXECUTED.is_dir(), reason="needs an executed book build (_build/jupyter_execute)")]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_cell_of_the_chapter_ran_without_an_error(chapter):
    path = EXECUTED / f"{chapter}.ipynb"
    assert path.exists(), f"the build did not execute {chapter}"
    cells = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    counts = [c.execution_count for c in cells]
    assert None not in counts, f"cell {counts.index(None)} of {chapter} never ran"
    assert counts == sorted(counts) and len(set(counts)) == len(counts), f"{chapter} ran out of order: {counts}"
    for i, c in enumerate(cells):
        errors = [o for o in c.outputs if o.output_type == "error"]
        assert not errors, f"{chapter} cell {i}: {errors[0].ename}: {errors[0].evalue}"


def test_no_built_page_shows_a_path_of_the_machine_that_built_it():
    """A record stores its data as the training machine's absolute path; pages once printed it
    (``/root/cifar10-jpeg``). A reader has neither that home folder nor this checkout."""
    html = ROOT / "_build" / "html"
    own = {str(Path.home()) + "/", str(ROOT.parent) + "/"}
    found = {str(p.relative_to(html)): sorted(m for m in own if m in p.read_text(errors="ignore"))
             for p in html.rglob("*.html") if "_static" not in p.parts}
    assert not {k: v for k, v in found.items() if v}, found




def executed():
    return {c: nbformat.read(EXECUTED / f"{c}.ipynb", as_version=4) for c in CHAPTERS
            if (EXECUTED / f"{c}.ipynb").exists()}


def outputs(nb):
    return [o for c in nb.cells if c.cell_type == "code" and "remove-output" not in c.metadata.get("tags", [])
            for o in c.outputs]


def test_no_printed_line_is_wider_than_the_page():
    wide = {}
    for chapter, nb in executed().items():
        for o in outputs(nb):
            text = o.get("text", "") if o.output_type == "stream" and o.get("name") == "stdout" else ""
            wide.setdefault(chapter, []).extend(line for line in text.splitlines() if len(line) > PAGE_WIDTH)
    assert not any(wide.values()), {c: lines[:2] for c, lines in wide.items() if lines}


def test_no_figure_and_no_paragraph_appears_on_two_pages():
    """Show each once and refer back: a figure (same pixels) or a printed paragraph (150+ characters) that two
    chapters both show is a repetition a reader pages through twice."""
    import hashlib

    seen, twice = {}, []
    for chapter, nb in executed().items():
        mine = set()
        for o in outputs(nb):
            data = o.get("data", {})
            if "image/png" in data:
                mine.add(("figure", hashlib.sha256(str(data["image/png"]).encode()).hexdigest()[:12]))
            texts = [o.get("text", "")] if o.output_type == "stream" else [str(data.get("text/markdown", ""))]
            mine |= {("paragraph", p.strip()) for t in texts for p in t.split("\n\n") if len(p.strip()) >= 150}
        twice += [(kind, what[:80], seen[(kind, what)], chapter) for kind, what in mine if (kind, what) in seen]
        seen.update({k: chapter for k in mine if k not in seen})
    assert not twice, twice[:4]
