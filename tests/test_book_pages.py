"""The built book, opened in headless Chromium: every chapter rendered with its figures and no errors, real
CIFAR-10 data on the chapters, the recorded runs on chapters 5 and 6, and sliders that work with no kernel.

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

pytestmark = [pytest.mark.pages,
              pytest.mark.skipif(not (HTML / "index.html").exists() or CHROMIUM is None,
                                 reason="needs a built book (_build/html) and Debian's chromium")]


# Images each chapter page shows (the figures its cells draw, plus the Colab button's logo).
FIGURES = {"01_theory": 3, "02_augmentations": 5, "03_loss": 5, "04_resnet34": 3, "05_training": 4,
           "06_evaluation": 5, "07_ablations": 3}


def render(page: Path, tmp_path) -> str:
    proc = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
                           "--virtual-time-budget=5000", "--dump-dom", page.as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def text_of(dom: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", dom, flags=re.S)))


def figures(dom: str) -> int:
    return len(re.findall(r"<img[^>]+src=\"[^\"]*\.png\"", dom))


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_page_renders_with_figures_and_no_errors(chapter, tmp_path):
    dom = render(HTML / "notebooks" / f"{chapter}.html", tmp_path)
    title = re.search(r"<h1[^>]*>(.*?)</h1>", dom, re.S)
    assert title and re.sub("<[^>]+>", "", title.group(1)).strip()[:1].isdigit(), "no chapter title"
    shown, expected = figures(dom), FIGURES[chapter]
    assert shown >= expected, f"{shown} figures, expected {expected} (MPLBACKEND=Agg once hid them all)"
    text = text_of(dom)
    assert "Traceback (most recent call last)" not in text and "WARNING:tensorflow" not in text
    assert not re.search(r'class="[^"]*output[^"]*(stderr|traceback|error)', dom), "error output on the page"
    assert "colab.research.google.com" in dom, "no Colab launch link"
    if "synthetic" in text.lower():
        assert "generated shapes" in text.lower(), "the page names synthetic data without saying what it is"


@pytest.mark.parametrize("chapter", [c for c in CHAPTERS if c[:2] in ("02", "03", "05", "06")])
def test_chapters_run_on_cifar10(chapter, tmp_path):
    text = text_of(render(HTML / "notebooks" / f"{chapter}.html", tmp_path))
    line = re.search(r"Data: ([^.;]+)", text)
    assert line and "CIFAR-10" in line.group(1), f"the data line says {line.group(0) if line else None!r}"


@pytest.mark.parametrize("chapter,at_least", [("05_training", 4), ("06_evaluation", 5)])
def test_chapters_5_and_6_show_the_recorded_runs(chapter, at_least, tmp_path):
    dom = render(HTML / "notebooks" / f"{chapter}.html", tmp_path)
    text = text_of(dom)
    assert re.search(r"Record cpu ?: \d+ epochs", text), "the cpu record is not shown"
    assert "No recorded run `cpu`" not in text and "No recorded run cpu" not in text
    assert figures(dom) >= at_least
    if chapter == "06_evaluation":
        assert "kNN random init" in text and "supervised from scratch" in text


def test_results_page_lists_its_sources_and_what_is_not_measured(tmp_path):
    dom = render(HTML / "book" / "results.html", tmp_path)
    text = text_of(dom)
    n_records = len(list((ROOT / "results" / "runs").glob("*/record.json")))
    assert figures(dom) >= n_records, "a record's curves are missing"
    assert "results/" in text and "Traceback" not in text and "not measured" in text
    assert "| D |" not in text


def test_a_slider_changes_the_picture_in_the_built_page():
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver_path = shutil.which("chromedriver")
    if driver_path is None:
        pytest.skip("needs Debian's chromium-driver")
    options = Options()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        driver.get((HTML / "notebooks" / "02_augmentations.html").as_uri())
        sliders = driver.find_elements(By.CSS_SELECTOR, ".bt-slider")
        assert len(sliders) >= 6
        for box in sliders[:3]:
            slider = box.find_element(By.CSS_SELECTOR, "input[type=range]")
            picture = box.find_element(By.TAG_NAME, "img")
            before, shown = picture.get_attribute("src"), box.find_element(By.TAG_NAME, "output").text
            driver.execute_script("arguments[0].scrollIntoView()", slider)
            slider.send_keys(Keys.HOME if slider.get_attribute("value") != "0" else Keys.END)
            assert picture.get_attribute("src") != before, f"{box.get_attribute('data-name')}: picture unchanged"
            assert box.find_element(By.TAG_NAME, "output").text != shown
        page_bytes = len(driver.page_source.encode())
        assert page_bytes < 2_000_000, f"the page weighs {page_bytes:,} bytes"
    finally:
        driver.quit()


@pytest.mark.parametrize("page", ["book/results", "book/appendix_cpu", "book/how_to_run", "book/intro"])
def test_markdown_pages_offer_no_colab_button(page, tmp_path):
    """Colab opens notebooks, not MyST Markdown: a launch button there would lead nowhere."""
    assert "colab.research.google.com" not in render(HTML / f"{page}.html", tmp_path)
