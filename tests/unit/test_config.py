import math
from pathlib import Path

import pytest
import torch

from gsi_core.config import ConfigError, DecodingConfig, MissingServerSetting, get_preset, load_presets
from gsi_core.frontier import POINT_METHOD, load_plan, point_runs
from gsi_core.frontier_report import default_candidate, frontier_entries
from gsi_core.loading import CPU_DTYPE_VARIABLE, ModelSpec, cpu_has_native_bf16, resolve_dtype, resolve_device


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"n": 0}, "n must be a whole number from 1"),
        ({"n": 10_000}, "n must be a whole number from 1 to 128"),
        ({"beta": -1.0}, "beta must be a finite number ≥ 0"),
        ({"beta": math.nan}, "beta must be a finite number"),
        ({"threshold": math.nan}, "threshold must be a number"),
        ({"temperature": 0.0}, "temperature must be in (0, 10]"),
        ({"max_steps": 0}, "max_steps must be a whole number"),
        ({"n": 2.5}, "n must be a whole number"),
        ({"nope": 1}, "unknown decoding setting"),
    ],
)
def test_bad_settings_are_refused_with_a_reason(changes, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        DecodingConfig().replace(**changes)


def test_defaults_are_the_papers():
    config = DecodingConfig()
    assert (config.beta, config.threshold, config.n, config.temperature, config.max_steps) == (20.0, 0.5, 16, 0.7, 45)
    assert config.rsd_threshold == 0.7


def test_infinite_thresholds_are_allowed():
    assert DecodingConfig(threshold=-math.inf).threshold == -math.inf


def test_presets_file_has_the_required_presets():
    presets = load_presets()
    offline, paper = presets["offline-cpu"], presets["paper"]
    assert offline.small.model.startswith("offline:")
    assert offline.reward.to_config() == {"kind": "judge", "judge": "big"}  # chosen from its frontier, below
    assert offline.decoding.n == 4 and offline.decoding.beta == 20.0  # only overrides are listed
    assert paper.small.model == "Qwen/Qwen2.5-Math-1.5B-Instruct"
    assert paper.big.model == "Qwen/Qwen2.5-Math-7B-Instruct"
    assert paper.reward.model.model == "Qwen/Qwen2.5-Math-PRM-7B"
    assert (paper.decoding.n, paper.decoding.beta, paper.decoding.threshold) == (16, 20.0, 0.5)
    assert paper.decoding.reward_floor == 0.1 and offline.decoding.reward_floor is None  # the official code's stop


def test_the_offline_default_is_the_point_its_frontier_chooses():
    """Issue 32: the offline preset runs the committed frontier's default (`report`'s rule), whatever it is."""
    frontier = Path(__file__).parents[2] / "assets" / "frontier"
    chosen = default_candidate(frontier_entries(frontier / "gsm8k-offline-cpu"))
    plan = load_plan(frontier / "gsm8k-offline-cpu-plan.yaml")
    offline = get_preset("offline-cpu")
    point = point_runs(plan, next(p for p in plan.points if p.name == chosen.label), offline)[POINT_METHOD]
    assert point.reward == offline.reward
    for setting in ("threshold", "beta", "temperature", "step_delimiter"):
        assert getattr(offline.decoding, setting) == getattr(point.config, setting)
    for role in ("small", "big"):
        assert offline.decoding.candidates(role) == point.config.candidates(role)


def test_an_n_given_over_a_preset_sets_both_models_unless_their_own_n_is_given():
    preset = DecodingConfig(n=4, n_small=2)
    assert preset.override(n=3).candidates("small") == 3 and preset.override(n=3).n_small is None
    assert preset.override(n=3, n_small=1).candidates("small") == 1
    assert preset.override(threshold=0.2).candidates("small") == 2  # nothing about n: the preset's stands


def test_int8_decoding_is_on_in_the_cpu_presets_and_a_spec_turns_it_off():
    presets = load_presets()
    for name in ("offline-cpu", "hub-cpu"):
        assert presets[name].small.int8_decode and presets[name].big.int8_decode
    assert not presets["paper"].small.int8_decode
    spec = ModelSpec.from_config({"model": "offline:x", "int8_decode": False})
    assert not spec.int8_decode and spec.to_config() == {"model": "offline:x"}
    assert ModelSpec.from_config({"model": "x", "int8_decode": True}).to_config() == {"model": "x", "int8_decode": True}
    with pytest.raises(ConfigError, match="int8_decode must be true or false"):
        ModelSpec.from_config({"model": "x", "int8_decode": "yes"})
    with pytest.raises(ConfigError, match="int8_decode is for in-process models"):
        ModelSpec.from_config({"model": "x", "int8_decode": True, "backend": "vllm", "url": "http://s"})


def test_preset_typos_are_refused(tmp_path):
    path = tmp_path / "presets.yaml"
    path.write_text("presets:\n  x:\n    small: a\n    big: b\n    decoding: {betta: 3}\n")
    with pytest.raises(ConfigError, match="preset 'x': unknown decoding setting"):
        load_presets(path)
    path.write_text("presets:\n  x:\n    small: a\n    big: b\n")
    with pytest.raises(ConfigError, match="unknown preset 'y'; choose one of: x"):
        get_preset("y", path)


def test_default_preset_is_offline_without_a_gpu(monkeypatch):
    monkeypatch.delenv("GSI_PRESET", raising=False)
    assert get_preset().name == ("paper" if torch.cuda.is_available() else "offline-cpu")
    monkeypatch.setenv("GSI_PRESET", "hub-cpu")
    assert get_preset().name == "hub-cpu"


def test_model_specs_and_device_choice():
    assert ModelSpec.from_config("Qwen/x") == ModelSpec(model="Qwen/x")
    assert ModelSpec.from_config({"model": "/m", "dtype": "float32"}).dtype == "float32"
    with pytest.raises(ConfigError, match="unknown keys"):
        ModelSpec.from_config({"model": "/m", "gpu": True})
    remote = ModelSpec.from_config({"model": "Qwen/x", "backend": "vllm", "url": "http://h:8000", "timeout": 30})
    assert (remote.backend, remote.url, remote.timeout) == ("vllm", "http://h:8000", 30)
    with pytest.raises(ConfigError, match="the vllm backend needs the server's url"):
        ModelSpec.from_config({"model": "Qwen/x", "backend": "vllm"})
    with pytest.raises(ConfigError, match="unknown backend 'tgi'"):
        ModelSpec.from_config({"model": "Qwen/x", "backend": "tgi", "url": "http://h:8000"})
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert str(resolve_dtype("fp32", resolve_device("cpu"))) == "torch.float32"
    with pytest.raises(ConfigError, match="unknown dtype"):
        resolve_dtype("int3", resolve_device("cpu"))


def test_auto_cpu_dtype_follows_the_cpu_unless_forced(monkeypatch):
    monkeypatch.delenv(CPU_DTYPE_VARIABLE, raising=False)
    native = torch.bfloat16 if cpu_has_native_bf16() else torch.float32
    assert resolve_dtype("auto", resolve_device("cpu")) == native
    for forced, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        monkeypatch.setenv(CPU_DTYPE_VARIABLE, forced)
        assert resolve_dtype("auto", resolve_device("cpu")) == dtype
        assert resolve_dtype("fp16", resolve_device("cpu")) == torch.float16  # a spec's own dtype still wins
    monkeypatch.setenv(CPU_DTYPE_VARIABLE, "int3")
    with pytest.raises(ConfigError, match="GSI_CPU_DTYPE='int3' is not a dtype"):
        resolve_dtype("auto", resolve_device("cpu"))


@pytest.mark.parametrize(
    "body, message",
    [
        ("small: {model: a, gpu: true}\n    big: b", "preset 'x': model spec: unknown keys \\['gpu'\\]"),
        ("small: a\n    big: {model: b, backend: vllm}", "preset 'x': model spec .* needs the server's url"),
        ("small: a\n    big: b\n    reward: {kind: oracle}", "preset 'x': unknown reward kind 'oracle'"),
        ("small: a\n    big: b\n    reward: {kind: judge, judge: prm}", "preset 'x': the judge must be one of the loaded"),
        ("small: a\n    big: b\n    reward: {kind: step-verifier, model: m}", "the step verifier takes no settings"),
        ("small: [a]\n    big: b", "preset 'x': expected a string or a mapping"),
    ],
)
def test_model_and_reward_specs_are_checked_when_presets_load(tmp_path, body, message):
    path = tmp_path / "presets.yaml"
    path.write_text(f"presets:\n  x:\n    {body}\n")
    with pytest.raises(ConfigError, match=message):
        load_presets(path)


def test_a_preset_points_at_vllm_servers():
    paper = get_preset("paper")
    served = paper.on_vllm({"small": "http://s", "big": "http://b", "reward": "http://r"}, {"big": "big-7b"})
    assert served.served and not paper.served
    assert (served.small.model, served.small.url, served.big.model) == (paper.small.model, "http://s", "big-7b")
    assert served.reward.model.backend == "vllm" and served.reward.step_token == paper.reward.step_token  # kept
    offline = get_preset("offline-cpu")
    local_reward = offline.on_vllm({"small": "http://s", "big": "http://b"}, {})
    assert local_reward.reward == offline.reward and local_reward.small.dtype == "auto"  # the verifier needs no server
    assert offline.small.int8_decode and not local_reward.small.int8_decode  # a server decodes itself
    served_prm = offline.on_vllm({"small": "http://s", "big": "http://b", "reward": "http://r"}, {"reward": "prm"})
    assert served_prm.reward.to_config() == {"kind": "prm", "model": "prm", "backend": "vllm", "url": "http://r"}
    with pytest.raises(MissingServerSetting) as missing:
        offline.on_vllm({"small": "http://s"}, {})
    assert (missing.value.role, missing.value.setting) == ("big", "url")
    with pytest.raises(MissingServerSetting) as missing:
        offline.on_vllm({"small": "http://s", "big": "http://b", "reward": "http://r"}, {})
    assert (missing.value.role, missing.value.setting) == ("reward", "model")
