"""Chapters stay reviewable and runnable: parameters first, outputs stripped, no library code, Colab-ready."""
import ast
import re
from pathlib import Path

import nbformat
import pytest
import yaml

from barlow_lib.chapters.start import CODE_WIDTH  # what a code cell shows uncut on the page

ROOT = Path(__file__).parents[1]
CHAPTERS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())


def code_cells(path):
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


def python_of(source: str) -> str:
    """A cell's source with IPython's % magics and ! shell lines turned into `pass`."""
    return "\n".join(re.sub(r"^(\s*)[%!].*", r"\1pass", line) for line in source.splitlines())


def test_seven_chapters_all_in_the_table_of_contents():
    assert len(CHAPTERS) == 7
    toc = (ROOT / "_toc.yml").read_text()
    for nb in CHAPTERS:
        assert f"notebooks/{nb.stem}" in toc


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_hygiene(path):
    nb = nbformat.read(path, as_version=4)
    code = code_cells(path)
    assert {"parameters", "hide-input"} <= set(code[0].metadata.get("tags", [])), "first cell: parameters, collapsed"
    assert "os.environ.get" in code[0].source, "parameters read their defaults from the environment"
    assert "hide-input" in code[1].metadata.get("tags", []) and "google.colab" in code[1].source, "no setup cell"
    for c in code:
        assert not c.outputs and c.execution_count is None, "commit notebooks with outputs stripped"
        tree = ast.parse(python_of(c.source))
        defs = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))]
        assert not defs, f"library code in a chapter: {[d.name for d in defs]} belongs in barlow_lib"
        long = [line for line in c.source.splitlines() if len(line) > CODE_WIDTH]
        assert not long, f"code lines wider than the page: {long[0]!r}"
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    assert "## Exercises" in "".join(c.source for c in nb.cells if c.cell_type == "markdown")


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapters_show_library_code_rather_than_copy_it(path):
    """Code a chapter explains comes from the library's source (book.source.show), never a pasted copy."""
    for c in nbformat.read(path, as_version=4).cells:
        if c.cell_type == "markdown":
            for block in re.findall(r"```python\n(.*?)```", c.source, re.S):
                assert not re.search(r"^\s*(def|class) ", block, re.M), f"copied code in {path.name}:\n{block}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_parameter_and_import_is_used(path):
    code = code_cells(path)
    rest = "\n".join(python_of(c.source) for c in code[1:])
    for name in re.findall(r"^([A-Z_]+) = ", code[0].source, re.M):
        assert re.search(rf"\b{name}\b", rest), f"parameter {name} is declared but never read"
    setup, later = python_of(code[1].source), "\n".join(python_of(c.source) for c in code[2:])
    tree = ast.parse(setup)
    imports = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
    import_lines = {line for n in imports for line in range(n.lineno, n.end_lineno + 1)}
    rest_of_setup = "\n".join(t for i, t in enumerate(setup.splitlines(), 1) if i not in import_lines)
    for node in imports:
        for alias in node.names:
            name = (alias.asname or alias.name).split(".")[0]
            assert re.search(rf"\b{name}\b", later + rest_of_setup), f"unused import {name}"


def test_every_install_cell_uses_the_configured_repository():
    url = CONFIG["repository"]["url"]
    assert url.startswith("https://github.com/")
    for path in CHAPTERS:
        setup = code_cells(path)[1].source
        assert re.search(rf'REPO = os.environ.get\(\s*"BARLOW_REPO",\s+"{re.escape(url)}"\)', setup) \
            and "git clone -q --depth 1 $REPO" in setup, \
            f"{path.name} installs from another repository"
    assert CONFIG["launch_buttons"]["colab_url"] == "https://colab.research.google.com"
