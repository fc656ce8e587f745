"""The step verifier on hand-written and real GSM8K steps, and the PRM adapter on a tiny PRM-shaped model."""

import re

import pytest
import torch

from gsi_core.loading import load_reward
from gsi_core.rewards import (CALIBRATED_WEIGHTS, EVIDENCE_SIGNS, PRIOR_WEIGHTS, ProcessRewardModel, Scored, StepEvidence,
                              StepVerifier, find_claims, gather_evidence)

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
        r"\[ 20 \text{ minutes} + 30 \text{ minutes} = 50 \text{ minutes} \]",  # how Qwen writes units
        r"\[ \frac{64 \text{ boxes}}{8 \text{ boxes per box}} = 8 \text{ bars per box} \]",
    ],
)
def test_true_claims_hold(step):
    claims = find_claims(step)
    assert claims and all(claim.holds for claim in claims)


@pytest.mark.parametrize("step", ["12 + 30 = 43", "3 × 4 = 13", "$5 * 4 = $25", r"\frac{6}{3} = 3", "10 / 3 = 3.4",
                                  r"2 \text{ hours} \times 60 \text{ minutes/hour} = 100 \text{ minutes}"])
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


def test_candidates_are_scored_after_the_previous_steps_with_reasons(verifier):
    assert verifier.score_candidates("q", ["3 * 4 = 12"], ["3 * 4 = 12", "12 + 1 = 13", "2 + 2 = 5", "Next.", " "]) == [
        Scored(0.0, ("repeats an earlier step",)), Scored(0.75, ("12 + 1 = 13 ✓",)), Scored(0.25, ("2 + 2 = 5 ✗",)),
        Scored(0.5, ("nothing to check",)), Scored(0.0, ("empty step",))]


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
    assert [s.reward for s in batched] == pytest.approx(one_by_one, abs=1e-5)
    assert batched[2].reward == 0.0
    assert all(s.reasons == () for s in batched)  # a PRM does not say why


def test_prm_needs_its_step_token(tokenizer):
    from gsi_core.config import ConfigError

    with pytest.raises(ConfigError, match="no step token"):
        ProcessRewardModel(build_prm(tokenizer, seed=1), tokenizer, step_token="<nope>")


# --- the calibrated verifier's evidence ----------------------------------------------------------------------

EGGS = ("Janet's ducks lay 16 eggs per day. She eats three for breakfast and bakes muffins with four. "
        "She sells the rest for $2 each. How much does she make?")


def evidence(previous, candidates, question=EGGS):
    return gather_evidence(question, previous, candidates)


def test_numbers_from_nowhere_are_those_in_no_earlier_text_result_or_constant():
    found = evidence(["She has 16 - 3 - 4 = 9 eggs left.\n\n"], [
        "She sells 9 eggs for 9 * 2 = 18 dollars.",  # 9 from the previous step, 2 from the question, 18 computed
        "She sells 11 eggs for 11 * 2 = 22 dollars.",  # 11 comes from nowhere (22 is computed from it)
        "In 60 minutes she sells 7 of them.",  # 60 is an everyday constant; 7 is one too (days in a week)
        "She also buys 13.5 pounds of feed.",
    ])
    assert [e.unsupported for e in found] == [(), (11.0,), (), (13.5,)]
    assert "numbers from nowhere: 11" in found[1].reasons()
    assert evidence([], ["She eats three, so 16 - 3 = 13 are left."])[0].unsupported == ()  # "three" counts as 3


def test_a_boxed_answer_that_differs_from_the_last_computed_quantity():
    found = evidence(["So she makes 9 * 2 = 18 dollars.\n\n"], ["The answer is \\boxed{18}.", "The answer is \\boxed{20}.",
                                                                 "That is 9 * 2 = 18, so \\boxed{18}."])
    assert [e.boxed_disagrees for e in found] == [None, 18.0, None]
    assert all(e.boxed for e in found)
    assert "boxed answer differs from the last computed 18" in found[1].reasons()
    assert evidence([], ["\\boxed{5}"])[0].boxed_disagrees is None  # nothing computed yet: nothing to disagree with


def test_agreement_counts_the_sibling_drafts_that_reach_the_same_result():
    found = evidence([], ["16 - 3 - 4 = 9 eggs are left.", "She keeps 16 - 7 = 9.", "16 - 3 = 13 eggs are left.",
                          "She sells the rest."])
    assert [e.result for e in found] == [9.0, 9.0, 13.0, None]
    assert [(e.agreeing, e.siblings) for e in found] == [(1, 3), (1, 3), (0, 3), (0, 3)]
    assert "1 of 3 other drafts also reach 9" in found[0].reasons()
    assert [e.features[StepEvidence.FEATURES.index("agreement")] for e in found] == [1 / 3, 1 / 3, 0, 0]
    assert evidence([], ["16 - 7 = 9"])[0].features[StepEvidence.FEATURES.index("agreement")] == 0.5  # no siblings


def test_empty_and_repeated_steps_stall():
    found = evidence(["She has 9 eggs.\n\n"], ["  \n\n", "She has 9  eggs.", "She has 10 eggs."])
    assert [e.stalled for e in found] == ["empty step", "repeats an earlier step", None]
    assert found[0].reasons() == ["empty step"]


def test_calibrated_rewards_follow_the_evidence_and_give_reasons():
    reward = load_reward({"kind": "calibrated-verifier", "weights": list(PRIOR_WEIGHTS)})  # every sign nonzero
    previous = ["She has 16 - 3 - 4 = 9 eggs left.\n\n"]
    right, wrong, invented, repeated = reward.score_candidates(
        EGGS, previous, ["She makes 9 * 2 = 18 dollars.", "She makes 9 * 2 = 20 dollars.",
                         "She makes 11 * 2 = 22 dollars.", "She has 16 - 3 - 4 = 9 eggs left."])
    assert 0 < repeated.reward < wrong.reward < right.reward < 1
    assert invented.reward < right.reward
    assert right.reasons == ("9 * 2 = 18 ✓", "0 of 3 other drafts also reach 18")
    assert reward.score(EGGS, [*previous, "She makes 9 * 2 = 18 dollars."])[1] == pytest.approx(
        reward.score_candidates(EGGS, previous, ["She makes 9 * 2 = 18 dollars."])[0].reward)


def test_the_shipped_weights_keep_every_evidence_on_its_side():
    assert len(EVIDENCE_SIGNS) == len(StepEvidence.FEATURES) == len(CALIBRATED_WEIGHTS) - 1
    assert all(sign * weight >= 0 for sign, weight in zip(EVIDENCE_SIGNS, CALIBRATED_WEIGHTS[1:]))
    shipped = load_reward({"kind": "calibrated-verifier"})
    previous = ["She has 16 - 3 - 4 = 9 eggs left.\n\n"]
    right, wrong, invented = shipped.score_candidates(
        EGGS, previous, ["She makes 9 * 2 = 18 dollars.", "She makes 9 * 2 = 20 dollars.", "She makes 11 * 2 = 22 dollars."])
    assert wrong.reward <= right.reward and invented.reward <= right.reward


def test_calibrated_verifier_weights_are_checked():
    from gsi_core.config import ConfigError

    with pytest.raises(ConfigError, match="needs 9 weights"):
        load_reward({"kind": "calibrated-verifier", "weights": [1.0, 2.0]})
    with pytest.raises(ConfigError, match="only `weights`"):
        load_reward({"kind": "calibrated-verifier", "model": "x"})


# --- the step delimiter: a step that ends in one line break scores as one that ends in a blank line --------------


@pytest.mark.parametrize("reward_kind", ["step-verifier", "calibrated-verifier", "prm"])
def test_every_reward_scores_line_steps_as_blank_line_steps(reward_kind, prm):
    reward = prm if reward_kind == "prm" else load_reward({"kind": reward_kind})
    lines = ["She has 16 - 3 - 4 = 9 eggs left.", "She makes 9 * 2 = 18 dollars.", "She makes 9 * 2 = 20 dollars.", ""]
    candidates = lines[1:] + [lines[0]]  # the last repeats the previous step
    scored = {end: reward.score_candidates(EGGS, [lines[0] + end], [text + end for text in candidates])
              for end in ("\n\n", "\n")}
    assert scored["\n"] == scored["\n\n"]  # rewards and reasons alike
    empty = scored["\n"][2]  # a step that is a line break alone: nothing, as a blank line alone
    assert empty.reasons == ("empty step",) if reward_kind != "prm" else empty.reward == 0.0
    by_line, by_blank_line = (reward.score(EGGS, [text + end for text in lines]) for end in ("\n", "\n\n"))
    assert by_line == pytest.approx(by_blank_line)


# --- each reward's scale: where its values lie, so that u can be set on it ---------------------------------------


def test_the_calibrated_verifiers_scale_is_what_it_scores_for_those_steps():
    reward = load_reward({"kind": "calibrated-verifier"})
    low, high = reward.scale.typical
    alone = reward.score_candidates(EGGS, [], ["She has 16 eggs.", "She eats 3.", "She bakes with 4.", "Ducks lay."])
    assert alone[0].reward == pytest.approx(low)  # a result no other draft reaches
    agreed = reward.score_candidates(EGGS, [], ["She has 16 eggs."] * 4)
    assert [s.reward for s in agreed] == pytest.approx([reward.scale.neutral] * 4)  # nothing checked, all agree
    boxed = reward.score_candidates(EGGS, [], ["So \\boxed{16}."] * 4)
    assert boxed[0].reward == pytest.approx(high)
    assert low < reward.scale.neutral < high and alone[3].reward < reward.scale.neutral  # no number at all


def test_the_step_verifiers_scale_spans_its_rules(verifier):
    low, high = verifier.scale.typical
    rewards = verifier.score("q", ["2 + 2 = 5", "We start.", "3 * 4 = 12, so 12 + 1 = 13"])
    assert rewards == [low, verifier.scale.neutral, high]
    assert ProcessRewardModel.scale.typical == (0.0, 1.0) and ProcessRewardModel.scale.neutral == 0.5  # a PRM's
