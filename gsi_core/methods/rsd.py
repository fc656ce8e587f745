"""Reward-guided speculative decoding (Liao et al., 2025), as the GSI paper compares against it.

Per step: π_S drafts n steps, one is picked by softmax(β·r) (no likelihood ratio), and it is accepted if its
raw reward r ≥ δ (default 0.7); otherwise π_B draws n steps and one is picked by softmax(β·r).
"""

from __future__ import annotations

from ..selection import RewardThreshold, SoftRewardSelection
from .base import stepwise_method
from .speculative import speculative_step

rsd = stepwise_method(
    "rsd", speculative_step, __doc__, selection=lambda c: SoftRewardSelection(c.beta),
    acceptance=lambda c: RewardThreshold(c.rsd_threshold), score_with_big=False,
)
