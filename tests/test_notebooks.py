"""Chapters stay reviewable and runnable: parameters first, outputs stripped, no library code, Colab-ready."""
import ast
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).parents[1]
CHAPTERS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_six_chapters_all_in_the_table_of_contents():
    assert len(CHAPTERS) == 6
    toc = (ROOT / "_toc.yml").read_text()
    for nb in CHAPTERS:
        assert f"notebooks/{nb.stem}" in toc


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_hygiene(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", []), "the first code cell must be tagged 'parameters'"
    assert "os.environ.get" in code[0].source, "parameters read their defaults from the environment"
    assert any("google.colab" in c.source or "IN_COLAB" in c.source for c in code[:2]), "no Colab install cell"
    for c in code:
        assert not c.outputs and c.execution_count is None, "commit notebooks with outputs stripped"
        lines = [line.split("%")[0] + "pass" if line.lstrip().startswith("%") else line for line in c.source.splitlines()]
        tree = ast.parse("\n".join(lines))  # IPython magics (the Colab %pip) replaced by pass
        defs = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))]
        assert not defs, f"library code in a chapter: {[d.name for d in defs]} belongs in barlow_lib"
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")


def test_colab_launch_buttons_are_configured():
    cfg = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert cfg["launch_buttons"]["colab_url"] == "https://colab.research.google.com"
    assert cfg["repository"]["url"].startswith("https://github.com/")
