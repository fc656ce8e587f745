"""GSI with one piece changed, as the official code's flags allow, so Compare and the lab show why each is there.

- `gsi-raw-threshold`: accept when the raw reward r ≥ u instead of r̃ ≥ u (official: without `--threshold-on-tilted`).
- `gsi-big-tilt`: select by softmax(β·r + log π_B), tilted by π_B only (official: `--tilt-only-by-big-model`).
- `gsi-no-fallback`: always accept the selected draft (official: `--not-check-and-resample-big-model`).
"""

from __future__ import annotations

from ..selection import AlwaysAccept, BigTiltSelection, RewardThreshold, TiltedRewardThreshold, TiltedSelection
from .base import stepwise_method
from .speculative import speculative_step

# The rules are looked up when a run starts (not bound here), so a test can swap one to break a variant.
gsi_raw_threshold = stepwise_method(
    "gsi-raw-threshold", speculative_step, "GSI accepting when the raw reward r ≥ u (not r̃ ≥ u).",
    selection=lambda c: TiltedSelection(c.beta), acceptance=lambda c: RewardThreshold(c.threshold), score_with_big=True,
)
gsi_big_tilt = stepwise_method(
    "gsi-big-tilt", speculative_step, "GSI selecting by softmax(β·r + log π_B): tilted by π_B only.",
    selection=lambda c: BigTiltSelection(c.beta), acceptance=lambda c: TiltedRewardThreshold(c.threshold),
    score_with_big=True,
)
gsi_no_fallback = stepwise_method(
    "gsi-no-fallback", speculative_step, "GSI keeping every selected draft; π_B only scores.",
    selection=lambda c: TiltedSelection(c.beta), acceptance=lambda c: AlwaysAccept(), score_with_big=True,
)
