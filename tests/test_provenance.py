"""provenance.git_commit: which changes make a tree dirty."""
import subprocess

from barlow_lib import provenance


def test_a_changed_result_file_leaves_the_commit_clean_and_changed_code_does_not(tmp_path, monkeypatch):
    monkeypatch.delenv("BARLOW_COMMIT", raising=False)

    def git(*args):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=tmp_path, check=True,
                       capture_output=True)

    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "sweep.json").write_text("{}")
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "code.py").write_text("x = 1\n")
    git("init", "-q")
    git("add", ".")
    git("commit", "-qm", "start")
    clean = provenance.git_commit(tmp_path / "lib")  # asked from inside a package folder, as the library does
    assert len(clean) == 12 and not clean.endswith("+dirty")
    (tmp_path / "results" / "sweep.json").write_text('{"runs": []}')  # a bench script continuing its file
    assert provenance.git_commit(tmp_path / "lib") == clean
    (tmp_path / "lib" / "code.py").write_text("x = 2\n")
    assert provenance.git_commit(tmp_path / "lib") == clean + "+dirty"
