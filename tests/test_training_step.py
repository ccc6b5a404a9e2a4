"""Chapter 5's live measurements measure what they say: LAMB's trust ratio, the schedule, 1/sqrt(N) noise."""
import numpy as np
import pytest

from barlow_lib import recipes
from barlow_lib.chapters import training_step

IMAGES = np.random.default_rng(0).integers(0, 256, (256, 32, 32, 3), dtype=np.uint8)


@pytest.mark.integration  # two networks compiled: seconds, outside the 5-minute unit suite
def test_under_lamb_every_variable_moves_by_the_learning_rate_times_its_norm_and_under_adam_not():
    r = recipes.get("smoke").replace(batch_size=32, weight_decay=0.0)
    rows = training_step.layer_steps(r, IMAGES, steps=2)
    assert {row["variable"] for row in rows} >= {"stem_conv/kernel", "stem_bn/beta", "dense_0/kernel"}
    lamb = [row["LAMB: |step| / |w| (%)"] for row in rows]
    adam = [row["Adam: |step| / |w| (%)"] for row in rows]
    np.testing.assert_allclose(lamb, 100 * r.learning_rate, rtol=0.02)  # in percent, as printed
    assert max(adam) / min(adam) > 5  # Adam's relative steps depend on each variable's size and scale


def test_the_schedule_warms_up_linearly_then_decays_to_zero_by_the_last_step():
    r = recipes.get("smoke").replace(epochs=4, warmup_epochs=1, schedule="cosine", learning_rate=0.02)
    rates = training_step.learning_rates(r, steps_per_epoch=10)
    assert len(rates) == 40 and rates[0] == 0.0 and rates[5] == pytest.approx(0.01)
    assert rates[10] == pytest.approx(0.02) and rates[-1] < 0.001 and np.all(np.diff(rates[10:]) <= 1e-9)
    constant = training_step.learning_rates(r.replace(schedule="constant", warmup_epochs=0), 10)
    assert np.all(constant == 0.02)
