"""chapters/keras_io_check: chapter 5's table, figure and sentences are the result file's numbers."""
import matplotlib

matplotlib.use("Agg")
from barlow_lib.chapters import keras_io_check  # noqa: E402


def _result():
    def variant(loss, published):
        return {"epochs": f"epochs 1-{len(loss)} of 160", "epochs_done": len(loss), "loss": loss,
                "published_loss": published, "relative_difference": [(a - b) / b for a, b in zip(loss, published)]}

    published = [3480.8, 2163.4, 1939.0]
    return {"variants": {"fixed": variant([3828.9, 2163.4, 1745.1], published),
                         "bugs-kept": variant([3480.8, 2379.7], published[:2])},
            "data": "cifar10-jpeg: 50,000 training images.", "command": "python bench/keras_io_epochs.py --epochs 3",
            "provenance": {"cpu": "a CPU", "cpu_count": 2, "commit": "abc123"}, "published_source": "keras-io",
            "scheduling": "normal priority"}


def test_the_table_stops_at_the_epochs_both_runs_have_and_signs_each_difference():
    rows = keras_io_check.rows(_result())
    assert [r["epoch"] for r in rows] == [1, 2]  # bugs-kept has two epochs
    assert rows[0]["fixed vs published"] == "+10.0%" and rows[1]["bugs-kept vs published"] == "+10.0%"
    assert rows[1]["fixed vs published"] == "+0.0%" and rows[0]["published"] == 3480.8


def test_the_summary_names_first_last_and_largest_gaps_and_the_gap_between_the_runs():
    text = keras_io_check.summary(_result())
    assert "epochs 1-3 of 160: from +10.0% at epoch 1 to -10.0% at epoch 3" in text
    assert "(largest gap +10.0%, epoch 1)" in text  # ties: the first
    assert "bugs-kept run: -9.1% to +10.0%" in text  # 2163.4 / 2379.7 - 1 and 3828.9 / 3480.8 - 1


def test_the_figure_draws_the_published_log_and_each_run():
    fig = keras_io_check.plot(_result())
    lines = fig.axes[0].get_lines()
    assert [len(line.get_xdata()) for line in lines] == [3, 3, 2]
    assert "epochs 1-3 of 160" in fig.axes[0].get_title()


def test_the_description_says_which_epochs_of_160_each_run_covers_and_where_it_ran():
    text = keras_io_check.describe(_result())
    assert "(bugs fixed): epochs 1-3 of 160" in text and "bugs kept: epochs 1-2 of 160" in text
    assert "commit abc123" in text and "`python bench/keras_io_epochs.py --epochs 3`" in text
    assert keras_io_check.load("/nonexistent") is None and "bench/keras_io_epochs.py" in keras_io_check.missing()
