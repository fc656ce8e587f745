"""Typed, JSON-serialisable events: the only contract between the engine, the UI and the benchmark harness.

A run yields one `RunStarted`, then one `StepEvent` per committed step, then one `RunSummary`.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, Literal, Union

Decision = Literal["accepted", "fallback", "n.a."]
FinishReason = Literal["step", "eos", "length"]
StopReason = Literal["answer", "eos", "max_steps", "reward_floor"]
Role = Literal["small", "big"]


@dataclass(frozen=True)
class Candidate:
    """One candidate step and every number the selection used.

    `weight` is the probability the selection gave it (softmax of its selection logit; 1/0 for argmax).
    `logp_small`/`logp_big` are log π(step | prefix) at the run's temperature, None when not computed.
    `reward_reasons` are the reward's short reasons for `reward` (empty from a PRM, or when no reward was used).
    Where π_B scored π_S's draft, `token_texts` splits its text into tokens and `token_logprobs_small`/`_big`
    hold each token's log-prob under either model (rounded to 4 digits; they add up to the sums); None elsewhere.
    """

    text: str
    num_tokens: int
    source: Role
    finish_reason: FinishReason
    logp_small: float | None = None
    logp_big: float | None = None
    reward: float | None = None
    tilted_reward: float | None = None
    weight: float | None = None
    reward_reasons: tuple[str, ...] = ()
    token_texts: tuple[str, ...] | None = None
    token_logprobs_small: tuple[float, ...] | None = None
    token_logprobs_big: tuple[float, ...] | None = None


_TUPLE_FIELDS = ("reward_reasons", "token_texts", "token_logprobs_small", "token_logprobs_big")


def _candidate(data: dict[str, Any]) -> Candidate:
    """A candidate from JSON, whose lists become the tuples the engine writes; older exports lack the reasons
    and token keys (their defaults stand in)."""
    return Candidate(**{k: tuple(v) if k in _TUPLE_FIELDS and v is not None else v for k, v in data.items()})


@dataclass(frozen=True)
class StageTimes:
    """Wall seconds per stage of one step. `fallback` covers π_B drafting and rewarding its candidates."""

    drafting: float = 0.0
    reward: float = 0.0
    scoring: float = 0.0
    fallback: float = 0.0

    @property
    def total(self) -> float:
        return self.drafting + self.reward + self.scoring + self.fallback


@dataclass(frozen=True)
class RunStarted:
    method: str
    problem: str
    config: dict[str, Any]
    small_model: str
    big_model: str
    reward_model: str
    small_params: int
    big_params: int
    type: Literal["start"] = "start"


@dataclass(frozen=True)
class StepEvent:
    """One committed step: the drafts, which was chosen and whether it was accepted or replaced by π_B.

    `chosen` indexes `candidates`; on a fallback `fallback_chosen` indexes `fallback` and that step is the
    one committed. `threshold` is the u (GSI) or δ (RSD) the chosen draft was compared with, and `threshold_on`
    what of it was compared: "tilted_reward" (r̃) or "reward" (r); both None when no test was made.
    """

    index: int
    method: str
    candidates: tuple[Candidate, ...]
    chosen: int
    decision: Decision
    text: str
    source: Role
    timings: StageTimes
    fallback: tuple[Candidate, ...] = ()
    fallback_chosen: int | None = None
    threshold: float | None = None
    threshold_on: Literal["reward", "tilted_reward"] | None = None
    type: Literal["step"] = "step"

    @property
    def tests_tilted_reward(self) -> bool:
        """Whether the chosen draft's r̃ (rather than r) is what a threshold is held against; exports saved before
        `threshold_on` existed tested r̃ wherever it was computed."""
        if self.threshold_on is not None:
            return self.threshold_on == "tilted_reward"
        return self.candidates[self.chosen].tilted_reward is not None

    @property
    def tested_value(self) -> float | None:
        """The chosen draft's r̃ or r, as `tests_tilted_reward` says."""
        chosen = self.candidates[self.chosen]
        return chosen.tilted_reward if self.tests_tilted_reward else chosen.reward

    @property
    def committed(self) -> Candidate:
        if self.fallback_chosen is not None:
            return self.fallback[self.fallback_chosen]
        return self.candidates[self.chosen]


@dataclass(frozen=True)
class RunSummary:
    method: str
    solution: str
    answer: str | None
    stop_reason: StopReason
    steps: int
    accepted: int
    fallbacks: int
    tokens_small: int  # tokens π_S generated (all drafts)
    tokens_big: int  # tokens π_B generated (drafts and fallbacks)
    tokens_scored_big: int  # drafted tokens π_B scored in its batched forward
    timings: StageTimes
    wall_time: float
    type: Literal["summary"] = "summary"

    @property
    def acceptance_rate(self) -> float | None:
        decided = self.accepted + self.fallbacks
        return self.accepted / decided if decided else None


Event = Union[RunStarted, StepEvent, RunSummary]
_EVENT_TYPES = {"start": RunStarted, "step": StepEvent, "summary": RunSummary}


def to_dict(event: Event) -> dict[str, Any]:
    return dataclasses.asdict(event)


def to_json(event: Event) -> str:
    return json.dumps(to_dict(event), ensure_ascii=False)


def from_dict(data: dict[str, Any]) -> Event:
    """Rebuild an event from `to_dict` output (a replayed JSON-lines export, say; one saved before rewards gave
    reasons has candidates with no reasons)."""
    kind = _EVENT_TYPES.get(data.get("type"))
    if kind is None:
        raise ValueError(f"not an event: type {data.get('type')!r}")
    values = dict(data)
    if "timings" in values:
        values["timings"] = StageTimes(**values["timings"])
    for key in ("candidates", "fallback"):
        if key in values:
            values[key] = tuple(_candidate(c) for c in values[key])
    return kind(**values)


def from_json(line: str) -> Event:
    return from_dict(json.loads(line))


def add_times(a: StageTimes, b: StageTimes) -> StageTimes:
    return StageTimes(*(x + y for x, y in zip(dataclasses.astuple(a), dataclasses.astuple(b))))


__all__ = [
    "Candidate",
    "StageTimes",
    "RunStarted",
    "StepEvent",
    "RunSummary",
    "Event",
    "to_dict",
    "to_json",
    "from_dict",
    "from_json",
    "add_times",
]
