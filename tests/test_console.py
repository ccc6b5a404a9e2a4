"""Progress in a notebook: one display redrawn in place, so an executed notebook keeps its last state only."""
import nbformat
from nbclient import NotebookClient

CELL = """import time
from barlow_lib import console
with console.bar(3, "epoch 1/1", "step", shown=True) as bar:
    for _ in range(3):
        time.sleep(0.6)
        bar.update(1)
        bar.set_postfix(loss="1.00")
"""


def test_a_bar_in_a_notebook_is_one_display_that_ends_at_its_last_state():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(CELL)]
    NotebookClient(nb, kernel_name="python3", timeout=120).execute()
    outputs = nb.cells[0].outputs
    assert [o.output_type for o in outputs] == ["display_data"], outputs  # no stream of frames
    text = outputs[0]["data"]["text/plain"]
    assert "epoch 1/1" in text and "3/3" in text and "loss=1.00" in text and "\r" not in text
