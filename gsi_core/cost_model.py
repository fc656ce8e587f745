"""What a step costs, from per-token costs measured on one machine: GSI's time against soft best-of-n with π_B.

GSI pays π_S's drafts, π_B's scoring of them and their rewards on every step, and π_B's own candidates on the
steps it rejects; soft best-of-n with π_B (sbon-big) pays π_B's candidates on every step. So GSI is faster only
where π_B checking a drafted token is much cheaper than π_B writing one: on a GPU, where scoring is one parallel
forward, but not on a 2-core CPU, where it costs about as much. The functions here are plain arithmetic (no torch),
shared by the engine bench (which measures `TokenCosts`), the app's "where the time goes" panel and the lab.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TokenCosts:
    """Seconds per unit of work on one machine, each measured at the run's batch widths.

    `small_decode` / `big_decode`: one drafted token of one row (a batched decoding forward ÷ its rows), π_S at
    n_small rows and π_B at n_big rows. `big_scoring`: π_B scoring one drafted token in its batched forward.
    `reward`: rewarding one candidate step. `small_commit` / `big_commit`: forwarding one token of a committed
    step that the model must (re)compute before the next step (a prefill token)."""

    small_decode: float
    big_decode: float
    big_scoring: float
    reward: float = 0.0
    small_commit: float = 0.0
    big_commit: float = 0.0

    def to_dict(self) -> dict[str, float]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TokenCosts":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: float(v) for k, v in data.items() if k in names})

    def gpu_like(self, scoring_over_decoding: float = 0.1) -> "TokenCosts":
        """The same decoding costs with π_B's scoring (and committing) priced at `scoring_over_decoding` of π_B
        decoding a token: an assumption standing for a GPU, where a prefill token is nearly free next to decoding."""
        checked = scoring_over_decoding * self.big_decode
        small_checked = scoring_over_decoding * self.small_decode
        return dataclasses.replace(self, big_scoring=checked, big_commit=checked, small_commit=small_checked)


@dataclass(frozen=True)
class Workload:
    """The shape of a step: candidates per step and their mean length in tokens, and the share of a committed
    step's tokens each model must forward again (1 when every committed step is recomputed, 0 when the forward
    that produced or scored it kept its keys and values)."""

    n_small: int
    n_big: int
    tokens: float = 1.0
    small_recomputed: float = 1.0
    big_recomputed: float = 1.0


def sbon_big_step_seconds(costs: TokenCosts, work: Workload) -> float:
    """One step of soft best-of-n with π_B: π_B writes n_big candidates, each is rewarded, one is committed."""
    writing = work.n_big * work.tokens * costs.big_decode + work.n_big * costs.reward
    return writing + work.tokens * work.big_recomputed * costs.big_commit


def gsi_step_seconds(costs: TokenCosts, work: Workload, acceptance: float) -> float:
    """Expected seconds of one GSI step at this acceptance: drafts, scoring and rewards always, π_B's candidates
    on the (1 − acceptance) share of steps it rejects, and the committed step's recomputation by both models."""
    drafting = work.n_small * work.tokens * (costs.small_decode + costs.big_scoring) + work.n_small * costs.reward
    fallback = work.n_big * work.tokens * costs.big_decode + work.n_big * costs.reward
    commit = work.tokens * (work.small_recomputed * costs.small_commit + work.big_recomputed * costs.big_commit)
    return drafting + (1.0 - acceptance) * fallback + commit


def ratio(costs: TokenCosts, work: Workload, acceptance: float) -> float:
    """GSI's expected time ÷ sbon-big's, per step (both write steps of the same mean length)."""
    return gsi_step_seconds(costs, work, acceptance) / sbon_big_step_seconds(costs, work)


def floor_ratio(costs: TokenCosts, work: Workload) -> float:
    """The ratio at 100% acceptance: the least GSI can cost against sbon-big on this machine."""
    return ratio(costs, work, 1.0)


def break_even_acceptance(costs: TokenCosts, work: Workload) -> float | None:
    """The acceptance at which GSI takes as long as sbon-big (the ratio is linear in it); None where GSI is slower
    even when it accepts every step."""
    at_zero, at_one = ratio(costs, work, 0.0), ratio(costs, work, 1.0)
    if at_one >= 1.0:
        return None
    if at_zero <= 1.0:
        return 0.0
    return (at_zero - 1.0) / (at_zero - at_one)
