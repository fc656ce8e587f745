"""What the UI needs from the engine: validated settings, models loaded once per process, examples."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from gsi_core.config import ConfigError, DecodingConfig, Preset
from gsi_core.events import Event
from gsi_core.loading import Components, load_components, reward_scale
from gsi_core.methods import run_method
from gsi_core.vocabulary import RewardScale, check_problem as check_nonempty

from .gpu import gpu, gpu_seconds, held_seconds, on_zero_gpu, within_seconds
from .preload import BackgroundLoader

EXAMPLES_FILE = Path(__file__).resolve().parents[1] / "assets" / "examples.jsonl"
MAX_PROBLEM_CHARS = 4000
MAX_UI_N = 32


@dataclass(frozen=True)
class Example:
    dataset: str
    question: str
    gold: str

    @property
    def label(self) -> str:
        first_line = self.question.splitlines()[0]
        return f"{self.dataset}: {first_line[:70]}{'…' if len(first_line) > 70 else ''}"


def load_examples(path: Path = EXAMPLES_FILE) -> list[Example]:
    with open(path) as lines:
        return [Example(**{k: row[k] for k in ("dataset", "question", "gold")}) for row in map(json.loads, lines)]


def check_problem(problem: str | None) -> str:
    """The problem as given, or a ConfigError a visitor can act on: the engine's check, then this demo's limit."""
    try:
        check_nonempty(problem)
    except ConfigError as error:
        raise ConfigError(f"{str(error)[:1].upper()}{str(error)[1:]}.") from None  # a sentence on the page
    if len(problem) > MAX_PROBLEM_CHARS:
        raise ConfigError(f"The problem is {len(problem):,} characters long; the limit here is {MAX_PROBLEM_CHARS:,}.")
    return problem


def make_config(base: DecodingConfig, n_small, n_big, beta, threshold, temperature, seed, max_steps,
                step_delimiter=None) -> DecodingConfig:
    """The run's settings from the controls; out-of-range values raise a ConfigError naming the control. A call
    without the step delimiter (an API client written before it existed) keeps the preset's."""
    try:
        n_small, n_big, seed, max_steps = int(n_small), int(n_big), int(seed), int(max_steps)
    except (TypeError, ValueError):
        raise ConfigError("n_small, n_big, seed and the step cap must be whole numbers.") from None
    for name, value in (("n_small", n_small), ("n_big", n_big)):
        if value > MAX_UI_N:
            raise ConfigError(f"{name} = {value} is more than this demo runs per step (at most {MAX_UI_N}).")
    if threshold is None or not (-1.0 <= float(threshold) <= 2.0):
        raise ConfigError(f"u must be between -1 and 2 (got {threshold}); rewards lie in [0, 1].")
    return base.replace(n_small=n_small, n_big=n_big, beta=float(beta), threshold=float(threshold),
                        temperature=float(temperature), seed=seed, max_steps=max_steps,
                        step_delimiter=step_delimiter or base.step_delimiter)


def run_seconds(method: str, config: DecodingConfig) -> int:
    """The GPU time one run asks for, sized by the larger of its two n."""
    return gpu_seconds(method, max(config.candidates("small"), config.candidates("big")), config.max_steps)


class ModelStore:
    """Loads a preset's models once and keeps them for every later visitor (one copy per process), in a thread of
    their own (`preload.BackgroundLoader`): on first use, at start-up on a Space or with GSI_PRELOAD=1, or before
    serving on ZeroGPU, whose guidance is to load (to CUDA) outside the GPU calls. `run` is one method's
    run as one GPU call, asking for the time `run_seconds` computes from the method, n and step cap."""

    def __init__(self, preset: Preset):
        self.preset = preset
        self.loader: BackgroundLoader[Components] = BackgroundLoader(lambda: load_components(self.preset))
        self.run = gpu(duration=lambda method, problem, config: run_seconds(method, config))(self._run)

    def _run(self, method: str, problem: str, config: DecodingConfig) -> Iterator[Event]:
        """The run's events; on ZeroGPU it ends between steps when its call's time is nearly up (no summary)."""
        parts = self.get()
        budget = held_seconds(run_seconds(method, config)) if on_zero_gpu() else None
        yield from within_seconds(run_method(method, problem, parts.small, parts.big, parts.reward, config), budget)

    @property
    def reward_scale(self) -> RewardScale:
        """Where the reward's values lie: the loaded reward's scale, or before loading the one its spec declares."""
        loaded = self.loader.value
        return loaded.reward.scale if loaded is not None else reward_scale(self.preset.reward)

    def get(self) -> Components:
        """The loaded parts; a part that fails to load raises a page message naming it and why."""
        return self.loader.get()
