"""Every result file can be regenerated as it says: its commands parse with today's scripts (or with the
script at the commit it names), and it was written at a clean commit that exists in this repository."""
import argparse
import ast
import json
import re
import shlex
import sys
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
FILES = sorted((ROOT / "results").glob("*.json")) + sorted((ROOT / "results" / "runs").glob("*/record.json"))
TYPES = {"int": int, "float": float, "str": str}


def git(*args) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)


def have_history() -> bool:
    proc = git("rev-parse", "--is-shallow-repository")
    return proc.returncode == 0 and proc.stdout.strip() == "false"


def literal(node):
    try:
        return ast.literal_eval(node)
    except ValueError:
        return None


def parser_of(source: str) -> argparse.ArgumentParser:
    """The script's command line, rebuilt from its ``add_argument`` calls without importing the script."""
    parser = argparse.ArgumentParser(exit_on_error=False, add_help=False)
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_argument":
            kwargs = {}
            for kw in node.keywords:
                if kw.arg == "type":
                    kwargs["type"] = TYPES.get(getattr(kw.value, "id", ""), str)
                elif kw.arg in ("nargs", "action", "required", "choices", "default", "dest"):
                    kwargs[kw.arg] = literal(kw.value)
            parser.add_argument(*[literal(a) for a in node.args], **{k: v for k, v in kwargs.items() if v is not None})
    return parser


def script_source(path: str, commit: str | None) -> str:
    if commit:
        proc = git("show", f"{commit}:{path}")
        assert proc.returncode == 0, f"{path} does not exist at {commit}"
        return proc.stdout
    assert (ROOT / path).is_file(), f"{path} does not exist"
    return (ROOT / path).read_text()


def check_command(command: str, script_commit: str | None):
    """Parse each step of a recorded command line as the program it names would."""
    for step in re.split(r"\s*(?:&&|;)\s*", command.strip()):
        words = shlex.split(step)
        while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):
            words = words[1:]  # VAR=value prefixes
        program, args = words[0], words[1:]
        if program == "python":
            parser_of(script_source(args[0], script_commit)).parse_args(args[1:])
        elif program == "barlow-twins":
            from barlow_lib.cli import build_parser

            build_parser().parse_args(args)
        elif program == "bash":
            source = script_source(args[0], script_commit)
            used = max([int(n) for n in re.findall(r"\$\{?(\d)", source)] or [0])
            assert len(args) - 1 <= used, f"{args[0]} reads {used} arguments, the command gives {len(args) - 1}"
        elif program == "git" and args[:1] == ["checkout"]:
            assert git("cat-file", "-e", f"{args[1]}^{{commit}}").returncode == 0, f"no commit {args[1]}"
        else:
            raise AssertionError(f"cannot check a step that runs {program!r}: {step}")


def commands(result: dict) -> list[str]:
    return [result[k] for k in ("command", "train_command") if result.get(k)]


def commits(result: dict) -> list[str]:
    found = []

    def walk(node):
        if isinstance(node, dict):
            found.extend(v for k, v in node.items() if k == "commit" and isinstance(v, str))
            for v in node.values():
                walk(v)
    walk(result.get("provenance", {}))
    return found


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(ROOT)) for p in FILES])
def test_every_stored_command_parses_with_its_script(path):
    result = json.loads(path.read_text())
    assert commands(result), f"{path.name} names no command that wrote it"
    for command in commands(result):
        check_command(command.replace("RUN_DIR", "runs/x"), result.get("script_commit"))


@pytest.mark.skipif(not have_history(), reason="needs the repository's history (not a shallow clone)")
@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(ROOT)) for p in FILES])
def test_every_stored_commit_is_clean_and_in_this_repository(path):
    result = json.loads(path.read_text())
    found = commits(result)
    assert found, f"{path.name} has no provenance commit"
    for commit in found:
        assert not commit.endswith("+dirty"), f"{path.name} was written from a tree with uncommitted changes"
        assert git("cat-file", "-e", f"{commit}^{{commit}}").returncode == 0, f"{path.name}: no commit {commit}"


def test_the_checker_refuses_what_a_script_does_not_accept():
    for bad in ["python bench/gpu/bench_gpu.py --data /tmp/cifar10 --budget 120", "python bench/augment.py --nope",
                "barlow-twins train --recipe", "bash bench/gpu/sweep.sh a b c d e f", "curl http://x"]:
        with pytest.raises((AssertionError, argparse.ArgumentError, SystemExit)):
            check_command(bad, None)
    check_command("python bench/gpu/bench_gpu.py --out d --steps 5", None)


def test_no_result_file_keeps_a_recipe_name_the_library_has_renamed():
    from barlow_lib.recipes import ALIASES

    for path in FILES:
        text = path.read_text()
        for old in ALIASES:
            used_as_recipe = rf'"recipe": "{old}[-"]|\b{old}(-bf16| style| strengths| recipe)\b'
            assert not re.search(used_as_recipe, text), f"{path.name} still names recipe {old!r}"


def test_a_recorded_command_with_spaces_and_quotes_in_its_arguments_runs_as_written(monkeypatch):
    """bench/cpu_profile.py's setting names ("TensorFlow's default threads") broke a command joined with spaces."""
    sys.path.insert(0, str(ROOT / "bench"))
    import _common

    argv = ["bench/cpu_profile.py", "--settings", "TensorFlow's default threads", "oneDNN off", "--out", "x.json"]
    monkeypatch.setattr(sys, "argv", argv)
    command = _common.command_line("bench/cpu_profile.py")
    assert shlex.split(command) == ["python", *argv]
    check_command(command, None)


def test_a_script_continuing_a_result_file_still_reads_its_commit_as_clean(tmp_path, monkeypatch):
    # A chain of commands adding to one file (the sweep's) changes that file between commands: the code is
    # still the commit's, so results/ is set aside; any change to code still marks the tree dirty.
    from barlow_lib import provenance
    monkeypatch.delenv("BARLOW_COMMIT", raising=False)
    run = lambda *a: subprocess.run(["git", *a], cwd=tmp_path, check=True, capture_output=True)  # noqa: E731
    run("init", "-q")
    (tmp_path / "code.py").write_text("x = 1\n")
    (tmp_path / "results").mkdir()
    out = tmp_path / "results" / "sweep.json"
    out.write_text("{}\n")
    run("add", ".")
    run("-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "start")
    out.write_text('{"runs": [1]}\n')
    assert not provenance.git_commit(tmp_path).endswith("+dirty")
    assert not provenance.git_commit(tmp_path / "results").endswith("+dirty")  # from any folder of the tree
    (tmp_path / "code.py").write_text("x = 2\n")
    assert provenance.git_commit(tmp_path).endswith("+dirty")


def test_a_bench_killed_while_writing_its_result_leaves_the_previous_file_whole(tmp_path, monkeypatch):
    """The result files are committed data: a benchmark killed halfway through writing one must not truncate it."""
    sys.path.insert(0, str(ROOT / "bench"))
    import _common

    out = tmp_path / "bench.json"
    out.write_text('{"rows": ["the previous result"]}\n')
    real_write = Path.write_text

    def killed_halfway(self, text, *args, **kwargs):
        real_write(self, text[: len(text) // 2])
        raise KeyboardInterrupt
    monkeypatch.setattr(Path, "write_text", killed_halfway)
    with pytest.raises(KeyboardInterrupt):
        _common.write_result(out, "t", [{"a": 1}], {}, 0.0)
    monkeypatch.undo()
    assert json.loads(out.read_text()) == {"rows": ["the previous result"]}
    assert [p.name for p in tmp_path.iterdir()] == ["bench.json"]  # and no half-written file beside it
