"""The speculative step GSI and RSD share: π_S drafts n steps, one is selected and tested, π_B takes over on
a rejection. The two methods differ only in their selection and acceptance rules."""

from __future__ import annotations

from ..events import StepEvent
from ..selection import AcceptanceRule, SelectionRule, soft_select, tilted_reward
from ..vocabulary import Draft
from .base import RunContext, candidates


def speculative_step(
    context: RunContext, index: int, *, method: str, selection: SelectionRule, acceptance: AcceptanceRule, score_with_big: bool
) -> tuple[StepEvent, Draft]:
    config = context.config
    drafts = context.draft("small", config.candidates("small"), index)
    scored = context.rewards(drafts)
    rewards = [s.reward for s in scored]
    logp_small = [d.logprob for d in drafts]
    token_logp_big = context.token_logprobs_big(drafts) if score_with_big else None
    logp_big = [float(sum(values)) for values in token_logp_big] if token_logp_big is not None else None
    chosen, weights = soft_select(selection.logits(rewards, logp_small, logp_big), context.rng(index, "select"))
    tilted = None
    if logp_big is not None:
        tilted = [tilted_reward(r, b, s, config.beta) for r, b, s in zip(rewards, logp_big, logp_small)]
    drafted = candidates(drafts, "small", scored=scored, token_logprobs_other=token_logp_big, tilted=tilted,
                         weights=weights)
    if acceptance.accepts(rewards[chosen], tilted[chosen] if tilted else None):
        committed, fallback, fallback_chosen, decision = drafts[chosen], (), None, "accepted"
    else:
        big_drafts, fallback, fallback_chosen = context.soft_best_of_n("big", index, fallback=True)
        committed, decision = big_drafts[fallback_chosen], "fallback"
    event = StepEvent(
        index=index, method=method, candidates=drafted, chosen=chosen, decision=decision, text=committed.text,
        source="small" if decision == "accepted" else "big", timings=context.stage_times(),
        fallback=fallback, fallback_chosen=fallback_chosen, threshold=acceptance.threshold,
        threshold_on=acceptance.tests,
    )
    return event, committed
