"""Decoding settings and the presets of `spaces_config.yaml`: every default lives here, presets list overrides."""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

PRESETS_FILE = Path(__file__).resolve().parent.parent / "spaces_config.yaml"
SYSTEM_PROMPT = "Please reason step by step, and put your final answer within \\boxed{}."


class ConfigError(ValueError):
    """A setting a user gave is out of range; the message says which and what is allowed."""


@dataclass(frozen=True)
class DecodingConfig:
    """How one run decodes. Defaults are the paper's (β=20, u=0.5, n=16, T=0.7, ≤45 steps)."""

    n: int = 16
    beta: float = 20.0
    threshold: float = 0.5  # u: GSI accepts a draft whose tilted reward r̃ ≥ u
    rsd_threshold: float = 0.7  # RSD accepts a draft whose raw reward r ≥ this
    temperature: float = 0.7
    max_steps: int = 45
    max_step_tokens: int = 256
    seed: int = 0
    system_prompt: str = SYSTEM_PROMPT

    MAX_N = 128

    def __post_init__(self) -> None:
        _check_int("n", self.n, 1, self.MAX_N)
        _check_int("max_steps", self.max_steps, 1, 1000)
        _check_int("max_step_tokens", self.max_step_tokens, 1, 8192)
        _check_int("seed", self.seed, 0, 2**63 - 1)
        if not _is_number(self.beta) or not math.isfinite(self.beta) or self.beta < 0:
            raise ConfigError(f"beta must be a finite number ≥ 0 (got {self.beta!r}); the paper uses 20.")
        for name in ("threshold", "rsd_threshold"):
            value = getattr(self, name)
            if not _is_number(value) or math.isnan(value):
                raise ConfigError(f"{name} must be a number, ±inf allowed (got {value!r}).")
        if not _is_number(self.temperature) or not (0.0 < self.temperature <= 10.0):
            raise ConfigError(
                f"temperature must be in (0, 10] (got {self.temperature!r}); for near-greedy steps use a small value like 0.1."
            )

    def replace(self, **changes: Any) -> "DecodingConfig":
        """A copy with `changes` applied; unknown names are refused with the list of known ones."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            known = ", ".join(f.name for f in dataclasses.fields(self))
            raise ConfigError(f"unknown decoding setting(s) {sorted(unknown)}; known: {known}")
        return dataclasses.replace(self, **changes)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_int(name: str, value: Any, low: int, high: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not (low <= value <= high):
        raise ConfigError(f"{name} must be a whole number from {low} to {high} (got {value!r}).")


ROLES = ("small", "big", "reward")  # the models a preset names


@dataclass(frozen=True)
class Preset:
    """A named pair of models, a reward and decoding overrides, as written in `spaces_config.yaml`."""

    name: str
    small: dict[str, Any]
    big: dict[str, Any]
    reward: dict[str, Any]
    decoding: DecodingConfig = field(default_factory=DecodingConfig)
    description: str = ""

    @property
    def models(self) -> dict[str, dict[str, Any]]:
        """Its model specs by role."""
        return {role: getattr(self, role) for role in ROLES}

    @property
    def served(self) -> bool:
        """Whether any of its models runs on a vLLM server rather than in this process."""
        return any(spec.get("backend") == "vllm" for spec in self.models.values())


def _as_mapping(value: Any, key: str) -> dict[str, Any]:
    """`small: Qwen/x` is short for `small: {model: Qwen/x}`; `reward: step-verifier` for `{kind: …}`."""
    if isinstance(value, str):
        return {key: value}
    if isinstance(value, dict):
        return dict(value)
    raise ConfigError(f"expected a string or a mapping, got {value!r}")


def presets_file() -> Path:
    """`GSI_PRESETS_FILE` if set (a deployment's or a test's own presets), else the repo's `spaces_config.yaml`."""
    return Path(os.environ.get("GSI_PRESETS_FILE") or PRESETS_FILE)


def load_presets(path: Path | str | None = None) -> dict[str, Preset]:
    """Read every preset; unknown keys are refused so a typo never silently falls back to a default."""
    raw = yaml.safe_load(Path(path or presets_file()).read_text()) or {}
    presets = {}
    for name, body in (raw.get("presets") or {}).items():
        unknown = set(body) - {*ROLES, "decoding", "description"}
        if unknown:
            raise ConfigError(f"preset {name!r}: unknown keys {sorted(unknown)}")
        try:
            decoding = DecodingConfig().replace(**(body.get("decoding") or {}))
        except ConfigError as error:
            raise ConfigError(f"preset {name!r}: {error}") from None
        presets[name] = Preset(
            name=name,
            small=_as_mapping(body["small"], "model"),
            big=_as_mapping(body["big"], "model"),
            reward=_as_mapping(body.get("reward", "step-verifier"), "kind"),
            decoding=decoding,
            description=body.get("description", ""),
        )
    return presets


def default_preset_name() -> str:
    """`GSI_PRESET` if set; else `paper` on a GPU and the fully offline `offline-cpu` otherwise."""
    if os.environ.get("GSI_PRESET"):
        return os.environ["GSI_PRESET"]
    import torch

    return "paper" if torch.cuda.is_available() else "offline-cpu"


def get_preset(name: str | None = None, path: Path | str | None = None) -> Preset:
    presets = load_presets(path)
    name = name or default_preset_name()
    if name not in presets:
        raise ConfigError(f"unknown preset {name!r}; choose one of: {', '.join(presets)}")
    return presets[name]
