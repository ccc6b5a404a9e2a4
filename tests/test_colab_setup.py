"""The Colab path, run for real: chapter 1's own set-up cell clones the book, installs the library into a
Python 3.12 kernel that has Colab-like packages preinstalled, and the chapter runs to its end.

The kernel is made to look like Colab's the way Colab makes it: ``google.colab`` is imported at start-up
(an IPython start-up file), the working folder is a fresh one (Colab's ``/content``), and TensorFlow, Keras
and NumPy are preinstalled, Keras older than the library's floor. The only thing of the cell's the test
changes is the repository's URL (``BARLOW_REPO``: this clone, through ``file://``). Needs Python 3.12
(``BARLOW_PYTHON312`` or ``python3.12`` on PATH) and the package registry; ``pytest -m colab``.
"""
import json
import os
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).parents[1]
# Colab-like: TensorFlow at the library's floor, Keras one minor release below its floor, NumPy 1.
PREINSTALLED = ["tensorflow==2.16.1", "keras==3.13.2", "numpy==1.26.0", "ipykernel", "nbclient", "nbformat",
                "matplotlib", "pillow", "tqdm"]
TF_START_UP = ("oneDNN", "cudart", "cuda_", "absl::", "I0000", "W0000", "E0000", "computation placer")
pytestmark = pytest.mark.colab


def python312() -> str:
    """The first Python 3.12 that runs: BARLOW_PYTHON312, python3.12 on PATH, pyenv's (a pyenv shim on PATH
    may name a version that is not selected, and fail)."""
    import glob

    pyenv = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    for candidate in [os.environ.get("BARLOW_PYTHON312"), shutil.which("python3.12"),
                      *sorted(glob.glob(f"{pyenv}/versions/3.12*/bin/python"))]:
        if candidate and subprocess.run([candidate, "-c", "import sys; assert sys.version_info[:2] == (3, 12)"],
                                        capture_output=True).returncode == 0:
            return candidate
    pytest.fail("no Python 3.12: set BARLOW_PYTHON312 to one (Colab runs 3.12)")


def installed(python: Path) -> dict:
    out = subprocess.run([python, "-m", "pip", "list", "--format", "json"], capture_output=True, text=True,
                         check=True).stdout
    return {p["name"].lower(): p["version"] for p in json.loads(out)}


def run_chapter(python: Path, workdir: Path, env: dict) -> nbformat.NotebookNode:
    nb = nbformat.read(ROOT / "notebooks/01_theory.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(
        "import sys, barlow_lib, keras\nprint('LIBRARY', barlow_lib.__file__)\nprint('KERAS', keras.__version__)\n"
        "print('PYTHON', sys.executable, sys.version_info[:2])"))
    src, out = workdir / "in.ipynb", workdir / "out.ipynb"
    nbformat.write(nb, src)
    script = ("import nbformat, nbclient, sys\n"
              "nb = nbformat.read(sys.argv[1], as_version=4)\n"
              "nbclient.NotebookClient(nb, timeout=600, kernel_name='python3',"
              " resources={'metadata': {'path': sys.argv[3]}}).execute()\n"
              "nbformat.write(nb, sys.argv[2])\n")
    done = subprocess.run([python, "-c", script, src, out, workdir], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return nbformat.read(out, as_version=4)


def release(version: str) -> tuple:
    return tuple(int(x) for x in version.split(".")[:2])


def streams(nb) -> str:
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs
                   if o.output_type == "stream")


def test_the_colab_set_up_cell_clones_installs_and_chapter_1_runs_to_its_end(tmp_path):
    venv = tmp_path / "colab-python"
    subprocess.run([python312(), "-m", "venv", venv], check=True)
    python = venv / "bin/python"
    subprocess.run([python, "-m", "pip", "install", "-q", *PREINSTALLED], check=True)
    site = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "google/colab").mkdir(parents=True)  # what Colab's kernel has and imports at start-up
    (site / "google/colab/__init__.py").write_text('"""Stands in for Colab\'s own module."""\n')
    ipython = tmp_path / "ipython"
    (ipython / "profile_default/startup").mkdir(parents=True)
    (ipython / "profile_default/startup/00-colab.py").write_text("import google.colab  # noqa: F401\n")
    before = installed(python)
    content = tmp_path / "content"  # Colab's working folder
    content.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BARLOW_", "PYTHON", "VIRTUAL_ENV", "JUPYTER"))}
    env |= {"BARLOW_REPO": f"file://{ROOT}", "IPYTHONDIR": str(ipython), "PATH": f"{venv}/bin:{env['PATH']}",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # Colab does not set it: the cell must
    env.pop("MPLBACKEND", None)

    nb = run_chapter(python, content, env)
    text = streams(nb)
    book = content / "barlow-twins"
    assert (book / "barlow_lib/loss.py").is_file() and (book / "results").is_dir()  # the clone, where Colab keeps it
    assert f"LIBRARY {book}/barlow_lib/__init__.py" in text  # the chapter ran on the cloned library
    after = installed(python)
    assert f"PYTHON {python} (3, 12)" in text  # the kernel is the Colab-like Python
    assert release(after["keras"]) >= (3, 14) and f"KERAS {after['keras']}" in text  # below the floor: upgraded
    for kept in ("tensorflow", "numpy", "matplotlib", "pillow"):  # at or above their floors: left alone
        assert after[kept] == before[kept], f"the install changed {kept} {before[kept]} -> {after[kept]}"
    assert "Restart the runtime" not in text  # keras was upgraded before anything imported it
    assert not [m for m in TF_START_UP if m in text], text[:2000]  # the reader's output is the book's own
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors

    # Run again, as after a restart: the clone is there, nothing installs twice, the chapter still runs.
    again = run_chapter(python, content, env)
    assert installed(python) == after and "Restart the runtime" not in streams(again)
    assert f"LIBRARY {book}/barlow_lib/__init__.py" in streams(again)
