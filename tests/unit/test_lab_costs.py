"""The lab's cost side: GSI's expected time ÷ sbon-big's at each n, exact in the toy world given the costs."""

import pytest

from gsi_core.cost_model import TokenCosts, Workload, ratio
from gsi_core.theory import WORLDS, curves_against_n, gsi_time_ratios, method_distributions


@pytest.mark.parametrize("world", list(WORLDS))
def test_the_time_ratio_follows_the_exact_acceptance_at_every_n(world):
    # π_S writes a token in 1, π_B in 4 and checks one in 2; nothing else costs. Per step GSI pays n·t·(1 + 2)
    # and, when it rejects, π_B's n·t·4; sbon-big pays n·t·4. So the ratio is 3/4 + (1 − acceptance).
    costs = TokenCosts(small_decode=1.0, big_decode=4.0, big_scoring=2.0)
    curves = curves_against_n(WORLDS[world], 20.0, 0.5)
    ratios = gsi_time_ratios(curves, costs, Workload(1, 1, tokens=7))
    for point, value in zip(curves, ratios):
        acceptance = method_distributions(WORLDS[world], 20.0, point.n, 0.5)["gsi"].acceptance
        assert value == pytest.approx(0.75 + 1 - acceptance, rel=1e-12)


def test_rewards_enter_at_each_n_and_the_ratios_are_the_cost_models():
    costs = TokenCosts(small_decode=1.0, big_decode=4.0, big_scoring=2.0, reward=3.0)
    curves = curves_against_n(WORLDS["misleading reward"], 10.0, 0.3, ns=(2, 8))
    ratios = gsi_time_ratios(curves, costs, Workload(1, 1, tokens=5))
    for point, value in zip(curves, ratios):
        n, a = point.n, point.exact["gsi"].acceptance
        gsi = n * 5 * 3.0 + n * 3.0 + (1 - a) * (n * 5 * 4.0 + n * 3.0)
        assert value == pytest.approx(gsi / (n * 5 * 4.0 + n * 3.0), rel=1e-12)
    committing = TokenCosts(small_decode=1.0, big_decode=4.0, big_scoring=2.0, small_commit=0.5, big_commit=1.0)
    step = Workload(1, 1, tokens=5, small_recomputed=0.2, big_recomputed=0.6)
    for point, value in zip(curves, gsi_time_ratios(curves, committing, step)):
        assert value == ratio(committing, Workload(point.n, point.n, 5, 0.2, 0.6), point.exact["gsi"].acceptance)
