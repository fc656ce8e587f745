"""The calibration maths on known values: AUROC, reliability bins, the share of halves, the logistic fit."""

import json

import numpy as np
import pytest

from gsi_core.calibration import (acceptance_ceiling, auroc, fit_logistic, reliability, share_exactly_half,
                                 sigmoid, within_step_order)


def test_auroc_counts_ordered_pairs_and_half_ties():
    assert auroc([0.9, 0.8, 0.1, 0.2], [True, True, False, False]) == 1.0
    assert auroc([0.1, 0.2, 0.9, 0.8], [True, True, False, False]) == 0.0
    assert auroc([0.5, 0.5, 0.5], [True, False, False]) == 0.5
    # positives 0.8, 0.4; negatives 0.6, 0.4: pairs (0.8>0.6), (0.8>0.4), (0.4<0.6), (0.4=0.4) → (2 + ½)/4
    assert auroc([0.8, 0.4, 0.6, 0.4], [True, True, False, False]) == pytest.approx(0.625)
    assert auroc([0.3, 0.7], [True, True]) is None


def test_within_step_order_compares_only_drafts_of_one_step():
    # step 1: labels 1 > ½ > 0 ordered rightly except one tie (½); step 2: equal labels give no pair;
    # step 3: one pair ordered the wrong way. A reward that only tells steps apart would score ½ here.
    groups = [([0.9, 0.4, 0.4], [1.0, 0.5, 0.0]), ([0.2, 0.8], [0.0, 0.0]), ([0.1, 0.3], [1.0, 0.25])]
    assert within_step_order(groups) == (pytest.approx((2 + 0.5 + 0) / 4), 4)
    assert within_step_order([([0.3, 0.7], [1.0, 1.0])]) == (None, 0)


def rollouts(*outcomes):
    """'r' right, 'w' wrong, 'c' cut at the token cap."""
    return [{"correct": o == "r", "finish_reason": "length" if o == "c" else "stop"} for o in outcomes]


def test_acceptance_ceiling_counts_the_best_small_draft_of_each_step_three_ways():
    steps = [
        {"drafter": "small", "candidates": [  # best: ¼ as labelled, ½ without the cut ones, ¾ with them right
            {"soft_label": 0.25, "rollouts": rollouts("r", "w", "c", "c")},
            {"soft_label": 0.0, "rollouts": rollouts("w", "w", "w", "w")}]},
        {"drafter": "small", "candidates": [  # a draft whose every rollout was cut has no label when left out
            {"soft_label": 0.0, "rollouts": rollouts("c", "c", "c", "c")},
            {"soft_label": 1.0, "terminal": True, "rollouts": []}]},
        {"drafter": "small", "candidates": [{"soft_label": 0.0, "rollouts": rollouts("c", "w", "w", "w")}]},
        {"drafter": "big", "candidates": [{"soft_label": 1.0, "rollouts": rollouts("r", "r", "r", "r")}]},
    ]
    assert acceptance_ceiling(steps, 0.5) == {"wrong": pytest.approx(1 / 3), "left out": pytest.approx(2 / 3),
                                              "right": pytest.approx(2 / 3)}
    assert acceptance_ceiling(steps, 0.8) == {"wrong": pytest.approx(1 / 3), "left out": pytest.approx(1 / 3),
                                              "right": pytest.approx(1 / 3)}
    assert acceptance_ceiling([steps[3]]) == {"wrong": None, "left out": None, "right": None}


def test_reliability_bins_average_predictions_and_labels():
    table = reliability([0.05, 0.15, 0.55, 0.95, 1.0], [0.0, 1.0, 0.5, 1.0, 0.0], bins=2)
    assert [(b.low, b.high, b.count) for b in table] == [(0.0, 0.5, 2), (0.5, 1.0, 3)]
    assert table[0].predicted == pytest.approx(0.1) and table[0].observed == pytest.approx(0.5)
    assert table[1].predicted == pytest.approx(2.5 / 3) and table[1].observed == pytest.approx(0.5)
    empty = reliability([0.9], [1.0], bins=4)[0]
    assert empty.count == 0 and empty.predicted is None and empty.observed is None


def test_share_exactly_half():
    assert share_exactly_half([0.5, 0.5, 0.75, 0.25]) == 0.5
    assert share_exactly_half([0.5000001]) == 0.0


def test_logistic_fit_recovers_known_weights_from_soft_labels():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(4000, 2))
    true = np.array([-0.5, 2.0, -1.0])
    soft = sigmoid(true[0] + features @ true[1:])  # the exact probabilities as soft targets
    assert fit_logistic(features, soft, l2=0.0) == pytest.approx(true, abs=1e-6)
    hard = rng.random(4000) < soft  # sampled hard labels: close, within sampling noise
    assert fit_logistic(features, hard, l2=0.0) == pytest.approx(true, abs=0.2)


def test_the_penalty_keeps_a_separating_feature_finite():
    features = np.array([[0.0], [0.0], [1.0], [1.0]])
    labels = np.array([0.0, 0.0, 1.0, 1.0])
    weights = fit_logistic(features, labels, l2=1.0)
    assert np.isfinite(weights).all() and weights[1] > 0
    p = sigmoid(weights[0] + features[:, 0] * weights[1])  # the penalised optimum: its gradient vanishes
    assert (p - labels).sum() == pytest.approx(0, abs=1e-9)
    assert (features[:, 0] * (p - labels)).sum() + 1.0 * weights[1] == pytest.approx(0, abs=1e-9)


def test_a_prior_keeps_the_weight_of_a_feature_the_labels_never_show():
    features = np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 0.0], [1.0, 0.0]])  # the second feature is never seen
    labels = np.array([0.0, 0.0, 1.0, 1.0])
    prior = np.array([0.0, 0.5, -2.0])
    weights = fit_logistic(features, labels, l2=1.0, prior=prior)
    assert weights[2] == pytest.approx(-2.0) and fit_logistic(features, labels, l2=1.0)[2] == pytest.approx(0.0)
    p = sigmoid(weights[0] + features @ weights[1:])  # the penalised optimum around the prior
    assert (features[:, 0] * (p - labels)).sum() + 1.0 * (weights[1] - 0.5) == pytest.approx(0, abs=1e-9)
    assert weights[1] > 0.5  # the labels pull the seen feature's weight up from its prior


def test_signs_hold_a_weight_at_zero_rather_than_let_it_cross_and_the_optimum_is_kept_otherwise():
    rng = np.random.default_rng(1)
    features = rng.normal(size=(500, 2))
    soft = sigmoid(0.3 + features @ np.array([1.5, -0.8]))
    free = fit_logistic(features, soft, l2=0.1)
    assert fit_logistic(features, soft, l2=0.1, signs=[1, -1]) == pytest.approx(free, abs=1e-8)  # already on side
    held = fit_logistic(features, soft, l2=0.1, signs=[1, 1])  # the second weight wants to be negative
    assert held[2] == 0.0 and held[1] > 0
    x = np.column_stack([np.ones(len(features)), features])
    gradient = x.T @ (sigmoid(x @ held) - soft) + np.array([0.0, 0.1, 0.1]) * held
    assert gradient[:2] == pytest.approx([0, 0], abs=1e-8)  # the free weights are at their optimum…
    assert gradient[2] > 0  # …and the held one would only improve by crossing to the forbidden side
