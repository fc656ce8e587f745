"""Guided Speculative Inference (Geuter, Mroueh, Alvarez-Melis, 2025).

Per step: π_S drafts n steps; one is drawn with probability softmax(β·r + log π_B − log π_S), which
importance-weights the drafts toward the tilted policy π_B·exp(β·r); it is accepted if its tilted reward
r̃ = r + (1/β)·log(π_B/π_S) ≥ u, and otherwise π_B draws n steps and one is picked by softmax(β·r).
"""

from __future__ import annotations

from functools import partial
from typing import Iterator

from ..config import DecodingConfig
from ..events import Event
from ..selection import TiltedRewardThreshold, TiltedSelection
from ..vocabulary import RewardModel, StepModel
from .base import run_steps
from .speculative import speculative_step


def gsi(problem: str, small: StepModel, big: StepModel, reward: RewardModel, config: DecodingConfig) -> Iterator[Event]:
    step = partial(
        speculative_step, method="gsi", selection=TiltedSelection(config.beta),
        acceptance=TiltedRewardThreshold(config.threshold), score_with_big=True,
    )
    return run_steps("gsi", step, problem, small, big, reward, config)
