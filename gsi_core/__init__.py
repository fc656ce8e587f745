"""gsi_core: the Guided Speculative Inference engine (models, rewards, decoding methods and their events)."""

from .config import ConfigError, DecodingConfig, Preset, get_preset, load_presets
from .events import Candidate, Event, RunStarted, RunSummary, StageTimes, StepEvent
from .methods import METHODS, run_method
from .models import Draft, Prompt, StepModel, TransformersStepModel
from .rewards import ProcessRewardModel, RewardModel, StepVerifier

__all__ = [
    "ConfigError", "DecodingConfig", "Preset", "get_preset", "load_presets",
    "Candidate", "Event", "RunStarted", "RunSummary", "StageTimes", "StepEvent",
    "METHODS", "run_method",
    "Draft", "Prompt", "StepModel", "TransformersStepModel",
    "ProcessRewardModel", "RewardModel", "StepVerifier",
]
