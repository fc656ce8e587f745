"""What a run cost: compute estimated as 2 × parameters × tokens each model processed."""

from __future__ import annotations

from .events import RunStarted, RunSummary


def estimated_flops(start: RunStarted, summary: RunSummary) -> dict[str, float]:
    """FLOPs ≈ 2·params·tokens per model: π_S over the tokens it drafted, π_B over the tokens it drafted and
    the draft tokens it scored. Prompt and committed-step prefill (shared by all methods) is left out."""
    small = 2.0 * start.small_params * summary.tokens_small
    big = 2.0 * start.big_params * (summary.tokens_big + summary.tokens_scored_big)
    return {"small": small, "big": big, "total": small + big}
