"""The engine's core vocabulary, free of torch and sympy: what a method asks of a model and of a reward.

`models.py` (transformers), `vllm_backend.py` (vLLM servers), `rewards.py` (the step verifier and PRMs) and
the toy worlds of `theory.py` implement these; the methods, the events and the UI need nothing heavier.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Protocol, Sequence

from .config import STEP_DELIMITERS, SYSTEM_PROMPT, ConfigError

STEP_END = STEP_DELIMITERS["blank-line"]  # the paper's: a step ends with the first blank line


@dataclass(frozen=True)
class Prompt:
    """The problem as the user posed it, and the system prompt every model's chat template wraps it with."""

    problem: str
    system: str = SYSTEM_PROMPT


@dataclass(frozen=True)
class Draft:
    """A sampled step. `token_ids` are in the tokenizer named by `vocab`; `logprob` is under the sampler, and
    `token_logprobs` (one per token, summing to `logprob`) and `token_texts` (the text each token adds) let the
    inspector show where two models disagree; both are empty where a model does not give them."""

    text: str
    token_ids: tuple[int, ...]
    vocab: str
    logprob: float
    finish_reason: str  # "step" (ended with the step delimiter), "eos" or "length" (hit the per-step cap)
    token_logprobs: tuple[float, ...] = ()
    token_texts: tuple[str, ...] = ()


class StepModel(Protocol):
    """What a method needs from a model; the toy worlds and remote backends implement the same calls.
    `draft` ends a step with the first token that completes `step_end` (the config's step delimiter)."""

    name: str
    num_parameters: int

    def draft(
        self, prompt: Prompt, steps: Sequence[Draft], n: int, *, temperature: float, max_tokens: int, seed: int,
        step_end: str = STEP_END,
    ) -> list[Draft]: ...

    def token_logprobs(
        self, prompt: Prompt, steps: Sequence[Draft], candidates: Sequence[Draft], *, temperature: float
    ) -> list[tuple[float, ...]]: ...


@dataclass(frozen=True)
class Scored:
    """A candidate's reward in [0, 1] and the short reasons for it (none from a model that cannot say)."""

    reward: float
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class RewardScale:
    """Where a reward's values lie, so that u can be set on its scale. GSI keeps a draft when
    β·(r − u) + log π_B − log π_S ≥ 0: β·(r − u) is the room the reward gives π_B's verdict.

    `typical`: the range most drafts' rewards fall in; `neutral`: what a step scores when the reward has no
    evidence for or against it; `meaning`: what a value says, in a few words. The default is a PRM's: the
    probability that the step is right, ½ a coin flip."""

    typical: tuple[float, float] = (0.0, 1.0)
    neutral: float = 0.5
    meaning: str = "the probability that the step is right"

    def room(self, reward: float, threshold: float, beta: float) -> float:
        """β·(r − u) in nats: how much lower π_B may rate a draft of reward r than π_S does, and still keep it."""
        return beta * (reward - threshold)


class RewardModel(ABC):
    """`score_candidates(question, previous, candidates) -> one Scored per candidate`; methods never know which
    reward they have. `scale` says where its values lie (a PRM's [0, 1] unless a reward declares its own)."""

    name: str = "reward"
    scale: RewardScale = RewardScale()

    @abstractmethod
    def score(self, question: str, steps: Sequence[str]) -> list[float]:
        """One reward in [0, 1] per step, judging each step in the context of those before it."""

    def score_candidates(self, question: str, previous: Sequence[str], candidates: Sequence[str]) -> list[Scored]:
        """Each candidate's reward as the next step after `previous`, with its reasons. The candidates are the
        n drafts of one step, so a reward may compare them. Override to batch or to give reasons."""
        return [Scored(self.score(question, [*previous, candidate])[-1]) for candidate in candidates]

    def score_drafts(self, prompt: Prompt, previous: Sequence[Draft], drafts: Sequence[Draft]) -> list[Scored]:
        """`score_candidates` as a run calls it, with the drafts themselves: a reward that reads a loaded model
        (the judge) overrides it to use their token ids, so the model's cached prefix is reused as drafted."""
        return self.score_candidates(prompt.problem, [step.text for step in previous], [d.text for d in drafts])


def check_problem(problem: str | None) -> str:
    """The problem as given, or a ConfigError: every entry point (CLI, methods, app) refuses an empty one alike."""
    if not problem or not problem.strip():
        raise ConfigError("the problem is empty: give a question to solve")
    return problem
