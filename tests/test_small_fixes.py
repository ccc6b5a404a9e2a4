"""Bugs found in review, each pinned: the kernel-free sliders at any image size, and seeded work that leaves
the caller's random state alone (the random-init backbone's test is in test_cli.py, beside its trained run)."""
import random
import re

import numpy as np
import pytest


def test_static_sliders_show_images_at_their_own_size():
    from barlow_lib import augment
    from barlow_lib.chapters import sliders

    for size in (16, 48):
        images = np.random.default_rng(0).integers(0, 255, (3, size, size, 3), dtype=np.uint8)
        html = sliders.static_viewer(images, augment.AugmentConfig(image_size=size), names=("flip_prob",)).data
        (width,) = re.findall(r'<img [^>]*width="(\d+)"', html)
        assert int(width) == 2 * size * 3


def test_seeded_work_leaves_the_callers_random_state_as_it_was():
    import keras

    from barlow_lib.seeds import seeded

    def draws():
        return (random.random(), float(np.random.rand()), float(keras.random.uniform(()).numpy()))

    keras.utils.set_random_seed(5)
    draws()
    expected = draws()
    keras.utils.set_random_seed(5)
    draws()
    with seeded(0):
        inside = draws()
    assert draws() == expected
    with seeded(0):
        assert draws() == inside  # and inside, the seed does decide


def test_the_live_run_line_sets_each_override_beside_the_recipes_own_value():
    from barlow_lib import recipes
    from barlow_lib.chapters.start import live_run_line

    cpu = recipes.get("cpu")
    line = live_run_line(cpu.replace(epochs=cpu.epochs + 6), 5000)
    assert f"{cpu.epochs + 6} epochs (the recipe: {cpu.epochs})" in line and "5,000 training images" in line
    assert "(the recipe" not in live_run_line(cpu, 0).split("epochs")[1]  # the batch size was not changed


def test_the_neighbour_grid_names_each_query_s_class():
    import matplotlib

    matplotlib.use("Agg")
    from barlow_lib import records
    from barlow_lib.chapters import recorded

    rec = records.load("cpu")
    if rec is None:
        pytest.skip("no cpu record")
    fig = recorded.retrieval(rec)
    queries = fig.axes[:: fig.axes[0].get_gridspec().ncols]
    expected = [rec["classes"][c] for c in rec["neighbours"].get("query_classes", range(len(queries)))]
    assert [ax.get_xlabel() for ax in queries] == expected and len(set(expected)) == len(expected) > 1


def test_a_changed_recipe_gets_a_new_live_run_folder():
    """After an upgrade changed the cpu recipe, chapters 3, 5 and 6 met the old live-run folder and stopped
    ("already holds a run with other settings"); the folder's name now carries a hash of the whole recipe."""
    from barlow_lib import recipes
    from barlow_lib.chapters import start

    r = recipes.get("cpu").replace(epochs=30, batch_size=128)
    same = start.run_folder(r, "CIFAR-10 sample", 5000)
    assert same == start.run_folder(recipes.get("cpu").replace(epochs=30, batch_size=128), "CIFAR-10 sample", 5000)
    assert same.startswith("runs/cpu-30ep-b128-cifar-10-sample-5000-")
    assert start.run_folder(r.replace(description="changed"), "CIFAR-10 sample", 5000) != same
    assert start.run_folder(r.replace(lambd=0.01), "CIFAR-10 sample", 5000) != same
