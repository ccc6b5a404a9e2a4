"""The chapters as a reader runs them: a real JupyterLab on localhost, driven by headless Chromium.

Chapter 2: run every cell, drag a slider of the live augmentation viewer, press "new random draw", and check
that the views' picture changed each time (its pixels, read back from the page). Chapter 5: run every cell and
check that the live run's progress shows while it trains, not only once it is done. The server runs on copies
of the chapters (JupyterLab's autosave would write into the repository's), with a token, its own runtime
folder and settings; it is shut down at the end and no process of it may be left. ``pytest -m client``.
"""
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
pytestmark = pytest.mark.client
LIVE_RUN = {"BARLOW_EPOCHS": "6", "BARLOW_LIMIT": "2000"}  # chapter 5's live run, sized to be watched


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def processes_mentioning(text: str) -> list[str]:
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout.splitlines()
    return [line for line in out if text in line and "ps -eo" not in line]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if not shutil.which("chromium") or not shutil.which("chromedriver"):
        pytest.fail("needs Debian's chromium and chromium-driver (.ci/run installs them)")
    home = tmp_path_factory.mktemp("lab")
    shutil.copytree(ROOT / "notebooks", home / "notebooks", ignore=shutil.ignore_patterns("runs", ".ipynb*"))
    settings = home / "settings/@jupyterlab/docmanager-extension"
    settings.mkdir(parents=True)
    (settings / "plugin.jupyterlab-settings").write_text(json.dumps({"autosave": False}))
    (home / "settings/@jupyterlab/apputils-extension").mkdir(parents=True)
    (home / "settings/@jupyterlab/apputils-extension/notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    runtime, token, port = home / "runtime", secrets.token_hex(16), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BARLOW_")} | LIVE_RUN | {
        "JUPYTER_RUNTIME_DIR": str(runtime), "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"), "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # a reader's Jupyter does not set it: the chapters must
    log = open(home / "server.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={home}", "--LabApp.news_url=''",
         *(["--allow-root"] if os.geteuid() == 0 else [])],  # CI machines often run as root
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        if server.poll() is not None:
            break
        try:
            urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
            break
        except OSError:
            time.sleep(0.5)
    else:
        server.kill()
        pytest.fail("JupyterLab did not start:\n" + (home / "server.log").read_text()[-2000:])

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        opts.add_argument(arg)
    opts.binary_location = shutil.which("chromium")
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)
    try:
        yield {"url": url, "token": token, "driver": driver}
    finally:
        driver.quit()
        request = urllib.request.Request(f"{url}/api/shutdown", method="POST",
                                         headers={"Authorization": f"token {token}"})
        try:
            urllib.request.urlopen(request, timeout=10)
            server.wait(timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            os.killpg(server.pid, signal.SIGKILL)
        log.close()
        left = processes_mentioning(str(runtime))  # kernels are started with a connection file in it
        assert server.poll() is not None and not left, f"left behind: {left}"


def open_and_run_all(lab, chapter: str):
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    d = lab["driver"]
    workspace = chapter.split(".")[0]  # a workspace of its own: this chapter's tab alone
    d.get(f"{lab['url']}/lab/workspaces/{workspace}/tree/notebooks/{chapter}?token={lab['token']}")
    wait = WebDriverWait(d, 120)
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".jp-Notebook .jp-Cell"))
    wait.until(lambda d: "| Idle" in d.find_element(By.CSS_SELECTOR, ".jp-StatusBar-Widget, #jp-main-statusbar")
               .text)  # the kernel started and is ready
    for _ in range(3):  # a click that lands while the page is still settling is lost: try again
        d.find_element(By.XPATH, "//div[contains(@class,'lm-MenuBar-itemLabel') and text()='Run']").click()
        wait.until(lambda d: d.find_elements(By.XPATH, "//div[contains(@class,'lm-Menu-itemLabel') "
                                                       "and text()='Run All Cells']"))[0].click()
        try:
            WebDriverWait(d, 30).until(lambda d: any(p != "[ ]:" for p in prompts(d)))
            return
        except TimeoutException:
            continue
    pytest.fail(f"Run All Cells did not start {chapter}")


def prompts(d) -> list[str]:
    return d.execute_script("return [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]"
                            ".map(e => e.textContent.trim());")


def wait_until_done(d, timeout: float):
    """Every code cell ran: each prompt holds a number, none holds '*'."""
    end = time.time() + timeout
    while time.time() < end:
        p = prompts(d)
        if p and all(x.strip("[]:").isdigit() for x in p):
            return p
        time.sleep(1)
    pytest.fail(f"the chapter did not finish in {timeout} s; prompts: {prompts(d)}")


def errors_shown(d) -> list[str]:
    return d.execute_script("return [...document.querySelectorAll('.jp-OutputArea-output')]"
                            ".map(e => e.textContent).filter(t => /Traceback|Error:/.test(t)).slice(0, 3);")


def picture(d, img) -> str:
    """The pixels of an <img> as the browser decoded them (a data URL of a canvas copy)."""
    return d.execute_script(
        "const img = arguments[0]; if (!img.complete || !img.naturalWidth) return '';"
        "const c = document.createElement('canvas'); c.width = img.naturalWidth; c.height = img.naturalHeight;"
        "c.getContext('2d').drawImage(img, 0, 0); return c.toDataURL();", img)


def test_the_live_viewers_slider_and_new_draw_button_redraw_the_views_in_jupyterlab(lab):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    d = lab["driver"]
    open_and_run_all(lab, "02_augmentations.ipynb")
    wait_until_done(d, 240)
    assert not errors_shown(d), errors_shown(d)
    wait = WebDriverWait(d, 30)
    img = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".jp-OutputArea-output img.widget-image"))[0]
    d.execute_script("arguments[0].scrollIntoView({block: 'center'});", img)
    wait.until(lambda d: picture(d, img))
    first = picture(d, img)

    slider = d.find_element(By.XPATH, "//div[contains(@class,'widget-slider')][.//label[text()='grayscale_prob']]")
    readout = slider.find_element(By.CSS_SELECTOR, ".widget-readout")
    before = readout.text
    handle = slider.find_element(By.CSS_SELECTOR, ".noUi-handle")
    d.execute_script("arguments[0].scrollIntoView({block: 'center'});", handle)
    ActionChains(d).drag_and_drop_by_offset(handle, 400, 0).perform()  # to its right end: every view grey
    wait.until(lambda d: readout.text != before)
    assert float(readout.text) == 1.0, readout.text
    wait.until(lambda d: picture(d, img) not in ("", first))
    dragged = picture(d, img)

    button = d.find_element(By.XPATH, "//button[contains(., 'new random draw')]")
    d.execute_script("arguments[0].scrollIntoView({block: 'center'});", button)
    button.click()
    wait.until(lambda d: picture(d, img) not in ("", dragged, first))


def test_chapter_5s_live_run_shows_its_progress_while_it_trains(lab):
    d = lab["driver"]
    open_and_run_all(lab, "05_training.ipynb")
    live = "train.train(recipe, ds, run_dir"
    seen_running, states, end = [], [], time.time() + 300
    while time.time() < end:  # poll the live-run cell while its prompt says it is running
        state = d.execute_script(
            "const cells = [...document.querySelectorAll('.jp-CodeCell')];"
            "const c = cells.find(c => c.querySelector('.jp-InputArea').textContent.includes(arguments[0]));"
            "return c ? [c.querySelector('.jp-InputPrompt').textContent, "
            "c.querySelector('.jp-OutputArea') ? c.querySelector('.jp-OutputArea').textContent : ''] : null;", live)
        states.append(state and [state[0], state[1][-80:]])
        if state and "*" in state[0]:
            seen_running.append(state[1])
        elif seen_running and state and state[0].strip("[]: ").isdigit():
            break
        time.sleep(0.5)
    shown = [t for t in seen_running if "epoch" in t]
    assert shown, f"nothing shown while the live run trained; last states: {states[-5:]!r}"
    assert len(set(shown)) >= 2, "the progress did not move while it trained"
    assert f"epoch {LIVE_RUN['BARLOW_EPOCHS']}/{LIVE_RUN['BARLOW_EPOCHS']}" not in shown[0]  # seen before the end
    wait_until_done(d, 300)
    assert not errors_shown(d), errors_shown(d)
