"""Reward-guided speculative decoding (Liao et al., 2025), as the GSI paper compares against it.

Per step: π_S drafts n steps, one is picked by softmax(β·r) (no likelihood ratio), and it is accepted if its
raw reward r ≥ δ (default 0.7); otherwise π_B draws n steps and one is picked by softmax(β·r).
"""

from __future__ import annotations

from functools import partial
from typing import Iterator

from ..config import DecodingConfig
from ..events import Event
from ..selection import RewardThreshold, SoftRewardSelection
from ..vocabulary import RewardModel, StepModel
from .base import run_steps
from .speculative import speculative_step


def rsd(problem: str, small: StepModel, big: StepModel, reward: RewardModel, config: DecodingConfig) -> Iterator[Event]:
    step = partial(
        speculative_step, method="rsd", selection=SoftRewardSelection(config.beta),
        acceptance=RewardThreshold(config.rsd_threshold), score_with_big=False,
    )
    return run_steps("rsd", step, problem, small, big, reward, config)
