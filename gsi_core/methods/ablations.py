"""GSI with one piece changed, as the official code's flags allow, so Compare and the lab show why each is there.

- `gsi-raw-threshold`: accept when the raw reward r ≥ u instead of r̃ ≥ u (official: without `--threshold-on-tilted`).
- `gsi-big-tilt`: select by softmax(β·r + log π_B), tilted by π_B only (official: `--tilt-only-by-big-model`).
- `gsi-no-fallback`: always accept the selected draft (official: `--not-check-and-resample-big-model`).
"""

from __future__ import annotations

from functools import partial
from typing import Callable, Iterator

from ..config import DecodingConfig
from ..events import Event
from ..selection import (AcceptanceRule, AlwaysAccept, BigTiltSelection, RewardThreshold, SelectionRule,
                         TiltedRewardThreshold, TiltedSelection)
from ..vocabulary import RewardModel, StepModel
from .base import run_steps
from .speculative import speculative_step


def _variant(name: str, selection: Callable[[DecodingConfig], SelectionRule],
             acceptance: Callable[[DecodingConfig], AcceptanceRule]):
    """A GSI run with its selection and acceptance rules built from the run's config by these two callables."""

    def run(problem: str, small: StepModel, big: StepModel, reward: RewardModel, config: DecodingConfig) -> Iterator[Event]:
        step = partial(speculative_step, method=name, selection=selection(config), acceptance=acceptance(config),
                       score_with_big=True)
        return run_steps(name, step, problem, small, big, reward, config)

    run.__name__ = name.replace("-", "_")
    return run


# The rules are looked up when a run starts (not bound here), so a test can swap one to break a variant.
gsi_raw_threshold = _variant("gsi-raw-threshold", lambda c: TiltedSelection(c.beta),
                             lambda c: RewardThreshold(c.threshold))
gsi_big_tilt = _variant("gsi-big-tilt", lambda c: BigTiltSelection(c.beta), lambda c: TiltedRewardThreshold(c.threshold))
gsi_no_fallback = _variant("gsi-no-fallback", lambda c: TiltedSelection(c.beta), lambda c: AlwaysAccept())
