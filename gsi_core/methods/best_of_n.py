"""Best-of-n baselines with one model: soft (pick by softmax(β·r), which targets π·exp(β·r)) and hard (argmax r),
and plain sampling (n = 1, no reward)."""

from __future__ import annotations

from ..events import Role, StepEvent
from ..selection import argmax_select
from ..vocabulary import Draft
from .base import RunContext, candidates, stepwise_method


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


sbon_small = stepwise_method("sbon-small", soft_step, "Soft best-of-n steps from π_S.", role="small")
sbon_big = stepwise_method("sbon-big", soft_step, "Soft best-of-n steps from π_B.", role="big")
bon_small = stepwise_method("bon-small", hard_step, "Best-of-n steps from π_S.", role="small")
bon_big = stepwise_method("bon-big", hard_step, "Best-of-n steps from π_B.", role="big")
sample_small = stepwise_method("sample-small", sample_step, "Plain sampling from π_S.", role="small")
sample_big = stepwise_method("sample-big", sample_step, "Plain sampling from π_B.", role="big")
