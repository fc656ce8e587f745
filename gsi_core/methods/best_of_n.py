"""Best-of-n baselines with one model: soft (pick by softmax(β·r), which targets π·exp(β·r)) and hard (argmax r),
and plain sampling (n = 1, no reward)."""

from __future__ import annotations

from functools import partial
from typing import Iterator

from ..config import DecodingConfig
from ..events import Event, Role, StepEvent
from ..selection import argmax_select
from ..vocabulary import Draft, RewardModel, StepModel
from .base import RunContext, candidates, run_steps


def _step_event(context: RunContext, index: int, method: str, role: Role, drafted, chosen: int) -> StepEvent:
    return StepEvent(
        index=index, method=method, candidates=drafted, chosen=chosen, decision="n.a.",
        text=drafted[chosen].text, source=role, timings=context.stage_times(),
    )


def soft_step(context: RunContext, index: int, *, method: str, role: Role) -> tuple[StepEvent, Draft]:
    drafts, drafted, chosen = context.soft_best_of_n(role, index)
    return _step_event(context, index, method, role, drafted, chosen), drafts[chosen]


def hard_step(context: RunContext, index: int, *, method: str, role: Role) -> tuple[StepEvent, Draft]:
    drafts = context.draft(role, context.config.candidates(role), index)
    scored = context.rewards(drafts)
    chosen, weights = argmax_select([s.reward for s in scored])
    drafted = candidates(drafts, role, scored=scored, weights=weights)
    return _step_event(context, index, method, role, drafted, chosen), drafts[chosen]


def sample_step(context: RunContext, index: int, *, method: str, role: Role) -> tuple[StepEvent, Draft]:
    drafts = context.draft(role, 1, index)
    drafted = candidates(drafts, role, weights=[1.0])
    return _step_event(context, index, method, role, drafted, 0), drafts[0]


def _single_model(step_function, method: str, role: Role):
    def run(problem: str, small: StepModel, big: StepModel, reward: RewardModel, config: DecodingConfig) -> Iterator[Event]:
        return run_steps(method, partial(step_function, method=method, role=role), problem, small, big, reward, config)

    run.__name__ = method.replace("-", "_")
    run.__doc__ = f"{method}: {step_function.__name__.replace('_step', '')} steps from π_{role[0].upper()}."
    return run


sbon_small = _single_model(soft_step, "sbon-small", "small")
sbon_big = _single_model(soft_step, "sbon-big", "big")
bon_small = _single_model(hard_step, "bon-small", "small")
bon_big = _single_model(hard_step, "bon-big", "big")
sample_small = _single_model(sample_step, "sample-small", "small")
sample_big = _single_model(sample_step, "sample-big", "big")
