"""ZeroGPU, by its documentation: each model run is one `spaces.GPU` call whose duration is computed from the run.

On a ZeroGPU Space (`SPACES_ZERO_GPU` set) a decorated call borrows a GPU in a forked worker for at most its
duration, charged to the visitor's daily quota. The models are placed on `cuda` at the module's top level, as the
documentation asks: app.py builds the demo at import, and `zero_gpu_placement` names the device outright.
Elsewhere `spaces.GPU` returns the function unchanged, and without the `spaces` package this module does the same.
app.py imports it before torch: on ZeroGPU, `import spaces` must come first. The facts below, with their sources
and what is estimated rather than measured: docs/zerogpu.md.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Iterable, Iterator

try:
    import spaces
except ImportError:
    spaces = None

from gsi_core.config import ModelSpec, Preset  # noqa: E402  (after `spaces`, which must come before torch on ZeroGPU)
from gsi_core.methods import METHODS  # noqa: E402

# The cards are NVIDIA RTX Pro 6000 Blackwell (96 GB). A call gets `large`, half a card (48 GB), unless it asks for
# `xlarge`, the whole card, charged at 2×. The paper preset's three models take about 33 GB in bf16, so `large`.
GPU_SIZE = "large"
DAILY_QUOTA_SECONDS = {"not signed in": 120, "free": 300, "PRO": 2400}
# The pinned `spaces` (0.51.3, zero/configs.json) multiplies a `large` call's duration by 1.5 on these cards before
# it asks the scheduler: the slice is held, and the quota checked, for 1.5 × the duration the app gives. On ZeroGPU
# `duration_factor` reads the package's own value for the card it finds.
LARGE_DURATION_FACTOR = 1.5
# No call may hold a slice longer than a not-signed-in visitor's whole daily quota, so anyone can run the default
# example; a longer run ends between steps when its call's time is nearly up. 120 s held is 80 s given.
HELD_SECONDS_LIMIT = DAILY_QUOTA_SECONDS["not signed in"]
GPU_SECONDS_MIN = 15
GPU_SECONDS_MARGIN = 5  # stop a run this long before its call would be aborted
clock = time.perf_counter  # what a run's GPU time is read from (a test puts a stand-in clock here)
# Estimates, not measurements, for the paper's models on a `large` slice: π_S drafting one step, plus each further
# candidate in its batch (the earlier estimates for an H200 slice × the 1.5 by which `spaces` scales a half card's
# durations); each method declares its step's work in units of that (`MethodInfo.step_work`).
STEP_SECONDS = 1.5
CANDIDATE_SECONDS = 0.075


def on_zero_gpu() -> bool:
    """Whether this process runs on a ZeroGPU Space (the flag the `spaces` package itself reads)."""
    return os.environ.get("SPACES_ZERO_GPU", "").lower() in ("1", "t", "true")


def duration_factor() -> float:
    """What `spaces` multiplies a `large` call's duration by: its own value for the card on a ZeroGPU Space (1.5 on
    the RTX Pro 6000, 1 on the H200 slice it replaced), `LARGE_DURATION_FACTOR` elsewhere."""
    if spaces is None or not on_zero_gpu():
        return LARGE_DURATION_FACTOR
    from spaces.zero.config import get_config

    return float(get_config()["duration_factor"])


def gpu_seconds(method: str, n, max_steps) -> int:
    """The duration one run of `method` gives `spaces.GPU`: its step cap × a step's estimated time at this n,
    divided by the factor `spaces` multiplies it by, bounded so the slice is held at most `HELD_SECONDS_LIMIT`."""
    try:
        n, max_steps = max(int(n), 1), max(int(max_steps), 1)
    except (TypeError, ValueError):  # bad input is refused inside the call; ask for the least
        return GPU_SECONDS_MIN
    work = METHODS[method].step_work if method in METHODS else max(m.step_work for m in METHODS.values())
    estimate = max_steps * work * (STEP_SECONDS + CANDIDATE_SECONDS * (n - 1))
    return int(min(max(estimate / duration_factor(), GPU_SECONDS_MIN), longest_duration()))


def longest_duration() -> float:
    """The longest duration a call gives `spaces.GPU`: one that holds the slice for `HELD_SECONDS_LIMIT`."""
    return HELD_SECONDS_LIMIT / duration_factor()


def held_seconds(duration: int) -> float:
    """How long a call given `duration` holds its slice before ZeroGPU aborts it."""
    return duration * duration_factor()


def gpu(duration: Callable[..., int]) -> Callable[[Callable], Callable]:
    """`spaces.GPU(duration=…, size=GPU_SIZE)` where the package is installed (a no-op off ZeroGPU), else the
    identity."""
    if spaces is None:
        return lambda function: function
    return spaces.GPU(duration=duration, size=GPU_SIZE)


def zero_gpu_placement(preset: Preset) -> Preset:
    """On ZeroGPU, `preset` with each in-process model left on `auto` placed on `cuda` in bf16, said outright:
    the models load at the module's top level, where `spaces` records what is put on cuda (its patched torch
    would answer `auto`'s questions too, but the documentation asks for the device by name). Elsewhere unchanged."""
    if not on_zero_gpu():
        return preset

    def on_cuda(spec: ModelSpec | None) -> ModelSpec | None:
        if spec is None or spec.backend != "transformers":
            return spec
        return dataclasses.replace(spec, device="cuda" if spec.device == "auto" else spec.device,
                                   dtype="bfloat16" if spec.dtype == "auto" else spec.dtype)

    reward = dataclasses.replace(preset.reward, model=on_cuda(preset.reward.model))
    return dataclasses.replace(preset, small=on_cuda(preset.small), big=on_cuda(preset.big), reward=reward)


def within_seconds(events: Iterable, seconds: float | None) -> Iterator:
    """The events of a run, ended between steps once the next step would overrun `seconds` (None: never)."""
    started = last = clock()
    slowest = 0.0
    for event in events:
        yield event
        now = clock()
        slowest, last = max(slowest, now - last), now
        if seconds is not None and now - started + slowest > seconds - GPU_SECONDS_MARGIN:
            return
