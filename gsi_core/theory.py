"""Exact toy worlds: one decision among K steps, where every method's output distribution is computable.

For soft best-of-n style selection the n draws matter only through their counts c (a multinomial vector), and
the selection picks step k with probability c_k·w_k / Σ_j c_j·w_j. Summing over every count vector gives the
exact distribution (`selection_distribution`); there are C(n+K−1, K−1) of them, fine for K ≤ 5 and n ≤ 64.
GSI and RSD then keep the selected step if it passes their test and otherwise fall back to soft best-of-n
with π_B, so their output is  P(y) = A(y) + (1 − Σ_k A(k))·q_B(y)  with A(k) = P(select k)·1[k passes].
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .cost_model import TokenCosts, Workload, ratio
from .vocabulary import STEP_END, Draft, RewardModel


@dataclass(frozen=True)
class ToyWorld:
    """K possible steps with their probabilities under π_S and π_B and their rewards."""

    name: str
    small: tuple[float, ...]
    big: tuple[float, ...]
    reward: tuple[float, ...]

    def __post_init__(self):
        if not (len(self.small) == len(self.big) == len(self.reward)):
            raise ValueError("π_S, π_B and r must list the same steps")
        for label, p in (("π_S", self.small), ("π_B", self.big)):
            if min(p) < 0 or not math.isclose(sum(p), 1.0, abs_tol=1e-9):
                raise ValueError(f"{label} must be a probability vector (got {p})")

    @property
    def labels(self) -> list[str]:
        return [chr(ord("A") + k) for k in range(len(self.reward))]


WORLDS = {
    w.name: w
    for w in (
        ToyWorld("draft close to base", (0.35, 0.30, 0.20, 0.15), (0.30, 0.30, 0.25, 0.15), (0.2, 0.5, 0.6, 0.9)),
        ToyWorld("draft misses a good step", (0.5, 0.3, 0.15, 0.05), (0.2, 0.2, 0.2, 0.4), (0.2, 0.5, 0.6, 0.9)),
        ToyWorld("misleading reward", (0.4, 0.3, 0.2, 0.1), (0.25, 0.25, 0.25, 0.25), (0.9, 0.3, 0.2, 0.8)),
    )
}


def shifted(world: ToyWorld, distance: float) -> ToyWorld:
    """The world with π_S moved from π_B (distance 0) to the world's own π_S (1) and beyond toward uniform (2)."""
    big, small = np.array(world.big), np.array(world.small)
    uniform = np.full(len(big), 1 / len(big))
    mixed = big + min(distance, 1) * (small - big) + max(distance - 1, 0) * (uniform - small)
    mixed = np.clip(mixed, 1e-6, None)
    return ToyWorld(world.name, tuple(mixed / mixed.sum()), world.big, world.reward)


def tilted_target(world: ToyWorld, beta: float) -> np.ndarray:
    """π_{β,B}(y) ∝ π_B(y)·exp(β·r(y)): the policy GSI aims at."""
    logits = np.log(np.array(world.big)) + beta * np.array(world.reward)
    weights = np.exp(logits - logits.max())
    return weights / weights.sum()


@lru_cache(maxsize=64)
def _count_vectors(n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Every way n draws fall into k steps, and the log multinomial coefficient of each."""
    rows = []

    def build(prefix, left, slots):
        if slots == 1:
            rows.append(prefix + [left])
            return
        for c in range(left + 1):
            build(prefix + [c], left - c, slots - 1)

    build([], n, k)
    counts = np.array(rows, dtype=np.int64)
    log_coefficient = math.lgamma(n + 1) - np.sum([[math.lgamma(c + 1) for c in row] for row in rows], axis=1)
    return counts, log_coefficient


def selection_distribution(draw: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    """Exact P(select k) when n steps are drawn from `draw` and one is picked with probability ∝ its weight."""
    counts, log_coefficient = _count_vectors(n, len(draw))
    with np.errstate(divide="ignore"):
        log_draw = np.where(draw > 0, np.log(np.maximum(draw, 1e-300)), -np.inf)
    log_p = log_coefficient + np.sum(np.where(counts > 0, counts * log_draw, 0.0), axis=1)
    p = np.exp(log_p)
    weighted = counts * weights[None, :]
    totals = weighted.sum(axis=1, keepdims=True)
    return (p[:, None] * np.divide(weighted, totals, out=np.zeros_like(weighted, dtype=float), where=totals > 0)).sum(axis=0)


def _scaled(values: np.ndarray) -> np.ndarray:
    return np.exp(values - values.max())


def soft_best_of_n(draw: np.ndarray, reward: np.ndarray, beta: float, n: int) -> np.ndarray:
    return selection_distribution(draw, _scaled(beta * reward), n)


def tilted_rewards(world: ToyWorld, beta: float) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = np.log(np.array(world.big)) - np.log(np.array(world.small))
    return np.array(world.reward) + log_ratio / beta


@dataclass(frozen=True)
class MethodDistribution:
    """What a method outputs in a toy world, and what it costs."""

    method: str
    distribution: np.ndarray
    acceptance: float | None  # P(the selected draft passes); None for single-model methods
    big_generations: float  # expected number of π_B n-sample generations per step


def method_distributions(world: ToyWorld, beta: float, n: int, threshold: float, rsd_threshold: float = 0.7
                         ) -> dict[str, MethodDistribution]:
    """Exact output distributions of soft best-of-n (π_S, π_B), RSD, GSI and GSI's ablations (one n for both
    models)."""
    small, big, reward = np.array(world.small), np.array(world.big), np.array(world.reward)
    fallback = soft_best_of_n(big, reward, beta, n)
    results = {
        "sbon-small": MethodDistribution("sbon-small", soft_best_of_n(small, reward, beta, n), None, 0.0),
        "sbon-big": MethodDistribution("sbon-big", fallback, None, 1.0),
    }
    with np.errstate(divide="ignore"):  # a step one model never drafts has log-probability −inf, weight 0
        log_big, log_small = np.log(big), np.log(small)
        tilted_weights = _scaled(beta * reward + log_big - log_small)
        big_tilt_weights = _scaled(beta * reward + log_big)
        passes_tilted = tilted_rewards(world, beta) >= threshold
    for method, weights, passes in (
        ("rsd", _scaled(beta * reward), reward >= rsd_threshold),
        ("gsi", tilted_weights, passes_tilted),
        ("gsi-raw-threshold", tilted_weights, reward >= threshold),
        ("gsi-big-tilt", big_tilt_weights, passes_tilted),
        ("gsi-no-fallback", tilted_weights, np.ones(len(reward), dtype=bool)),
    ):
        selected = selection_distribution(small, weights, n)
        kept = selected * passes
        acceptance = float(kept.sum())
        results[method] = MethodDistribution(method, kept + (1 - acceptance) * fallback, acceptance, 1 - acceptance)
    return results


def kl_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """KL(p ‖ q) in nats; inf where p puts mass q does not."""
    mask = p > 0
    if np.any(q[mask] <= 0):
        return math.inf
    return float(np.sum(p[mask] * (np.log(p[mask]) - np.log(q[mask]))))


def expected_reward(distribution: np.ndarray, world: ToyWorld) -> float:
    return float(distribution @ np.array(world.reward))


# what `method_distributions` computes, in display order
EXACT_METHODS = ("sbon-small", "sbon-big", "rsd", "gsi", "gsi-raw-threshold", "gsi-big-tilt", "gsi-no-fallback")
N_GRID = (1, 2, 4, 8, 16, 32, 64)  # the n of the lab's curves (the CLI's table and the tab's chart)


@dataclass(frozen=True)
class CurvePoint:
    """Every exact method at one n, and its KL to the tilted target π_{β,B}."""

    n: int
    exact: dict[str, MethodDistribution]
    kl: dict[str, float]


def curve_point(world: ToyWorld, beta: float, n: int, threshold: float) -> CurvePoint:
    exact = method_distributions(world, beta, n, threshold)
    target = tilted_target(world, beta)
    return CurvePoint(n, exact, {m: kl_divergence(exact[m].distribution, target) for m in EXACT_METHODS})


def curves_against_n(world: ToyWorld, beta: float, threshold: float, ns=N_GRID) -> list[CurvePoint]:
    """KL to the target, GSI's acceptance and its π_B calls as n grows: the lab's curves."""
    return [curve_point(world, beta, n, threshold) for n in ns]


def gsi_time_ratios(curves: list[CurvePoint], costs: TokenCosts, step: Workload) -> list[float]:
    """GSI's expected time ÷ sbon-big's at each point of the curves: the cost model at the point's exact GSI
    acceptance, with n drafts and n fallback candidates (both models share n in the toy world), and `step`'s
    length and recomputed shares."""
    return [ratio(costs, dataclasses.replace(step, n_small=p.n, n_big=p.n), p.exact["gsi"].acceptance) for p in curves]

# --- the engine's own methods on a toy world ----------------------------------------------------------------


class ToyStepModel:
    """A toy world's π_S or π_B behind the `StepModel` calls, so the engine's methods run on it unchanged.

    Each draft is one whole step (it ends the run, as EOS does), whatever the step delimiter. The world's
    probabilities are taken to be those at the run's temperature, so `temperature` is not applied again."""

    def __init__(self, world: ToyWorld, probabilities: tuple[float, ...], name: str):
        self.world, self.name, self.num_parameters, self.vocab = world, name, 0, "toy"
        self.probabilities = np.array(probabilities)
        self._log = np.log(np.maximum(self.probabilities, 1e-300))

    def _draft(self, k: int):
        text, logprob = f"Step {self.world.labels[k]}", float(self._log[k])
        return Draft(text=text, token_ids=(k,), vocab=self.vocab, logprob=logprob, finish_reason="eos",
                     token_logprobs=(logprob,), token_texts=(text,))

    def draft(self, prompt, steps, n, *, temperature, max_tokens, seed, step_end=STEP_END):
        rng = np.random.default_rng(seed)
        return [self._draft(int(k)) for k in rng.choice(len(self.probabilities), size=n, p=self.probabilities)]

    def token_logprobs(self, prompt, steps, candidates, *, temperature):
        return [(float(self._log[c.token_ids[0]]),) for c in candidates]


def toy_parts(world: ToyWorld):
    """(π_S, π_B, reward) of a toy world, with the interfaces the transformers models and PRMs implement."""
    index = {f"Step {label}": k for k, label in enumerate(world.labels)}

    class ToyReward(RewardModel):
        name = "toy-reward"

        def score(self, question, steps):
            return [world.reward[index[step]] for step in steps]

    return ToyStepModel(world, world.small, "toy π_S"), ToyStepModel(world, world.big, "toy π_B"), ToyReward()


def sample_with_engine(world: ToyWorld, method: str, beta: float, n: int, threshold: float, runs: int,
                       seed: int = 0) -> np.ndarray:
    """How often the engine's own `method` commits each step over `runs` seeded runs."""
    from .config import DecodingConfig
    from .methods import run_method
    from .run import Run

    small, big, reward = toy_parts(world)
    labels = {f"Step {label}": k for k, label in enumerate(world.labels)}
    counts = np.zeros(len(world.reward), dtype=np.int64)
    for run in range(runs):
        config = DecodingConfig(n=n, beta=beta, threshold=threshold, max_steps=1, seed=seed * 1_000_003 + run)
        summary = Run.of(run_method(method, "toy", small, big, reward, config)).summary
        counts[labels[summary.solution]] += 1
    return counts


def goodness_of_fit(counts: np.ndarray, expected: np.ndarray) -> float:
    """Pearson's χ² p-value of observed counts against an exact distribution. Steps expected fewer than 5
    times are pooled into one cell (the χ² approximation needs it); a count where the exact mass is 0 gives 0.
    The p-value is χ²'s survival function, the regularized upper incomplete gamma Q(dof/2, statistic/2)."""
    import torch

    support = expected > 1e-12
    if counts[~support].sum() > 0:
        return 0.0
    total = counts.sum()
    observed, means = counts[support].astype(float), expected[support] / expected[support].sum() * total
    rare = means < 5
    if rare.any():
        observed = np.append(observed[~rare], observed[rare].sum())
        means = np.append(means[~rare], means[rare].sum())
    if len(observed) == 1:
        return 1.0
    statistic = float(((observed - means) ** 2 / means).sum())
    degrees_of_freedom = len(observed) - 1
    return float(torch.special.gammaincc(torch.tensor(degrees_of_freedom / 2, dtype=torch.float64),
                                         torch.tensor(statistic / 2, dtype=torch.float64)))
