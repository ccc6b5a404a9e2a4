"""bench/gpu/full_runs.py, dry-run on the CPU at smoke scale: two jobs side by side end in two records, and a
folder with a test/ split is evaluated on it with no other change (`pytest -m integration`)."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.integration
ROOT = Path(__file__).parents[1]


def folder_with_test_split(root, size=32):
    from barlow_lib import synthetic

    (x, y), (xt, yt) = synthetic.make(n_train=300, n_test=100, seed=0, size=size)
    for split, images, labels in (("train", x, y), ("test", xt, yt)):
        for i, (img, label) in enumerate(zip(images, labels)):
            d = root / split / synthetic.CLASSES[label]
            d.mkdir(parents=True, exist_ok=True)
            Image.fromarray(img).save(d / f"{i:04d}.png")
    return root


def test_full_runs_dry_run_writes_both_records_on_the_test_split(tmp_path):
    pytest.importorskip("sklearn")
    data = folder_with_test_split(tmp_path / "data")
    proc = subprocess.run([sys.executable, "bench/gpu/full_runs.py", "--data", str(data), "--job", "a=smoke:2",
                           "--job", "b=smoke:1", "--out", str(tmp_path / "records"), "--runs", str(tmp_path / "runs"),
                           "--budget", "900", "--no-supervised"], cwd=ROOT, capture_output=True, text=True,
                          timeout=1200, env={**__import__("os").environ, "BARLOW_CACHE": str(tmp_path / "cache")})
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1])["jobs"] == {"a": "recorded", "b": "recorded"}
    for name, epochs in (("a", 2), ("b", 1)):
        rec = json.loads((tmp_path / "records" / name / "record.json").read_text())
        assert rec["split"] == "test" and rec["n_eval"] == 100 and len(rec["history"]["epoch"]) == epochs
        assert rec["command"].startswith("python bench/gpu/full_runs.py") and "--job a=smoke:2" in rec["command"]
        assert 0 <= rec["evaluations"]["linear"]["accuracy"] <= 1
        size = sum(p.stat().st_size for p in (tmp_path / "records" / name).iterdir())
        assert size < 1_000_000
        with np.load(tmp_path / "records" / name / "arrays.npz") as arrays:
            assert "map_trained" in arrays.files and "c_corner" in arrays.files
