"""`python -m gsi_core reward-eval` on a small hand-labelled file, as a user runs it."""

import json

import pytest

from support import cli


QUESTION = "Tom has 3 boxes of 12 pens. He gives away 5 pens. How many pens does he have left?"


def position(row, previous, labelled):
    return {"problem_id": str(row), "row": row, "question": QUESTION, "gold": "31", "position": len(previous),
            "previous": previous, "candidates": [
                {"text": text, "soft_label": label, "hard_any": label > 0, "hard_majority": label > 0.5}
                for text, label in labelled]}


def test_reward_eval_prints_auroc_reliability_and_the_share_of_halves(tmp_path):
    data = tmp_path / "results.jsonl"
    positions = [
        position(1000, [], [("He has 3 * 12 = 36 pens.\n\n", 1.0), ("He has 3 * 12 = 38 pens.\n\n", 0.0),
                            ("He has 3 * 12 = 36 pens.\n\n", 0.75), ("He has 40 pens.\n\n", 0.0)]),
        position(1001, ["He has 3 * 12 = 36 pens.\n\n"], [("36 - 5 = 31, so \\boxed{31}.", 1.0),
                                                          ("36 - 5 = 30, so \\boxed{30}.", 0.0)]),
    ]
    data.write_text("".join(json.dumps(p) + "\n" for p in positions))
    done = cli("reward-eval", "--reward", "step-verifier,calibrated-verifier", "--data", str(data), "--bins", "2")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "6 positions" not in out and "2 positions of 2 problems (split all)" in out
    rows = {line.split("|")[1].strip(): line.split("|") for line in out.splitlines() if line.startswith("| step-")
            or line.startswith("| calibrated-")}
    # the step verifier: 3*12=36 holds (¾) twice, 38 fails (¼), 40 has nothing to check (½), 31 holds, 30 fails
    verifier = rows["step-verifier"]
    assert verifier[2].strip() == "6" and float(verifier[3]) == pytest.approx(1.0)
    # same-step pairs with differing labels: 5 in the first step (36 vs 36 ties: ½), 1 in the second → 5.5 / 6
    assert verifier[5].strip() == "0.917 (6)" and verifier[6].strip() == "16.7%"
    # both steps have a draft labelled 1.0, so a reward equal to the label would accept both
    assert "Acceptance ceiling at u = 0.5" in out and "100% (cut rollouts wrong)" in out
    assert "Reliability of calibrated-verifier" in out and "| [0.5, 1.0] |" in out

    heldout = cli("reward-eval", "--reward", "step-verifier", "--data", str(data), "--split", "heldout")
    assert heldout.returncode == 0 and "1 positions of 1 problems (split heldout)" in heldout.stdout
    unknown = cli("reward-eval", "--reward", "no-such-reward", "--data", str(data))
    assert unknown.returncode == 2 and "unknown reward kind" in unknown.stderr
