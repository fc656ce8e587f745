"""Exact toy worlds, and the proof that the engine's own methods sample what the paper's algorithm says."""

import importlib
import itertools
import math

import numpy as np
import pytest

from gsi_core.methods import ablations, base
from gsi_core.selection import TiltedRewardThreshold, TiltedSelection
from gsi_core.theory import (
    EXACT_METHODS,
    WORLDS,
    ToyWorld,
    goodness_of_fit,
    kl_divergence,
    method_distributions,
    sample_with_engine,
    selection_distribution,
    soft_best_of_n,
    tilted_target,
)

gsi = importlib.import_module("gsi_core.methods.gsi")  # the module; `gsi_core.methods.gsi` is also the function
ISSUE_WORLD = WORLDS["draft misses a good step"]  # π_S=(.5,.3,.15,.05), π_B=(.2,.2,.2,.4), r=(.2,.5,.6,.9)
# A world where each piece of GSI changes the outcome: π_S and π_B disagree, and with β = 2 the log-ratio weighs
# as much as the reward.
MUTATION_WORLD = ToyWorld("mutation check", (0.4, 0.3, 0.2, 0.1), (0.1, 0.2, 0.3, 0.4), (0.3, 0.5, 0.5, 0.7))
# A world where each ablation moves far from GSI: π_S piles on step A, π_B is flat, rewards are close.
ABLATION_WORLD = ToyWorld("ablation check", (0.7, 0.1, 0.1, 0.1), (0.25, 0.25, 0.25, 0.25), (0.4, 0.45, 0.5, 0.55))
ABLATIONS = ("gsi-raw-threshold", "gsi-big-tilt", "gsi-no-fallback")
RUNS = 3000


def test_selection_distribution_matches_brute_force_enumeration():
    draw, weights, n = np.array([0.5, 0.3, 0.2]), np.array([1.0, 3.0, 0.5]), 3
    expected = np.zeros(3)
    for a in range(3):
        for b in range(3):
            for c in range(3):
                picks = [a, b, c]
                p = draw[a] * draw[b] * draw[c]
                for position, k in enumerate(picks):
                    expected[k] += p * weights[k] / sum(weights[j] for j in picks)
    np.testing.assert_allclose(selection_distribution(draw, weights, n), expected, rtol=1e-12)


def brute_force(world, method, beta, n, threshold, rsd_threshold=0.7):
    """A speculative method's output by listing every sequence of n draws from π_S (and from π_B for the
    fallback), each rule written out from the paper's and the official code's text, not from `theory`."""
    small, big, r = (np.array(v) for v in (world.small, world.big, world.reward))
    with np.errstate(divide="ignore"):
        ratio = np.log(big) - np.log(small)
    tilted = r + ratio / beta
    weight = {"gsi": np.exp(beta * r) * big / small, "rsd": np.exp(beta * r), "gsi-raw-threshold": np.exp(beta * r) * big / small,
              "gsi-big-tilt": np.exp(beta * r) * big, "gsi-no-fallback": np.exp(beta * r) * big / small}[method]
    passes = {"gsi": tilted >= threshold, "rsd": r >= rsd_threshold, "gsi-raw-threshold": r >= threshold,
              "gsi-big-tilt": tilted >= threshold, "gsi-no-fallback": np.ones(len(r), bool)}[method]

    def pick(draw, weights):
        out = np.zeros(len(r))
        for sequence in itertools.product(range(len(r)), repeat=n):
            p = np.prod(draw[list(sequence)])
            total = sum(weights[k] for k in sequence)
            for k in sequence:
                out[k] += p * weights[k] / total
        return out

    selected = pick(small, weight)
    kept = selected * passes
    return kept + (1 - kept.sum()) * pick(big, np.exp(beta * r))


@pytest.mark.parametrize("method", ["gsi", "rsd", *ABLATIONS])
@pytest.mark.parametrize("world, beta, n, threshold", [(ISSUE_WORLD, 20, 3, 0.5), (MUTATION_WORLD, 2, 2, 0.5),
                                                       (ABLATION_WORLD, 1, 3, 0.4)])
def test_each_speculative_methods_exact_distribution_matches_brute_force(method, world, beta, n, threshold):
    exact = method_distributions(world, beta, n, threshold)[method]
    np.testing.assert_allclose(exact.distribution, brute_force(world, method, beta, n, threshold), atol=1e-12)


def test_the_ablations_are_in_the_lab_and_no_fallback_never_calls_the_big_model():
    assert set(ABLATIONS) <= set(EXACT_METHODS)
    exact = method_distributions(ABLATION_WORLD, 1, 4, 0.4)
    assert exact["gsi-no-fallback"].acceptance == pytest.approx(1.0) and exact["gsi-no-fallback"].big_generations == pytest.approx(0, abs=1e-12)
    for ablation in ABLATIONS:  # in this world each one lands somewhere else than GSI
        assert np.abs(exact[ablation].distribution - exact["gsi"].distribution).sum() > 0.1


def test_the_issues_exact_counts():
    target = tilted_target(ISSUE_WORLD, 20)
    kl = {n: kl_divergence(method_distributions(ISSUE_WORLD, 20, n, 0.5)["gsi"].distribution, target) for n in (4, 8, 64)}
    assert kl[4] == pytest.approx(2.22, abs=0.01) and kl[8] == pytest.approx(2.31, abs=0.01)
    assert kl[64] == pytest.approx(0.08, abs=0.01)  # not monotone in n, but it does fall


def test_threshold_limits():
    for world in WORLDS.values():
        for n in (1, 3, 8):
            low = method_distributions(world, 20, n, -math.inf)
            tilted_sbon_small = selection_distribution(
                np.array(world.small), np.exp(20 * np.array(world.reward)) * np.array(world.big) / np.array(world.small), n)
            np.testing.assert_allclose(low["gsi"].distribution, tilted_sbon_small, atol=1e-12)
            assert low["gsi"].acceptance == pytest.approx(1.0)
            high = method_distributions(world, 20, n, math.inf)
            np.testing.assert_allclose(high["gsi"].distribution, high["sbon-big"].distribution, atol=1e-12)


def test_soft_best_of_n_tends_to_its_tilted_policy():
    small, reward = np.array(ISSUE_WORLD.small), np.array(ISSUE_WORLD.reward)
    own_target = small * np.exp(5 * reward) / (small * np.exp(5 * reward)).sum()
    kls = [kl_divergence(soft_best_of_n(small, reward, 5.0, n), own_target) for n in (1, 4, 16, 64)]
    assert kls == sorted(kls, reverse=True) and kls[-1] < 0.01


def test_gsi_tends_to_the_target_when_the_draft_covers_the_base():
    for world in WORLDS.values():
        target = tilted_target(world, 20)
        assert kl_divergence(method_distributions(world, 20, 64, 0.5)["gsi"].distribution, target) < 0.1


def test_distributions_are_distributions():
    for world in WORLDS.values():
        for method in method_distributions(world, 10, 5, 0.4).values():
            assert method.distribution.sum() == pytest.approx(1.0) and (method.distribution >= 0).all()


@pytest.mark.parametrize("method", ["gsi", "rsd", "sbon-small", "sbon-big"])
@pytest.mark.parametrize("n, beta, threshold", [(1, 20, 0.5), (4, 20, 0.5), (8, 5, 0.3), (4, 20, 0.7)])
def test_the_engine_samples_the_exact_distribution(method, n, beta, threshold):
    expected = method_distributions(ISSUE_WORLD, beta, n, threshold)[method].distribution
    counts = sample_with_engine(ISSUE_WORLD, method, beta, n, threshold, RUNS)
    assert goodness_of_fit(counts, expected) > 1e-3


@pytest.mark.parametrize("method", ABLATIONS)
@pytest.mark.parametrize("world, n, beta, threshold", [(ISSUE_WORLD, 4, 20, 0.5), (MUTATION_WORLD, 4, 2, 0.5),
                                                       (ABLATION_WORLD, 4, 1, 0.4)])
def test_the_engine_samples_each_ablations_exact_distribution(method, world, n, beta, threshold):
    expected = method_distributions(world, beta, n, threshold)[method].distribution
    assert goodness_of_fit(sample_with_engine(world, method, beta, n, threshold, RUNS), expected) > 1e-3


class RestoredTiltedThreshold(TiltedRewardThreshold):
    """GSI's own test on r̃, put back where an ablation should test r or nothing."""

    def __init__(self, threshold=0.4):
        super().__init__(threshold)


@pytest.mark.parametrize("ablation, rule, restored", [("gsi-raw-threshold", "RewardThreshold", RestoredTiltedThreshold),
                                                      ("gsi-big-tilt", "BigTiltSelection", TiltedSelection),
                                                      ("gsi-no-fallback", "AlwaysAccept", RestoredTiltedThreshold)])
def test_the_check_catches_an_ablation_that_kept_the_piece_it_removes(ablation, rule, restored, monkeypatch):
    monkeypatch.setattr(ablations, rule, restored)
    expected = method_distributions(ABLATION_WORLD, 1, 4, 0.4)[ablation].distribution
    assert goodness_of_fit(sample_with_engine(ABLATION_WORLD, ablation, 1, 4, 0.4, RUNS), expected) < 1e-6


# --- the test of the test: break one piece of GSI and the check must fail -----------------------------------


class WrongSignTilt(TiltedSelection):
    def logits(self, rewards, logp_small, logp_big):
        return super().logits(rewards, logp_big, logp_small)  # log π_S − log π_B instead


class NoImportanceRatio(TiltedSelection):
    def logits(self, rewards, logp_small, logp_big):
        return self.beta * np.asarray(rewards)


class ThresholdOnTheWrongSide:
    tests = "tilted_reward"

    def __init__(self, threshold):
        self.threshold = threshold

    def accepts(self, reward, tilted):
        return tilted < self.threshold


def fallback_from_the_small_model(original):
    def soft_best_of_n(self, role, index, *, fallback=False):
        return original(self, "small" if fallback else role, index, fallback=fallback)

    return soft_best_of_n


@pytest.mark.parametrize("mutation", ["tilt sign", "no log-ratio", "threshold side", "fallback model"])
def test_the_check_catches_a_broken_gsi(mutation, monkeypatch):
    if mutation == "tilt sign":
        monkeypatch.setattr(gsi, "TiltedSelection", WrongSignTilt)
    elif mutation == "no log-ratio":
        monkeypatch.setattr(gsi, "TiltedSelection", NoImportanceRatio)
    elif mutation == "threshold side":
        monkeypatch.setattr(gsi, "TiltedRewardThreshold", ThresholdOnTheWrongSide)
    else:
        monkeypatch.setattr(base.RunContext, "soft_best_of_n", fallback_from_the_small_model(base.RunContext.soft_best_of_n))
    expected = method_distributions(MUTATION_WORLD, 2, 4, 0.5)["gsi"].distribution
    counts = sample_with_engine(MUTATION_WORLD, "gsi", 2, 4, 0.5, RUNS)
    assert goodness_of_fit(counts, expected) < 1e-6


def test_the_unbroken_gsi_passes_the_same_check():
    expected = method_distributions(MUTATION_WORLD, 2, 4, 0.5)["gsi"].distribution
    assert goodness_of_fit(sample_with_engine(MUTATION_WORLD, "gsi", 2, 4, 0.5, RUNS), expected) > 1e-3


def test_worlds_refuse_bad_probabilities():
    with pytest.raises(ValueError, match="π_S must be a probability vector"):
        ToyWorld("bad", (0.5, 0.6), (0.5, 0.5), (0.0, 1.0))
