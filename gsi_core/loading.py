"""The one place specs become objects: a preset's step models and reward, in process or on vLLM servers, on the
right device and dtype. Nothing else in the engine constructs a model from a spec, so the imports run one way:
loading → models, rewards, vllm_backend → vocabulary."""

from __future__ import annotations

import dataclasses
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import torch

from . import qwen_prm
from .bf16_storage import compute_in_fp32, stored_in_bf16
# ModelSpec, OFFLINE_PREFIX and BACKENDS live in config.py (presets validate their specs there); importable here too.
from .config import BACKENDS, OFFLINE_PREFIX, ConfigError, ModelSpec, Preset, RewardSpec  # noqa: F401
from .judge import JudgeReward, judge_scale
from .models import TransformersStepModel
from .offline_weights import materialize
from .progress import LOADING, QUANTIZING, report
from .rewards import CalibratedVerifier, ProcessRewardModel, StepTokenPRM, StepVerifier
from .vllm_backend import VLLMClient, VLLMProcessRewardModel, VLLMStepModel
from .vocabulary import RewardModel, RewardScale, StepModel

_DTYPES = {"bfloat16": torch.bfloat16, "bf16": torch.bfloat16, "float16": torch.float16, "fp16": torch.float16,
           "float32": torch.float32, "fp32": torch.float32}


def resolve_device(device: str = "auto") -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bf16 matmuls natively (AVX512-BF16 or AMX); without them torch emulates bf16."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return any(flag in flags for flag in ("avx512_bf16", "amx_bf16"))


CPU_DTYPE_VARIABLE = "GSI_CPU_DTYPE"


def auto_cpu_dtype() -> torch.dtype:
    """What `auto` means on a CPU: bf16 only where the CPU computes it natively (on an AVX2-only CPU a bf16
    prefill measured 7× slower than fp32, `python scripts/bench_dtype.py`). `GSI_CPU_DTYPE=fp32|bf16` overrides
    it, so one machine can run the other kind's path (CI runs the dtype-sensitive tests both ways)."""
    forced = os.environ.get(CPU_DTYPE_VARIABLE, "").strip()
    if forced:
        if forced not in _DTYPES:
            raise ConfigError(f"{CPU_DTYPE_VARIABLE}={forced!r} is not a dtype; use one of {', '.join(_DTYPES)}")
        return _DTYPES[forced]
    return torch.bfloat16 if cpu_has_native_bf16() else torch.float32


def resolve_dtype(dtype: str, device: torch.device) -> torch.dtype:
    """bf16 on GPUs that support it (fp16 otherwise); on a CPU, `auto_cpu_dtype`."""
    if dtype == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return auto_cpu_dtype() if device.type == "cpu" else torch.float32
    if dtype not in _DTYPES:
        raise ConfigError(f"unknown dtype {dtype!r}; use one of {', '.join(_DTYPES)} or auto")
    return _DTYPES[dtype]


def resolve_path(spec: ModelSpec) -> str:
    """Where `from_pretrained` should look: offline weights are joined and converted on first use."""
    if spec.model.startswith(OFFLINE_PREFIX):
        return str(materialize(spec.label))
    return spec.model


def load_pretrained(spec: ModelSpec, model_class: Any, bf16_storage: bool = False) -> tuple[Any, Any]:
    """Load (model, tokenizer) for `spec` with `model_class`, on its device and dtype, in eval mode.
    `bf16_storage`: fp32 on a CPU from a bf16 checkpoint keeps its linear weights in bf16 (see bf16_storage.py)."""
    from transformers import AutoTokenizer

    device = resolve_device(spec.device)
    dtype = resolve_dtype(spec.dtype, device)
    path = resolve_path(spec)
    fp32_compute = bf16_storage and device.type == "cpu" and dtype == torch.float32 and stored_in_bf16(path)
    report(LOADING, spec.label)
    print(f"[gsi] loading {spec.label} on {device} ({str(dtype).removeprefix('torch.')}"
          f"{', linear weights stored in bf16' if fp32_compute else ''})", file=sys.stderr)
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=spec.trust_remote_code)
        model = model_class.from_pretrained(path, dtype=torch.bfloat16 if fp32_compute else dtype,
                                            trust_remote_code=spec.trust_remote_code)
    except OSError as error:
        raise OSError(f"could not load model {spec.model!r}: {error}") from error
    return (compute_in_fp32(model) if fp32_compute else model).to(device).eval(), tokenizer


def load_step_model(spec: ModelSpec) -> StepModel:
    from transformers import AutoModelForCausalLM

    if spec.backend == "vllm":
        return connect_vllm_model(spec)
    # With int8 copies decoding, the loaded weights serve prefill and scoring only: bf16 storage costs them little.
    model, tokenizer = load_pretrained(spec, AutoModelForCausalLM, bf16_storage=spec.int8_decode)
    int8_decode = int8_decode_applies(spec, model.device)
    if int8_decode:
        report(QUANTIZING, spec.label)
    return TransformersStepModel(model, tokenizer, name=spec.label, int8_decode=int8_decode)


def int8_decode_applies(spec: ModelSpec, device: torch.device) -> bool:
    """Whether `spec`'s int8 decoding runs on `device`. A preset written for a CPU (offline-cpu, hub-cpu) may load
    on a GPU: there it is ignored, and said so once, since its int8 kernel is a CPU kernel."""
    if spec.int8_decode and device.type != "cpu":
        print(f"[gsi] {spec.label}: int8_decode ignored on {device}: it runs on CPUs only (torch's int8 weight "
              f"kernel is a CPU kernel); decoding uses the loaded {device.type} weights", file=sys.stderr)
    return spec.int8_decode and device.type == "cpu"


def connect_vllm(spec: ModelSpec) -> tuple[Any, Any]:
    """(client, tokenizer) for a model on a vLLM server, once the server answers and serves it. The tokenizer
    loads locally from `tokenizer` (default `model`): it builds the inputs the same way in-process does."""
    from transformers import AutoTokenizer

    client = VLLMClient(spec.url, spec.timeout)
    client.check_serves(spec.model)
    print(f"[gsi] {spec.label} on vLLM at {client.url}", file=sys.stderr)
    tokenizer = AutoTokenizer.from_pretrained(spec.tokenizer_source, trust_remote_code=spec.trust_remote_code)
    return client, tokenizer


def connect_vllm_model(spec: ModelSpec) -> StepModel:
    """A causal LM on a vLLM server; of its weights only the config loads, for the parameter count."""
    from transformers import AutoConfig, AutoModelForCausalLM, GenerationConfig

    client, tokenizer = connect_vllm(spec)
    source = spec.tokenizer_source
    config = AutoConfig.from_pretrained(source, trust_remote_code=spec.trust_remote_code)
    with torch.device("meta"):  # the parameter count (for FLOPs estimates) without allocating weights
        skeleton = AutoModelForCausalLM.from_config(config, trust_remote_code=spec.trust_remote_code)
    try:  # vLLM stops at the generation config's EOS ids, like the in-process backend
        eos = GenerationConfig.from_pretrained(source).eos_token_id
    except OSError:
        eos = getattr(config, "eos_token_id", None)
    return VLLMStepModel(client, spec.model, tokenizer, name=spec.label,
                         num_parameters=sum(p.numel() for p in skeleton.parameters()), eos_ids=eos)


def load_reward(reward: RewardSpec | dict[str, Any], models: Mapping[str, StepModel] | None = None) -> RewardModel:
    """Build the reward a preset names (a `RewardSpec`, or its mapping as a preset writes it): the step verifier,
    a PRM in this process, a PRM on a vLLM server, or a judge that asks one of the loaded `models` (by role)."""
    reward = reward if isinstance(reward, RewardSpec) else RewardSpec.from_config(reward)
    if reward.kind == "judge":
        return load_judge(reward, models or {})
    if reward.kind == "calibrated-verifier":
        return CalibratedVerifier() if reward.weights is None else CalibratedVerifier(reward.weights)
    spec = reward.model
    if spec is None:
        return StepVerifier()
    if spec.backend == "vllm":
        client, tokenizer = connect_vllm(spec)
        return VLLMProcessRewardModel(client, spec.model, tokenizer, step_token=reward.step_token, name=spec.label)
    spec, model_class = prm_class(spec)
    model, tokenizer = load_pretrained(spec, model_class)
    return ProcessRewardModel(model, tokenizer, name=spec.label, step_token=reward.step_token)


def reward_scale(reward: RewardSpec) -> RewardScale:
    """The scale of the reward a spec names, without loading a model: a model-free reward is built (at once),
    a PRM's is the one its class declares, a judge's the one its verifier gives."""
    if reward.kind == "judge":
        return judge_scale(reward.verifier)
    return load_reward(reward).scale if reward.model is None else StepTokenPRM.scale


def prm_class(spec: ModelSpec) -> tuple[ModelSpec, Any]:
    """The spec to load a PRM with, and its class: transformers' own code wherever it has the architecture
    (Qwen2.5-Math-PRM's, built in `qwen_prm`, with remote code off; a token-classification head), the
    repository's code (`AutoModel`) only for another architecture whose spec opts in with `trust_remote_code`."""
    from transformers import AutoModel, AutoModelForTokenClassification, PretrainedConfig

    config, _ = PretrainedConfig.get_config_dict(spec.model)  # config.json as it is: no code of its own runs
    architecture = (config.get("architectures") or [""])[0]
    if architecture == qwen_prm.ARCHITECTURE:
        return dataclasses.replace(spec, trust_remote_code=False), qwen_prm.Qwen2ForProcessRewardModel
    if architecture.endswith("ForTokenClassification"):
        return spec, AutoModelForTokenClassification
    if spec.trust_remote_code:
        return spec, AutoModel
    raise ConfigError(f"reward model {spec.model!r}: transformers has no per-token classifier for its architecture "
                      f"{architecture or '(none named)'}; set trust_remote_code: true to run the repository's code")


def load_judge(reward: RewardSpec, models: Mapping[str, StepModel]) -> JudgeReward:
    """The judge on the already-loaded model of its role (no second copy); refused where that model is not in
    this process, or its vocabulary or chat template cannot ask the question."""
    model = models.get(reward.judge)
    if model is None:
        raise ConfigError(f"the judge reward asks the loaded π_{reward.judge[0].upper()}: load the models first")
    if not isinstance(model, TransformersStepModel):
        raise ConfigError(f"the judge reward reads logits in this process; {model.name!r} is not loaded here "
                          "(a vLLM server's model cannot judge)")
    label = f"judge-{reward.judge}" + {"calibrated-verifier": "", "step-verifier": " (step-verifier cap)",
                                         "none": " (no verifier)"}[reward.verifier]
    if reward.question:
        label += f" «{reward.question[:40]}»"
    return JudgeReward(model, question=reward.question, verifier=reward.verifier, label=label)


@dataclass(frozen=True)
class Components:
    """The loaded parts a method runs on."""

    small: StepModel
    big: StepModel
    reward: RewardModel


def load_components(preset: Preset) -> Components:
    """Load a preset's π_S, π_B and reward. Fails with the name of the part that did not load; a reward with no
    model of its own loads first, so a bad setting of it fails before minutes of model loading."""

    def reward(models: Mapping[str, StepModel] | None = None) -> RewardModel:
        try:
            return load_reward(preset.reward, models)
        except Exception as error:
            raise RuntimeError(f"reward ({preset.reward.to_config()}) failed to load: {error}") from error

    model_free = reward() if preset.reward.model is None and preset.reward.kind != "judge" else None
    parts = {}
    for role, spec in (("small", preset.small), ("big", preset.big)):
        try:
            parts[role] = load_step_model(spec)
        except Exception as error:
            raise RuntimeError(f"π_{role[0].upper()} ({spec.model}) failed to load: {error}") from error
    return Components(parts["small"], parts["big"], model_free or reward(parts))
