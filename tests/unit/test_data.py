"""Each benchmark's loader on its real rows: the problem as posed and the gold answer extracted."""

import pytest

from gsi_core.data import FILES, load_problems


@pytest.mark.parametrize(
    "dataset, count, index, gold, asks",
    [
        ("gsm8k", 1319, 0, "18", "How much in dollars"),
        ("math500", 500, 0, r"\left( 3, \frac{\pi}{2} \right)", "polar coordinates"),
        ("minerva", 272, 0, "1.6", "without units"),  # gold from the \boxed{} of the solution
        ("mmlu_stem", 3018, 0, "C", "(D) increase the mortality rate"),  # answer index 2, choices listed
        ("olympiadbench", 675, 0, "2", "How many moves"),
    ],
)
def test_gold_and_prompt_on_real_rows(dataset, count, index, gold, asks):
    problems = load_problems(dataset)
    assert len(problems) == count and all(p.gold and p.question for p in problems)
    assert problems[index].gold == gold and asks in problems[index].question


def test_gsm8k_gold_drops_thousands_separators():
    golds = [p.gold for p in load_problems("gsm8k")]
    assert all("," not in g for g in golds) and any(len(g) > 3 for g in golds)


def test_unknown_dataset_is_refused():
    with pytest.raises(ValueError, match="unknown dataset 'aime'; choose one of: " + ", ".join(FILES)):
        load_problems("aime")
