"""The arithmetic of GSI and its baselines: selection logits, the tilted reward and acceptance rules.

Each selection rule maps the candidates' numbers to one logit per candidate; each acceptance rule looks at the
selected candidate only. Methods are assembled from these, never re-deriving the formulas.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

import numpy as np


def softmax(logits: Sequence[float]) -> np.ndarray:
    """Stable softmax; -inf logits get weight 0 (at least one logit must be finite)."""
    values = np.asarray(logits, dtype=np.float64)
    shifted = np.exp(values - np.max(values))
    return shifted / shifted.sum()


def tilted_reward(reward: float, logp_big: float, logp_small: float, beta: float) -> float:
    """r̃ = r + (1/β)·log(π_B/π_S): the reward a draft from π_S earns toward the tilted policy π_B·exp(βr)."""
    if beta == 0:
        # With β = 0 the tilt vanishes; r̃ is ±inf by the sign of the log-ratio (0 when the models agree).
        return float(np.sign(logp_big - logp_small) * np.inf) if logp_big != logp_small else reward
    return reward + (logp_big - logp_small) / beta


class SelectionRule(Protocol):
    def logits(
        self, rewards: Sequence[float], logp_small: Sequence[float], logp_big: Sequence[float] | None
    ) -> np.ndarray: ...


@dataclass(frozen=True)
class SoftRewardSelection:
    """Soft best-of-n: pick i with probability softmax(β·r)_i. β = 0 picks uniformly."""

    beta: float

    def logits(self, rewards, logp_small=None, logp_big=None) -> np.ndarray:
        return self.beta * np.asarray(rewards, dtype=np.float64)


@dataclass(frozen=True)
class TiltedSelection:
    """GSI's choice among π_S drafts: softmax(β·r + log π_B − log π_S), importance-weighted toward π_B·exp(βr)."""

    beta: float

    def logits(self, rewards, logp_small, logp_big) -> np.ndarray:
        return (
            self.beta * np.asarray(rewards, dtype=np.float64)
            + np.asarray(logp_big, dtype=np.float64)
            - np.asarray(logp_small, dtype=np.float64)
        )


@dataclass(frozen=True)
class BigTiltSelection:
    """An ablation of GSI's choice: softmax(β·r + log π_B), tilted by π_B without dividing out π_S, so it aims at
    π_S·π_B·exp(βr) rather than π_B·exp(βr) (the official code's `--tilt-only-by-big-model`)."""

    beta: float

    def logits(self, rewards, logp_small, logp_big) -> np.ndarray:
        return self.beta * np.asarray(rewards, dtype=np.float64) + np.asarray(logp_big, dtype=np.float64)


def soft_select(logits: np.ndarray, rng: np.random.Generator) -> tuple[int, np.ndarray]:
    weights = softmax(logits)
    return int(rng.choice(len(weights), p=weights)), weights


def argmax_select(rewards: Sequence[float]) -> tuple[int, np.ndarray]:
    """Hard best-of-n: the first candidate with the highest reward, with weight 1."""
    index = int(np.argmax(np.asarray(rewards, dtype=np.float64)))
    weights = np.zeros(len(rewards))
    weights[index] = 1.0
    return index, weights


class AcceptanceRule(Protocol):
    threshold: float | None
    tests: str | None  # what the threshold is compared with: "reward" or "tilted_reward" (None: no test)

    def accepts(self, reward: float, tilted: float | None) -> bool: ...


@dataclass(frozen=True)
class TiltedRewardThreshold:
    """GSI accepts the selected draft when its tilted reward r̃ ≥ u (u = −inf: always, u = +inf: never)."""

    threshold: float
    tests: str = "tilted_reward"

    def accepts(self, reward: float, tilted: float | None) -> bool:
        return tilted is not None and tilted >= self.threshold


@dataclass(frozen=True)
class RewardThreshold:
    """RSD accepts the selected draft when its raw reward r ≥ δ."""

    threshold: float
    tests: str = "reward"

    def accepts(self, reward: float, tilted: float | None) -> bool:
        return reward >= self.threshold


@dataclass(frozen=True)
class AlwaysAccept:
    """An ablation of GSI without its fallback: the selected draft is always kept (the official code's
    `--not-check-and-resample-big-model`); no threshold is tested."""

    threshold: None = None
    tests: None = None

    def accepts(self, reward: float, tilted: float | None) -> bool:
        return True
