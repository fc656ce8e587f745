"""The one registry of decoding methods: the CLI, the evaluation harness and the app all read `METHODS`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

from ..config import ConfigError, DecodingConfig
from ..events import Event
from ..vocabulary import RewardModel, StepModel
from .best_of_n import bon_big, bon_small, sample_big, sample_small, sbon_big, sbon_small
from .gsi import gsi
from .rsd import rsd

Method = Callable[[str, StepModel, StepModel, RewardModel, DecodingConfig], Iterator[Event]]


@dataclass(frozen=True)
class MethodInfo:
    name: str
    run: Method
    description: str


METHODS: dict[str, MethodInfo] = {
    info.name: info
    for info in (
        MethodInfo("gsi", gsi, "Guided speculative inference: tilted soft best-of-n on π_S, π_B fallback when r̃ < u"),
        MethodInfo("rsd", rsd, "Reward-guided speculative decoding: soft best-of-n on π_S, π_B fallback when r < δ"),
        MethodInfo("sbon-small", sbon_small, "Soft best-of-n with π_S: softmax(β·r) selection"),
        MethodInfo("sbon-big", sbon_big, "Soft best-of-n with π_B: softmax(β·r) selection"),
        MethodInfo("bon-small", bon_small, "Best-of-n with π_S: the highest reward"),
        MethodInfo("bon-big", bon_big, "Best-of-n with π_B: the highest reward"),
        MethodInfo("sample-small", sample_small, "Plain sampling from π_S, one step at a time, no reward"),
        MethodInfo("sample-big", sample_big, "Plain sampling from π_B, one step at a time, no reward"),
    )
}
DEFAULT_METHODS = ("gsi", "rsd", "sbon-small", "sbon-big")  # what Compare and `eval` run unless told otherwise
REFERENCE_METHOD = "sbon-big"  # latency and FLOPs are reported relative to it, as in the paper


def run_method(
    name: str, problem: str, small: StepModel, big: StepModel, reward: RewardModel, config: DecodingConfig
) -> Iterator[Event]:
    """The events of method `name` on `problem`; unknown names are refused with the list of known ones."""
    if name not in METHODS:
        raise ConfigError(f"unknown method {name!r}; choose one of: {', '.join(METHODS)}")
    return METHODS[name].run(problem, small, big, reward, config)
