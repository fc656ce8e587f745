"""ZeroGPU, by its documentation: each model run is one `spaces.GPU` call whose duration is computed from the run.

On a ZeroGPU Space (`SPACES_ZERO_GPU` set) a decorated call borrows a GPU in a forked worker for at most
`duration` seconds, charged to the visitor's daily quota; the models are loaded at start-up, outside any call.
Elsewhere `spaces.GPU` returns the function unchanged, and without the `spaces` package this module does the same.
app.py imports it before torch: on ZeroGPU, `import spaces` must come first.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator

try:
    import spaces
except ImportError:
    spaces = None

from gsi_core.methods import METHODS  # noqa: E402  (after `spaces`, which must come before torch on ZeroGPU)

# An unauthenticated visitor's whole daily quota (free accounts have 3.5 minutes, PRO 25): no call asks more,
# so anyone can run the default example; a longer run ends between steps when its call's time is nearly up.
GPU_SECONDS_LIMIT = 120
GPU_SECONDS_MIN = 15
GPU_SECONDS_MARGIN = 5  # stop a run this long before its call would be aborted
# Estimates for the paper's models on ZeroGPU's H200 slice (not measured): π_S drafting one step, plus each
# further candidate in its batch; each method declares its step's work in units of that (`MethodInfo.step_work`).
STEP_SECONDS = 1.0
CANDIDATE_SECONDS = 0.05


def on_zero_gpu() -> bool:
    """Whether this process runs on a ZeroGPU Space (the flag the `spaces` package itself reads)."""
    return os.environ.get("SPACES_ZERO_GPU", "").lower() in ("1", "t", "true")


def gpu_seconds(method: str, n, max_steps) -> int:
    """The GPU time one run of `method` asks for: its step cap × a step's estimated time at this n, bounded."""
    try:
        n, max_steps = max(int(n), 1), max(int(max_steps), 1)
    except (TypeError, ValueError):  # bad input is refused inside the call; ask for the least
        return GPU_SECONDS_MIN
    work = METHODS[method].step_work if method in METHODS else max(m.step_work for m in METHODS.values())
    estimate = max_steps * work * (STEP_SECONDS + CANDIDATE_SECONDS * (n - 1))
    return int(min(max(estimate, GPU_SECONDS_MIN), GPU_SECONDS_LIMIT))


def gpu(duration: Callable[..., int]) -> Callable[[Callable], Callable]:
    """`spaces.GPU(duration=…)` where the package is installed (a no-op off ZeroGPU), else the identity."""
    if spaces is None:
        return lambda function: function
    return spaces.GPU(duration=duration)


def within_seconds(events: Iterable, seconds: float | None) -> Iterator:
    """The events of a run, ended between steps once the next step would overrun `seconds` (None: never)."""
    started = last = time.perf_counter()
    slowest = 0.0
    for event in events:
        yield event
        now = time.perf_counter()
        slowest, last = max(slowest, now - last), now
        if seconds is not None and now - started + slowest > seconds - GPU_SECONDS_MARGIN:
            return
