"""The ZeroGPU wiring, with a stand-in `spaces` module in place of the real one, on the real app and tiny models."""

import time

import pytest
from gradio_client import Client

import app  # noqa: F401  (its module-level demo is built here, off ZeroGPU, before the tests switch it on)
import gsi_ui.gpu as gpu
import gsi_ui.runs as runs
from support import launch
from gsi_core.methods import METHODS

PROBLEM = "Natalia sold 48 clips in April and half as many in May. How many clips did she sell?"


class StandInSpaces:
    """What `spaces.GPU(duration=…)` does on ZeroGPU, as far as the app can tell: each call of a decorated
    generator asks for `duration(*args)` seconds first; it records that, and whether a call is running now."""

    def __init__(self):
        self.calls: list[tuple[str, int]] = []  # (method, seconds asked for)
        self.running = 0

    def GPU(self, duration):
        def decorate(task):
            def decorated(*args, **kwargs):
                self.calls.append((args[0], duration(*args, **kwargs)))
                self.running += 1
                try:
                    yield from task(*args, **kwargs)
                finally:
                    self.running -= 1

            return decorated

        return decorate


@pytest.fixture
def zero_gpu_app(monkeypatch, tiny_presets_file):
    spaces = StandInSpaces()
    loads = []

    def load_outside_gpu_calls(preset):
        loads.append(spaces.running)
        return load_components(preset)

    load_components = runs.load_components
    monkeypatch.setattr(gpu, "spaces", spaces)
    monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    monkeypatch.setattr(runs, "load_components", load_outside_gpu_calls)
    demo = launch("tiny", tiny_presets_file)
    try:
        yield Client(demo.local_url, verbose=False), spaces, loads
    finally:
        demo.close()


def test_each_run_and_each_compared_method_is_one_gpu_call_sized_by_its_settings(zero_gpu_app):
    client, spaces, loads = zero_gpu_app
    assert loads == [0] and spaces.calls == []  # loaded at start-up, before and outside any GPU call
    for n, max_steps in ((8, 10), (2, 20)):
        assert client.predict(PROBLEM, "gsi", n, n, 20, 0.5, 0.7, 0, max_steps, api_name="/run")[4].startswith("**Done**")
    progress, *_ = client.predict(["gsi", "sample-small"], PROBLEM, 2, 4, 20, 0.5, 0.7, 0, 10, api_name="/compare")
    assert progress.startswith("**Done** — 2 of 2")
    assert spaces.calls == [("gsi", gpu.gpu_seconds("gsi", 8, 10)), ("gsi", gpu.gpu_seconds("gsi", 2, 20)),
                            ("gsi", gpu.gpu_seconds("gsi", 4, 10)), ("sample-small", gpu.gpu_seconds("sample-small", 4, 10))]
    seconds = [s for _, s in spaces.calls]
    assert len(set(seconds)) == 4 and all(gpu.GPU_SECONDS_MIN <= s <= gpu.GPU_SECONDS_LIMIT for s in seconds)
    assert loads == [0]  # nothing loaded again, least of all inside a GPU call


def test_the_duration_grows_with_n_the_step_cap_and_the_method_and_stays_within_the_bound():
    assert all(info.step_work >= 1 for info in METHODS.values())  # every method declares its step's work
    assert gpu.gpu_seconds("gsi", 4, 10) < gpu.gpu_seconds("gsi", 8, 10) < gpu.gpu_seconds("gsi", 8, 12)
    assert gpu.gpu_seconds("sample-small", 8, 20) < gpu.gpu_seconds("sbon-small", 8, 20) < gpu.gpu_seconds("gsi", 8, 20)
    # the paper preset's default example (n = 16, 45 steps) and the largest settings the page allows
    assert gpu.gpu_seconds("gsi", 16, 45) == gpu.gpu_seconds("gsi", 32, 45) == gpu.GPU_SECONDS_LIMIT
    assert gpu.gpu_seconds("gsi", None, "x") == gpu.GPU_SECONDS_MIN  # bad input: refused inside the call


def test_a_run_ends_between_steps_before_its_gpu_call_would_be_aborted():
    def steps():
        for index in range(5):
            time.sleep(0.01)
            yield index

    assert list(gpu.within_seconds(steps(), None)) == [0, 1, 2, 3, 4]
    assert list(gpu.within_seconds(steps(), gpu.GPU_SECONDS_MARGIN)) == [0]  # no time left after the first step
