"""Numbers the book's Markdown pages type in their prose agree with the one source of each: the recipes."""
import re
from pathlib import Path

from barlow_lib import recipes

BOOK = Path(__file__).parents[1] / "book"


def test_the_recipe_table_gives_each_cpu_recipe_its_epochs():
    table = (BOOK / "how_to_run.md").read_text()
    for name in ("cpu", "cpu-long"):
        row = re.search(rf"^\| `{name}` \|.*$", table, flags=re.M)
        assert row, f"no row for {name} in the recipe table"
        assert f"{recipes.get(name).epochs} epochs" in row.group(0)


def test_the_results_page_sets_cpu_long_against_the_cpu_recipes_own_epochs():
    text = " ".join((BOOK / "results.md").read_text().split())  # lines rewrapped
    said = re.search(r"(\d+) epochs \(the keras-io example's count\) instead of the `cpu` recipe's (\d+)", text)
    assert said, "the sentence on cpu-long's schedule changed: update this test with it"
    assert (int(said.group(1)), int(said.group(2))) == (recipes.get("cpu-long").epochs, recipes.get("cpu").epochs)
