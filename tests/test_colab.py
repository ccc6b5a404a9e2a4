"""The set-up cell's restart check: a module imported before the install and upgraded by it is named."""
import sys
import types

from barlow_lib import colab


def test_a_module_imported_at_an_older_version_than_installed_asks_for_a_restart(monkeypatch, capsys):
    assert colab.stale_modules() == {} and colab.check_restart() is False  # this process: nothing upgraded
    monkeypatch.setitem(sys.modules, "keras", types.SimpleNamespace(__version__="3.8.0"))
    assert colab.stale_modules()["keras"][0] == "3.8.0"
    assert colab.check_restart() is True
    out = capsys.readouterr().out
    assert "keras 3.8.0 -> " in out and "Restart the runtime" in out and "numpy" not in out
