"""The engine and the app on a real CUDA GPU, with tiny local models in bf16: every method, the paper PRM's layout,
int8 decoding left to CPUs, the run handler through gradio_client, and the real `spaces` package's start-up.
Skipped where torch sees no CUDA (tests/conftest.py)."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from gradio_client import Client

from gsi_core import DecodingConfig, StepVerifier, TransformersStepModel
from gsi_core.config import ModelSpec
from gsi_core.events import RunStarted, RunSummary, StepEvent, from_json, to_json
from gsi_core.loading import load_reward, load_step_model
from gsi_core.methods import METHODS, run_method
from gsi_core.models import Prompt
from gsi_core.qwen_prm import Qwen2ForProcessRewardModel

from support import launch
from testkit.tiny import REPO, build_lm, save_vllm_prm

CUDA = torch.device("cuda")
PROBLEM = "Natalia sold 48 clips in April and half as many in May. How many clips did she sell?"
STEPS = ["In May she sold 48 / 2 = 24 clips.", "In total 48 + 24 = 72 clips. \\boxed{72}"]


def on_cuda(model):
    return model.to(CUDA, torch.bfloat16)


@pytest.fixture(scope="module")
def prm_checkpoint(tmp_path_factory, tokenizer):
    path = tmp_path_factory.mktemp("prm")
    return path, save_vllm_prm(tokenizer, seed=5, path=path)


@pytest.fixture(scope="module")
def cuda_prm(prm_checkpoint):
    return load_reward({"kind": "prm", "model": str(prm_checkpoint[0]), "device": "cuda", "dtype": "bfloat16"})


@pytest.fixture(scope="module")
def cuda_pair(tokenizer):
    return (TransformersStepModel(on_cuda(build_lm(tokenizer, seed=1, step_bias=4.0)), tokenizer, name="tiny-small"),
            TransformersStepModel(on_cuda(build_lm(tokenizer, seed=2, step_bias=4.0)), tokenizer, name="tiny-big"))


@pytest.mark.parametrize("reward_kind", ["verifier", "prm"])
@pytest.mark.parametrize("method", sorted(METHODS))
def test_every_method_runs_on_cuda_in_bf16_and_its_events_survive_json(cuda_pair, cuda_prm, method, reward_kind):
    small, big = cuda_pair
    reward = StepVerifier() if reward_kind == "verifier" else cuda_prm
    config = DecodingConfig(n=4, max_steps=3, max_step_tokens=12, seed=7)
    events = list(run_method(method, PROBLEM, small, big, reward, config))
    assert isinstance(events[0], RunStarted) and isinstance(events[-1], RunSummary)
    steps = [e for e in events if isinstance(e, StepEvent)]
    assert steps and all(e.method == method for e in steps)
    for candidate in (c for e in steps for c in (*e.candidates, *e.fallback)):
        assert candidate.reward is None or 0.0 <= candidate.reward <= 1.0
        assert all(v is None or math.isfinite(v) for v in (candidate.logp_small, candidate.logp_big))
    assert [from_json(to_json(e)) for e in events] == events
    assert small.model.device.type == "cuda" and small.model.dtype == torch.bfloat16


def test_the_paper_prm_layout_scores_on_cuda_as_on_the_cpu(prm_checkpoint, cuda_prm):
    path, reference = prm_checkpoint
    assert type(cuda_prm.model) is Qwen2ForProcessRewardModel and cuda_prm.model.device.type == "cuda"
    on_cpu = load_reward({"kind": "prm", "model": str(path), "device": "cpu", "dtype": "float32"})
    assert cuda_prm.score(PROBLEM, STEPS) == pytest.approx(on_cpu.score(PROBLEM, STEPS), abs=2e-2)  # bf16 rounding


def test_int8_decoding_is_ignored_for_a_preset_and_refused_by_hand_on_cuda(tiny_presets_file, tokenizer, capfd):
    small_dir = Path(tiny_presets_file).parent / "small"
    model = load_step_model(ModelSpec(model=str(small_dir), device="cuda", dtype="bfloat16", int8_decode=True))
    assert "int8_decode ignored on cuda" in capfd.readouterr().err
    assert model.decoder is model.model and model.device.type == "cuda"
    drafts = model.draft(Prompt(PROBLEM), [], 2, temperature=0.7, max_tokens=8, seed=0)
    assert len(drafts) == 2 and all(d.token_ids for d in drafts)
    with pytest.raises(ValueError, match="int8_decode runs on CPUs only"):
        TransformersStepModel(model.model, tokenizer, int8_decode=True)


def cuda_presets(tiny_presets_file: str, device: str) -> str:
    """The tiny preset's models on `device` (`cuda`, or `auto` for ZeroGPU's placement to name it)."""
    root = Path(tiny_presets_file).parent
    path = root / f"presets-{device}.yaml"
    path.write_text(
        "presets:\n"
        "  tiny-cuda:\n"
        f"    small: {{model: {root / 'small'}, device: {device}}}\n"
        f"    big: {{model: {root / 'big'}, device: {device}}}\n"
        f"    reward: {{kind: prm, model: {root / 'prm'}, device: {device}}}\n"
        "    decoding: {n: 3, max_steps: 3, max_step_tokens: 6}\n")
    return str(path)


def test_the_apps_run_handler_streams_a_run_on_cuda(tiny_presets_file, capfd):
    demo = launch("tiny-cuda", cuda_presets(tiny_presets_file, "cuda"))
    try:
        client = Client(demo.local_url, verbose=False)
        result = client.predict(PROBLEM, "gsi", 3, 3, 20, 0.5, 0.7, 0, 3, api_name="/run")
        assert result[4].startswith("**Done**")
    finally:
        demo.close()
    assert "on cuda (bfloat16)" in capfd.readouterr().err


def test_the_real_spaces_package_starts_the_app_with_its_models_on_cuda(tiny_presets_file, tmp_path_factory):
    """A stand-in ZeroGPU Space: `SPACES_ZERO_GPU` set, the real `spaces` package imported first and patching
    torch, the app built at import with its models placed on cuda, and `spaces` packing what was placed there
    (what it does at launch). Its GPU calls need ZeroGPU's scheduler, which exists only on the platform."""
    script = REPO / "tests" / "gpu" / "zero_gpu_start.py"
    scratch = tmp_path_factory.mktemp("zerogpu")
    env = {**os.environ, "PYTHONPATH": str(REPO), "SPACES_ZERO_GPU": "true",
           "SPACES_ZERO_DEVICE_API_URL": "http://127.0.0.1:9",  # nothing answers: no GPU call is made
           "GSI_PRESETS_FILE": cuda_presets(tiny_presets_file, "auto"), "GSI_PRESET": "tiny-cuda",
           # where `spaces` packs the tensors, and the only files its clean-up may remove (not the hub cache)
           "ZEROGPU_OFFLOAD_DIR": str(scratch / "tensors"), "ZEROGPU_MMAP_AUTOPRUNE_PATTERN": str(scratch / "none/*")}
    done = subprocess.run([sys.executable, str(script)], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["loads"] == 1  # at import, before any visitor
    assert report["devices"] == ["cuda"] and report["dtypes"] == ["torch.bfloat16"]  # auto → cuda, bf16 by name
    assert report["placed_bytes"] == report["packed_bytes"] > 0  # spaces recorded every tensor placed on cuda
