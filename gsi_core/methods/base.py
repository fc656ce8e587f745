"""What every decoding method shares: the run's state, timed calls to the models and the reward, and the
loop that commits steps, stops at an answer, EOS or the step cap, and yields the events."""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from functools import partial
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from ..answers import extract_boxed_answer, has_boxed_answer
from ..config import DecodingConfig
from ..events import Candidate, Event, Role, RunStarted, RunSummary, StageTimes, StepEvent, add_times
from ..selection import SoftRewardSelection, soft_select
from ..vocabulary import Draft, Prompt, RewardModel, Scored, StepModel, check_problem

_STAGES = ("draft", "select", "fallback", "fallback-select")


class RewardFloorReached(Exception):
    """Every candidate of a step scored below the config's reward floor: the run ends, that step uncommitted
    (as the official code stops sampling on hopeless steps)."""


class RunContext:
    """One run: the prompt, the committed steps, token counters and per-stage timers."""

    def __init__(self, problem: str, small: StepModel, big: StepModel, reward: RewardModel, config: DecodingConfig):
        self.problem, self.config, self.reward = problem, config, reward
        self.models: dict[Role, StepModel] = {"small": small, "big": big}
        self.prompt = Prompt(problem, config.system_prompt)
        self.steps: list[Draft] = []
        self.tokens: Counter[str] = Counter()
        self._times: dict[str, float] = {}

    # Randomness: each (step, stage) gets its own seed, so one stage never shifts the draws of another and two
    # methods run with the same seed draw the same π_S candidates at a step they share.
    def seed(self, index: int, stage: str) -> int:
        return int(np.random.SeedSequence([self.config.seed, index, _STAGES.index(stage)]).generate_state(1)[0])

    def rng(self, index: int, stage: str) -> np.random.Generator:
        return np.random.default_rng(self.seed(index, stage))

    def _timed(self, stage: str, call: Callable, *args, **kwargs):
        start = time.perf_counter()
        try:
            return call(*args, **kwargs)
        finally:
            self._times[stage] = self._times.get(stage, 0.0) + time.perf_counter() - start

    def stage_times(self) -> StageTimes:
        """The time spent per stage since the last call, and reset the timers for the next step."""
        times, self._times = self._times, {}
        return StageTimes(**times)

    def draft(self, role: Role, n: int, index: int, stage: str = "draft") -> list[Draft]:
        timer = "fallback" if stage == "fallback" else "drafting"
        drafts = self._timed(
            timer, self.models[role].draft, self.prompt, self.steps, n,
            temperature=self.config.temperature, max_tokens=self.config.max_step_tokens, seed=self.seed(index, stage),
            step_end=self.config.step_end,
        )
        self.tokens[role] += sum(len(d.token_ids) for d in drafts)
        return drafts

    def rewards(self, drafts: Sequence[Draft], stage: str = "reward") -> list[Scored]:
        """The drafts' rewards; raises `RewardFloorReached` when the config's floor is set and all are below it."""
        scored = self._timed(stage, self.reward.score_drafts, self.prompt, self.steps, drafts)
        floor = self.config.reward_floor
        if floor is not None and max(s.reward for s in scored) < floor:
            raise RewardFloorReached(max(s.reward for s in scored))
        return scored

    def token_logprobs_big(self, drafts: Sequence[Draft]) -> list[tuple[float, ...]]:
        """π_B's log-prob of each token of each draft (sum one draft's for log π_B of the draft)."""
        self.tokens["scored_big"] += sum(len(d.token_ids) for d in drafts)
        return self._timed(
            "scoring", self.models["big"].token_logprobs, self.prompt, self.steps, drafts,
            temperature=self.config.temperature,
        )

    def soft_best_of_n(self, role: Role, index: int, *, fallback: bool = False) -> tuple[list[Draft], tuple[Candidate, ...], int]:
        """Draw n steps from `role` and pick one with probability softmax(β·r); also GSI's and RSD's fallback,
        whose time is then booked to the `fallback` stage and whose draws use their own seeds."""
        drafts = self.draft(role, self.config.candidates(role), index, "fallback" if fallback else "draft")
        scored = self.rewards(drafts, stage="fallback" if fallback else "reward")
        logits = SoftRewardSelection(self.config.beta).logits([s.reward for s in scored])
        chosen, weights = soft_select(logits, self.rng(index, "fallback-select" if fallback else "select"))
        return drafts, candidates(drafts, role, scored=scored, weights=weights), chosen


def candidates(
    drafts: Sequence[Draft],
    role: Role,
    *,
    scored: Sequence[Scored] | None = None,
    token_logprobs_other: Sequence[Sequence[float]] | None = None,
    tilted: Sequence[float] | None = None,
    weights: Sequence[float] | None = None,
) -> tuple[Candidate, ...]:
    """Event records of `drafts` sampled by `role`, with their rewards and reasons when `scored`;
    `token_logprobs_other` are their tokens' log-probs under the other model. Both models' values are recorded
    per token where they cover the same tokens (the models share a vocabulary, so the other one scored the
    drafted ids) and the drafter gave its own per token."""
    n = len(drafts)
    scored, tilted, weights = (list(v) if v is not None else [None] * n for v in (scored, tilted, weights))
    other = [tuple(v) for v in token_logprobs_other] if token_logprobs_other is not None else [None] * n
    records = []
    for i, d in enumerate(drafts):
        logp_other = None if other[i] is None else float(sum(other[i]))
        per_token = other[i] is not None and len(other[i]) == len(d.token_logprobs) == len(d.token_ids) > 0
        own, theirs = (_rounded(d.token_logprobs), _rounded(other[i])) if per_token else (None, None)
        records.append(Candidate(
            text=d.text,
            num_tokens=len(d.token_ids),
            source=role,
            finish_reason=d.finish_reason,
            logp_small=d.logprob if role == "small" else logp_other,
            logp_big=d.logprob if role == "big" else logp_other,
            reward=None if scored[i] is None else float(scored[i].reward),
            reward_reasons=() if scored[i] is None else tuple(scored[i].reasons),
            tilted_reward=None if tilted[i] is None else float(tilted[i]),
            weight=None if weights[i] is None else float(weights[i]),
            token_texts=d.token_texts if per_token else None,
            token_logprobs_small=own if role == "small" else theirs,
            token_logprobs_big=own if role == "big" else theirs,
        ))
    return tuple(records)


def _rounded(values: Sequence[float]) -> tuple[float, ...]:
    """Per-token log-probs as events keep them: 4 digits, a fifth of the bytes of a full float."""
    return tuple(round(float(v), 4) for v in values)


StepFunction = Callable[[RunContext, int], tuple[StepEvent, Draft]]


def stepwise_method(name: str, step: StepFunction, doc: str, **settings: Any):
    """The one way a method is built: `run_steps` over `step`, called with `method=name` and `settings`. A setting
    is a value, or a function of the run's DecodingConfig called when the run starts (a rule made with the run's β,
    u or δ, and looked up then, so a test can swap the rule a variant uses)."""

    def run(problem: str, small: StepModel, big: StepModel, reward: RewardModel, config: DecodingConfig) -> Iterator[Event]:
        bound = {key: value(config) if callable(value) else value for key, value in settings.items()}
        return run_steps(name, partial(step, method=name, **bound), problem, small, big, reward, config)

    run.__name__, run.__doc__ = name.replace("-", "_"), doc
    return run


def run_steps(
    method: str,
    step: StepFunction,
    problem: str,
    small: StepModel,
    big: StepModel,
    reward: RewardModel,
    config: DecodingConfig,
) -> Iterator[Event]:
    """Call `step` until an answer is boxed, a step ends at EOS or `max_steps` is reached; yield every event.

    The problem is checked here, before the first event, so a caller learns of an empty one at once."""
    check_problem(problem)
    return _events(method, step, problem, small, big, reward, config)


def _events(method, step, problem, small, big, reward, config) -> Iterator[Event]:
    started = time.perf_counter()
    context = RunContext(problem, small, big, reward, config)
    yield RunStarted(
        method=method, problem=problem, config=dataclasses.asdict(config),
        small_model=small.name, big_model=big.name, reward_model=reward.name,
        small_params=small.num_parameters, big_params=big.num_parameters,
    )
    totals, decisions, stop_reason = StageTimes(), Counter(), "max_steps"
    for index in range(config.max_steps):
        try:
            event, committed = step(context, index)
        except RewardFloorReached:
            stop_reason = "reward_floor"
            totals = add_times(totals, context.stage_times())  # the abandoned step's drafting and reward
            break
        context.steps.append(committed)
        totals = add_times(totals, event.timings)
        decisions[event.decision] += 1
        yield event
        if has_boxed_answer(committed.text):
            stop_reason = "answer"
            break
        if committed.finish_reason == "eos":
            stop_reason = "eos"
            break
    solution = "".join(step.text for step in context.steps)
    yield RunSummary(
        method=method, solution=solution, answer=extract_boxed_answer(solution), stop_reason=stop_reason,
        steps=len(context.steps), accepted=decisions["accepted"], fallbacks=decisions["fallback"],
        tokens_small=context.tokens["small"], tokens_big=context.tokens["big"],
        tokens_scored_big=context.tokens["scored_big"], timings=totals, wall_time=time.perf_counter() - started,
    )
