"""The built book, opened in headless Chromium: every chapter page rendered, with its figures, no errors.

Runs after `jupyter-book build` (CI does both); skipped when there is no build or no Chromium.
"""
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
HTML = Path(os.environ.get("BOOK_HTML", ROOT / "_build" / "html"))
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHAPTERS = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(not (HTML / "index.html").exists() or CHROMIUM is None,
                                reason="needs a built book (_build/html) and Debian's chromium")


def render(page: Path, tmp_path) -> str:
    proc = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
                           "--virtual-time-budget=5000", "--dump-dom", page.as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_page_renders_with_figures_and_no_errors(chapter, tmp_path):
    dom = render(HTML / "notebooks" / f"{chapter}.html", tmp_path)
    title = re.search(r"<h1[^>]*>(.*?)</h1>", dom, re.S)
    assert title and re.sub("<[^>]+>", "", title.group(1)).strip()[:1].isdigit(), "no chapter title"
    assert len(re.findall(r"<img[^>]+src=\"[^\"]*\.png\"", dom)) >= 1, "no figure on the page"
    assert "Traceback (most recent call last)" not in dom
    assert not re.search(r'class="[^"]*output[^"]*(stderr|traceback|error)', dom), "error output on the page"
    assert "colab.research.google.com" in dom, "no Colab launch link"


def test_results_page_lists_its_sources(tmp_path):
    dom = render(HTML / "book" / "results.html", tmp_path)
    assert "result files" in dom and "Traceback" not in dom
