"""The step verifier on hand-written and real GSM8K steps, and the PRM adapter on a tiny PRM-shaped model."""

import re

import pytest
import torch

from gsi_core.rewards import ProcessRewardModel, StepVerifier, find_claims

from testkit.tiny import build_prm, gsm8k_rows


@pytest.mark.parametrize(
    "step",
    [
        "12 + 30 = 42",
        "3 × 4 = 12",
        "$5 * 4 = $20",
        r"\frac{6}{3} = 2",
        r"$\dfrac{3}{4} \cdot 8 = 6$",
        r"\sqrt{16} = 4 and 2^{10} = 1024",
        "10 / 3 = 3.33 hours",
        "1,000 + 500 = 1,500",
        "50 * 20% = 10",
        "0.25 * 100 = 25%",
        "The area is 3 * 4 = 12 square units, so 12 / 2 = 6.",
        "She has 5 - 1 - 1/2 = 3 1/2 hours left.",
        "Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs a day.",
    ],
)
def test_true_claims_hold(step):
    claims = find_claims(step)
    assert claims and all(claim.holds for claim in claims)


@pytest.mark.parametrize("step", ["12 + 30 = 43", "3 × 4 = 13", "$5 * 4 = $25", r"\frac{6}{3} = 3", "10 / 3 = 3.4"])
def test_false_claims_fail(step):
    claims = find_claims(step)
    assert claims and not any(claim.holds for claim in claims)


@pytest.mark.parametrize("step", ["x = 5", "2x + 3 = 7", "Let n = 12.", "We need 3 apples.", "9^99999 = 3"])
def test_nothing_checkable(step):
    assert find_claims(step) == []


def test_reward_rules(verifier):
    rewards = verifier.score("q", ["We start.\n\n", "3 * 4 = 12\n\n", "3 * 4 = 12 and 12 + 1 = 13\n\n",
                                   "2 + 2 = 5\n\n", "2 + 2 = 5, 3 + 3 = 7\n\n", "  \n\n", "We start.\n\n"])
    assert rewards == [0.5, 0.75, pytest.approx(5 / 6), 0.25, 0.125, 0.0, 0.0]


def test_candidates_are_scored_after_the_previous_steps(verifier):
    assert verifier.score_candidates("q", ["3 * 4 = 12"], ["3 * 4 = 12", "12 + 1 = 13"]) == [0.0, 0.75]


def _solution_lines(limit):
    for row in gsm8k_rows(limit):
        for line in row["answer"].split("\n"):
            if not line.startswith("####"):
                yield line


def test_real_gsm8k_solution_lines_check_out():
    """Reference solutions are (almost always) right: nearly every claim the verifier finds holds."""
    lines = [line for line in _solution_lines(300) if find_claims(line)]
    assert len(lines) > 400
    failing = [line for line in lines if not all(c.holds for c in find_claims(line))]
    assert len(failing) / len(lines) < 0.01, failing


def test_real_gsm8k_lines_with_a_wrong_result_fail(verifier):
    """Change the stated result of each annotated line (`= <<a*b=c>>c`) and the verifier must catch it."""
    caught = total = 0
    for line in _solution_lines(150):
        match = re.search(r"<<[^=<>]*=([\d.]+)>>([\d.]+)", line)
        if not match or not all(c.holds for c in find_claims(line)):
            continue
        wrong = str(float(match.group(2)) + 7).removesuffix(".0")
        corrupted = line[: match.start(2)] + wrong + line[match.end(2):]
        total += 1
        caught += verifier.score("q", [corrupted])[0] < 0.5 < verifier.score("q", [line])[0]
    assert total > 100 and caught / total > 0.95


# --- the PRM adapter -----------------------------------------------------------------------------------------


@pytest.fixture
def prm(tokenizer):
    return ProcessRewardModel(build_prm(tokenizer, seed=11), tokenizer, name="tiny-prm")


def reference_step_rewards(prm, question, steps):
    """The Qwen2.5-Math-PRM model card's recipe, written out independently of the adapter."""
    tokenizer = prm.tokenizer
    messages = [
        {"role": "system", "content": "Please reason step by step, and put your final answer within \\boxed{}."},
        {"role": "user", "content": question},
        {"role": "assistant", "content": "<extra_0>".join(steps) + "<extra_0>"},
    ]
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=False)
    ids = torch.tensor([tokenizer.encode(text, add_special_tokens=False)], device=prm.model.device)
    with torch.inference_mode():
        probabilities = torch.softmax(prm.model(input_ids=ids).logits[0].float(), dim=-1)
    positions = (ids[0] == tokenizer.convert_tokens_to_ids("<extra_0>")).nonzero().flatten()
    return probabilities[positions, 1].tolist()


def test_prm_rewards_are_the_positive_class_at_each_step_token(prm):
    steps = ["Natalia sold 48 / 2 = 24 clips in May.\n\n", "She sold 48 + 24 = 72 clips.\n\n"]
    rewards = prm.score("How many clips?", steps)
    assert rewards == pytest.approx(reference_step_rewards(prm, "How many clips?", [s.strip() for s in steps]), abs=1e-5)
    assert all(0.0 < r < 1.0 for r in rewards)


def test_prm_scores_no_empty_trailing_step(prm):
    steps = ["Natalia sold 24 clips in May.\n\n", "\n\n"]
    rewards = prm.score("How many clips?", steps)
    assert len(rewards) == 2 and rewards[1] == 0.0
    assert rewards[0] == pytest.approx(reference_step_rewards(prm, "How many clips?", [steps[0].strip()])[0], abs=1e-5)


def test_prm_batched_candidates_equal_one_at_a_time(prm):
    previous = ["Natalia sold 48 / 2 = 24 clips in May."]
    candidates = ["So 48 + 24 = 72.", "So 48 + 24 = 70 in all, which is the total.", "  "]
    batched = prm.score_candidates("How many clips?", previous, candidates)
    one_by_one = [prm.score("How many clips?", [*previous, c])[-1] for c in candidates]
    assert batched == pytest.approx(one_by_one, abs=1e-5)
    assert batched[2] == 0.0


def test_prm_needs_its_step_token(tokenizer):
    from gsi_core.config import ConfigError

    with pytest.raises(ConfigError, match="no step token"):
        ProcessRewardModel(build_prm(tokenizer, seed=1), tokenizer, step_token="<nope>")
