"""The tilt, selection and acceptance arithmetic against hand-computed cases and limiting properties."""

import math

import numpy as np
import pytest

from gsi_core.selection import (
    RewardThreshold,
    SoftRewardSelection,
    TiltedRewardThreshold,
    TiltedSelection,
    argmax_select,
    soft_select,
    softmax,
    tilted_reward,
)


def test_tilted_logits_by_hand():
    # β=2: logits = 2r + log π_B − log π_S
    logits = TiltedSelection(beta=2.0).logits([0.5, 1.0], logp_small=[-1.0, -3.0], logp_big=[-2.0, -1.0])
    np.testing.assert_allclose(logits, [2 * 0.5 - 2.0 + 1.0, 2 * 1.0 - 1.0 + 3.0])
    weights = softmax(logits)  # e^0 / (e^0 + e^4)
    np.testing.assert_allclose(weights, [1 / (1 + math.e**4), math.e**4 / (1 + math.e**4)])


def test_tilted_reward_by_hand():
    # r̃ = r + (1/β)(log π_B − log π_S) = 0.6 + (−2 − (−1))/20 = 0.55
    assert tilted_reward(0.6, logp_big=-2.0, logp_small=-1.0, beta=20.0) == pytest.approx(0.55)
    assert tilted_reward(0.6, logp_big=-1.0, logp_small=-1.0, beta=20.0) == pytest.approx(0.6)


def test_tilted_reward_at_beta_zero_is_the_limit():
    assert tilted_reward(0.3, -1.0, -2.0, 0.0) == math.inf
    assert tilted_reward(0.3, -2.0, -1.0, 0.0) == -math.inf
    assert tilted_reward(0.3, -1.0, -1.0, 0.0) == 0.3


def test_beta_zero_reduces_to_the_importance_ratio():
    rewards, logp_small, logp_big = [0.1, 0.9, 0.5], [-1.0, -2.0, -0.5], [-1.5, -0.5, -0.7]
    weights = softmax(TiltedSelection(0.0).logits(rewards, logp_small, logp_big))
    ratio = np.exp(np.array(logp_big) - np.array(logp_small))
    np.testing.assert_allclose(weights, ratio / ratio.sum())


def test_equal_models_reduce_tilt_to_soft_best_of_n():
    rewards, logp = [0.1, 0.9, 0.5], [-1.0, -2.0, -0.5]
    np.testing.assert_allclose(
        TiltedSelection(20.0).logits(rewards, logp, logp), SoftRewardSelection(20.0).logits(rewards)
    )


def test_large_beta_concentrates_on_the_best_reward():
    weights = softmax(SoftRewardSelection(1000.0).logits([0.2, 0.9, 0.85]))
    assert weights[1] > 0.999


def test_soft_select_draws_by_weight():
    rng = np.random.default_rng(0)
    logits = np.log([0.2, 0.5, 0.3])
    counts = np.bincount([soft_select(logits, rng)[0] for _ in range(20000)], minlength=3) / 20000
    np.testing.assert_allclose(counts, [0.2, 0.5, 0.3], atol=0.015)


def test_softmax_gives_minus_inf_no_weight():
    np.testing.assert_allclose(softmax([0.0, -math.inf, 0.0]), [0.5, 0.0, 0.5])


def test_argmax_takes_the_first_of_ties_with_weight_one():
    index, weights = argmax_select([0.3, 0.8, 0.8])
    assert index == 1 and weights.tolist() == [0.0, 1.0, 0.0]


def test_acceptance_rules_compare_the_right_quantity():
    gsi, rsd = TiltedRewardThreshold(0.5), RewardThreshold(0.7)
    assert gsi.accepts(reward=0.1, tilted=0.5) and not gsi.accepts(reward=0.9, tilted=0.49)
    assert rsd.accepts(reward=0.7, tilted=-5.0) and not rsd.accepts(reward=0.69, tilted=5.0)
    assert TiltedRewardThreshold(-math.inf).accepts(0.0, -1e9)
    assert not TiltedRewardThreshold(math.inf).accepts(1.0, 1e9)
