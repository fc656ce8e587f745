"""The ZeroGPU wiring, with a stand-in `spaces` module in place of the real one, on the real app and tiny models."""

import dataclasses
import itertools
import json
import time
from importlib import resources

import pytest
import torch
from gradio_client import Client
from packaging.requirements import Requirement
from transformers import Qwen2Config, Qwen2ForCausalLM

import app  # noqa: F401  (its module-level demo is built here, off ZeroGPU, before the tests switch it on)
import gsi_ui.gpu as gpu
import gsi_ui.runs as runs
from support import launch
from gsi_core.methods import METHODS
from gsi_core.qwen_prm import Qwen2ForProcessRewardModel
from testkit.tiny import REPO

PROBLEM = "Natalia sold 48 clips in April and half as many in May. How many clips did she sell?"


class StandInSpaces:
    """What `spaces.GPU(duration=…)` does on ZeroGPU, as far as the app can tell: each call of a decorated
    generator asks for `duration(*args)` seconds first; it records that, and whether a call is running now."""

    def __init__(self):
        self.calls: list[tuple[str, int]] = []  # (method, seconds asked for)
        self.sizes: set[str | None] = set()
        self.running = 0

    def GPU(self, duration, size=None):
        def decorate(task):
            def decorated(*args, **kwargs):
                self.calls.append((args[0], duration(*args, **kwargs)))
                self.sizes.add(size)
                self.running += 1
                try:
                    yield from task(*args, **kwargs)
                finally:
                    self.running -= 1

            return decorated

        return decorate


def placed(preset):
    return [spec for spec in (preset.small, preset.big, preset.reward.model) if spec is not None]


def preset_on_cpu(preset):
    on_cpu = {role: dataclasses.replace(getattr(preset, role), device="cpu", dtype="float32")
              for role in ("small", "big")}
    return dataclasses.replace(preset, **on_cpu)


@pytest.fixture
def zero_gpu_app(monkeypatch, tiny_presets_file):
    spaces = StandInSpaces()
    loads = []

    def load_outside_gpu_calls(preset):
        """Records where the app places each model, then loads them on this machine's CPU."""
        loads.append((spaces.running, [(spec.device, spec.dtype) for spec in placed(preset)]))
        return load_components(preset_on_cpu(preset))

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
    # loaded at start-up, before and outside any GPU call, each model placed on cuda by name, in bf16 unless its
    # preset names a dtype (the tiny preset's π_B: float32)
    assert loads == [(0, [("cuda", "bfloat16"), ("cuda", "float32")])] and spaces.calls == []
    for n, max_steps in ((8, 10), (2, 20)):
        assert client.predict(PROBLEM, "gsi", n, n, 20, 0.5, 0.7, 0, max_steps, api_name="/run")[4].startswith("**Done**")
    progress, *_ = client.predict(["gsi", "sample-small"], PROBLEM, 2, 4, 20, 0.5, 0.7, 0, 10, api_name="/compare")
    assert progress.startswith("**Done** — 2 of 2")
    assert spaces.calls == [("gsi", gpu.gpu_seconds("gsi", 8, 10)), ("gsi", gpu.gpu_seconds("gsi", 2, 20)),
                            ("gsi", gpu.gpu_seconds("gsi", 4, 10)), ("sample-small", gpu.gpu_seconds("sample-small", 4, 10))]
    seconds = [s for _, s in spaces.calls]
    assert len(set(seconds)) == 4 and all(gpu.GPU_SECONDS_MIN <= s <= gpu.longest_duration() for s in seconds)
    assert spaces.sizes == {"large"}  # half a card: the paper's models fit it (test below)
    assert len(loads) == 1  # nothing loaded again, least of all inside a GPU call


def test_the_duration_grows_with_n_the_step_cap_and_the_method_and_stays_within_the_bound():
    assert all(info.step_work >= 1 for info in METHODS.values())  # every method declares its step's work
    assert gpu.gpu_seconds("gsi", 4, 10) < gpu.gpu_seconds("gsi", 8, 10) < gpu.gpu_seconds("gsi", 8, 12)
    assert gpu.gpu_seconds("sample-small", 8, 20) < gpu.gpu_seconds("sbon-small", 8, 20) < gpu.gpu_seconds("gsi", 8, 20)
    # the paper preset's default example (n = 16, 45 steps) and the largest settings the page allows
    assert gpu.gpu_seconds("gsi", 16, 45) == gpu.gpu_seconds("gsi", 32, 45) == int(gpu.longest_duration())
    assert gpu.gpu_seconds("gsi", None, "x") == gpu.GPU_SECONDS_MIN  # bad input: refused inside the call
    # what `spaces` makes of the longest: the slice held for a not-signed-in visitor's whole daily quota, no more
    assert gpu.held_seconds(gpu.gpu_seconds("gsi", 16, 45)) == gpu.DAILY_QUOTA_SECONDS["not signed in"] == 120


def test_the_constants_match_the_pinned_spaces_package_on_zero_gpus_cards():
    """zero/configs.json of the `spaces` that requirements.txt pins: the factor a `large` call's duration is
    scaled by on the RTX Pro 6000, and the size of a Space's models above which `spaces` asks for `xlarge`."""
    configs = json.loads(resources.files("spaces.zero").joinpath("configs.json").read_text())
    card = next(c for c in configs if c["model"].startswith("NVIDIA RTX PRO 6000 Blackwell"))
    assert card["duration_factor"] == gpu.LARGE_DURATION_FACTOR
    paper_bytes = 2 * sum(p.numel() for p in paper_models_on_meta())  # bf16
    assert 30e9 < paper_bytes < card["xlarge_threshold"] < 48e9  # about 33 GB: half a card, and spaces keeps it there


def paper_models_on_meta():
    """The paper preset's three models (Qwen2.5-Math 1.5B and 7B Instruct, Qwen2.5-Math-PRM-7B) built from their
    published configs on the meta device: their parameters, without their weights."""
    small = Qwen2Config(hidden_size=1536, intermediate_size=8960, num_hidden_layers=28, num_attention_heads=12,
                        num_key_value_heads=2, vocab_size=151936, tie_word_embeddings=True)
    big = Qwen2Config(hidden_size=3584, intermediate_size=18944, num_hidden_layers=28, num_attention_heads=28,
                      num_key_value_heads=4, vocab_size=152064, tie_word_embeddings=False)
    with torch.device("meta"):
        models = [Qwen2ForCausalLM(small), Qwen2ForCausalLM(big), Qwen2ForProcessRewardModel(big)]
    return [p for model in models for p in model.parameters()]


def test_the_torch_range_holds_every_version_zero_gpu_lists():
    line = next(line for line in (REPO / "requirements.txt").read_text().splitlines() if line.startswith("torch"))
    allowed = Requirement(line).specifier
    assert all(allowed.contains(version) for version in ("2.8.0", "2.9.1", "2.10.0", "2.11.0"))


def test_a_run_ends_between_steps_before_its_gpu_call_would_be_aborted():
    def steps():
        for index in range(5):
            time.sleep(0.01)
            yield index

    assert list(gpu.within_seconds(steps(), None)) == [0, 1, 2, 3, 4]
    assert list(gpu.within_seconds(steps(), gpu.GPU_SECONDS_MARGIN)) == [0]  # no time left after the first step


def test_a_run_stopped_at_the_gpu_time_limit_says_so_in_the_page(zero_gpu_app, monkeypatch):
    """The run handler's last branch, through the real page: a stand-in clock makes every step seem to take 30 s,
    so the run's GPU call runs out of time between steps, and the status line says why and what to lower."""
    client, spaces, _ = zero_gpu_app
    ticks = itertools.count(step=30.0)
    monkeypatch.setattr(gpu, "clock", lambda: next(ticks))
    status = client.predict(PROBLEM, "gsi", 2, 2, 20, 0.5, 0.7, 0, 20, api_name="/run")[4]
    assert status.startswith("**Stopped at the GPU time limit** after "), status
    assert int(status.split(" after ")[1].split()[0]) < 20  # steps done: fewer than the cap
    assert f"at most {gpu.HELD_SECONDS_LIMIT} s" in status and "lower n_small, n_big or the step cap" in status
    assert spaces.calls == [("gsi", gpu.gpu_seconds("gsi", 2, 20))]
