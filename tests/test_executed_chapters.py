"""The chapters as the book build executed them (one execution serves the build and these checks): every
code cell ran, in order, and none ended in an error. (Their stderr, TensorFlow's start-up lines among it, is
kept in the executed notebooks and removed from the pages by `stderr_output: remove` in _config.yml.)

Runs after `jupyter-book build` (CI: the strict build step, then `pytest -m pages`); skipped without a build.
"""
import os
from pathlib import Path

import nbformat
import pytest

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
