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
    assert rows[1]["fixed vs published"] == "+0.0%" and rows[0]["published"] == "3,480.8"


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


def test_the_verdict_measures_each_gap_against_the_printed_logs_own_change_per_epoch():
    text = keras_io_check.verdict(_result())
    # published 3480.8 -> 2163.4 -> 1939.0 (-> 1810.5, beyond the 3 epochs shown): smallest change 10.4%
    assert "The run with this book's fixes is at most 10.0% from the printed loss in its 3 epochs: less than " \
           "the printed log's own smallest change from one epoch to the next over those epochs (10.4%)" in text
    assert "four bugs kept is at most 10.0% from the printed loss in its 2 epochs: less than" in text
    assert "cross (-9.1% to +10.0%): no consistent difference" in text  # fixed +10.0% then -9.1% against control


def test_a_fixed_run_above_the_control_in_every_epoch_is_said_to_be_above():
    result = _result()
    result["variants"]["fixed"]["loss"] = [3600.0, 2400.0, 2400.0]
    result["variants"]["fixed"]["relative_difference"] = [(a - b) / b for a, b in
                                                          zip([3600.0, 2400.0, 2400.0], [3480.8, 2163.4, 1939.0])]
    text = keras_io_check.verdict(result)
    assert "is at most 23.8% from the printed loss in its 3 epochs: more than" in text
    assert "above the bugs-kept run's in every epoch both have (+0.9% to +3.4%)" in text
