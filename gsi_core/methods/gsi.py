"""Guided Speculative Inference (Geuter, Mroueh, Alvarez-Melis, 2025).

Per step: π_S drafts n steps; one is drawn with probability softmax(β·r + log π_B − log π_S), which
importance-weights the drafts toward the tilted policy π_B·exp(β·r); it is accepted if its tilted reward
r̃ = r + (1/β)·log(π_B/π_S) ≥ u, and otherwise π_B draws n steps and one is picked by softmax(β·r).
"""

from __future__ import annotations

from ..selection import TiltedRewardThreshold, TiltedSelection
from .base import stepwise_method
from .speculative import speculative_step

gsi = stepwise_method(
    "gsi", speculative_step, __doc__, selection=lambda c: TiltedSelection(c.beta),
    acceptance=lambda c: TiltedRewardThreshold(c.threshold), score_with_big=True,
)
