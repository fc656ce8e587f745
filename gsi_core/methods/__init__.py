"""The one registry of decoding methods: the CLI, the evaluation harness and the app all read `METHODS`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

from ..config import ConfigError, DecodingConfig
from ..events import Event
from ..vocabulary import RewardModel, StepModel
from .ablations import gsi_big_tilt, gsi_no_fallback, gsi_raw_threshold
from .best_of_n import bon_big, bon_small, sample_big, sample_small, sbon_big, sbon_small
from .gsi import gsi
from .rsd import rsd

Method = Callable[[str, StepModel, StepModel, RewardModel, DecodingConfig], Iterator[Event]]


@dataclass(frozen=True)
class MethodInfo:
    """A method, what it does in one line, and its step's work in units of π_S drafting one step (π_B scoring or
    the reward ¼, π_B drafting 2, a fallback — π_B's drafts and their reward — taken on half of the steps of a
    method that has one): what a ZeroGPU call's duration is sized by."""

    name: str
    run: Method
    description: str
    step_work: float


_FALLBACK_HALF_THE_TIME = 0.5 * (2 + 0.25)
METHODS: dict[str, MethodInfo] = {
    info.name: info
    for info in (
        MethodInfo("gsi", gsi, "Guided speculative inference: tilted soft best-of-n on π_S, π_B fallback when r̃ < u",
                   1.5 + _FALLBACK_HALF_THE_TIME),
        MethodInfo("rsd", rsd, "Reward-guided speculative decoding: soft best-of-n on π_S, π_B fallback when r < δ",
                   1.25 + _FALLBACK_HALF_THE_TIME),
        MethodInfo("sbon-small", sbon_small, "Soft best-of-n with π_S: softmax(β·r) selection", 1.25),
        MethodInfo("sbon-big", sbon_big, "Soft best-of-n with π_B: softmax(β·r) selection", 2.25),
        MethodInfo("bon-small", bon_small, "Best-of-n with π_S: the highest reward", 1.25),
        MethodInfo("bon-big", bon_big, "Best-of-n with π_B: the highest reward", 2.25),
        MethodInfo("sample-small", sample_small, "Plain sampling from π_S, one step at a time, no reward", 1.0),
        MethodInfo("sample-big", sample_big, "Plain sampling from π_B, one step at a time, no reward", 2.0),
        MethodInfo("gsi-raw-threshold", gsi_raw_threshold,
                   "Ablation: GSI accepting on the raw reward r ≥ u instead of r̃ ≥ u", 1.5 + _FALLBACK_HALF_THE_TIME),
        MethodInfo("gsi-big-tilt", gsi_big_tilt,
                   "Ablation: GSI selecting by softmax(β·r + log π_B), tilted by π_B only (no − log π_S)",
                   1.5 + _FALLBACK_HALF_THE_TIME),
        MethodInfo("gsi-no-fallback", gsi_no_fallback, "Ablation: GSI without the fallback; every selected draft is kept",
                   1.5),
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
