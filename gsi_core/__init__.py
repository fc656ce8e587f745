"""gsi_core: the Guided Speculative Inference engine (models, rewards, decoding methods and their events).

Names are loaded on first use (PEP 562), so `import gsi_core.theory` or `gsi_core.events` does not pull in
torch and transformers: only `TransformersStepModel` and the rewards need them.
"""

from importlib import import_module

_HOMES = {
    "config": ("ConfigError", "DecodingConfig", "Preset", "get_preset", "load_presets"),
    "events": ("Candidate", "Event", "RunStarted", "RunSummary", "StageTimes", "StepEvent"),
    "methods": ("METHODS", "run_method"),
    "vocabulary": ("Draft", "Prompt", "StepModel", "RewardModel"),
    "models": ("TransformersStepModel",),
    "rewards": ("ProcessRewardModel", "StepVerifier"),
}
_MODULE_OF = {name: module for module, names in _HOMES.items() for name in names}
__all__ = list(_MODULE_OF)


def __getattr__(name: str):
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{_MODULE_OF[name]}", __name__), name)
    globals()[name] = value
    return value
