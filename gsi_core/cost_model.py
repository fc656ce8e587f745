"""What a step costs, from per-token costs measured on one machine: GSI's time against soft best-of-n with π_B.

GSI pays π_S's drafts, π_B's scoring of them and their rewards on every step, and π_B's own candidates on the
steps it rejects; soft best-of-n with π_B (sbon-big) pays π_B's candidates on every step. So GSI is faster only
where π_B checking a drafted token is much cheaper than π_B writing one: on a GPU, where scoring is one parallel
forward, but not on a 2-core CPU, where it costs about as much. The functions here are plain arithmetic (no torch),
shared by the engine bench (which measures `TokenCosts`), the app's "where the time goes" panel and the lab.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TokenCosts:
    """Seconds per unit of work on one machine, each measured at the run's batch widths.

    `small_decode` / `big_decode`: one drafted token of one row (a batched decoding iteration ÷ its rows), π_S at
    n_small rows and π_B at n_big rows; `small_decode_single` / `big_decode_single`: one decoding iteration of a
    single row (0: taken as one row's share of the batched one), so an iteration of r rows costs their straight line.
    `big_scoring`: π_B scoring one drafted token in its batched forward (padded tokens included), besides that
    call's fixed part, `big_scoring_step` (0: taken as `big_commit_step`). `reward`: rewarding one candidate step.
    `small_commit` / `big_commit`: forwarding one token of a committed step that the model must compute before the
    next step (a prefill token); `small_commit_step` / `big_commit_step`: the fixed part of that prefix forward (a
    forward of k tokens costs commit_step + k · commit; one such forward per model per step)."""

    small_decode: float
    big_decode: float
    big_scoring: float
    reward: float = 0.0
    small_commit: float = 0.0
    big_commit: float = 0.0
    small_decode_single: float = 0.0
    big_decode_single: float = 0.0
    small_commit_step: float = 0.0
    big_commit_step: float = 0.0
    big_scoring_step: float = 0.0

    def to_dict(self) -> dict[str, float]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TokenCosts":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: float(v) for k, v in data.items() if k in names})

    @classmethod
    def mean(cls, measured: "list[TokenCosts]") -> "TokenCosts":
        """Each cost averaged over several measurements: benches that bracket a long run, whose machine's speed
        drifted between them."""
        names = [f.name for f in dataclasses.fields(cls)]
        return cls(**{name: sum(getattr(c, name) for c in measured) / len(measured) for name in names})

    def gpu_like(self, scoring_over_decoding: float = 0.1) -> "TokenCosts":
        """The same decoding costs with π_B's scoring (and committing) priced at `scoring_over_decoding` of π_B
        decoding a token: an assumption standing for a GPU, where a prefill token is nearly free next to decoding.
        A forward's fixed parts (`*_commit_step`) are left as measured."""
        checked = scoring_over_decoding * self.big_decode
        small_checked = scoring_over_decoding * self.small_decode
        return dataclasses.replace(self, big_scoring=checked, big_commit=checked, small_commit=small_checked)

    def scoring_call_seconds(self, tokens: float) -> float:
        """π_B's scoring call over `tokens` drafted tokens (rows × the longest draft's length − 1, padding included)."""
        return (self.big_scoring_step or self.big_commit_step) + tokens * self.big_scoring

    def iteration_seconds(self, role: str, rows: int, batch: int) -> float:
        """One decoding iteration of `rows` rows on `role`'s model, whose `*_decode` was measured at `batch` rows."""
        per_row = getattr(self, f"{role}_decode")
        single = getattr(self, f"{role}_decode_single") or per_row
        if rows <= 0:
            return 0.0
        if batch <= 1:
            return rows * single
        return single + (rows - 1) * (batch * per_row - single) / (batch - 1)


# What a judge reward forwards after each candidate besides the candidate itself (`judge.question_suffix` with the
# default question: the turn closed, the question asked as the user, the answer's turn opened): 25 tokens of
# Qwen2.5's tokenizer.
JUDGE_SUFFIX_TOKENS = 25


def judge_role(reward_model: str) -> str | None:
    """The step model a judge reward asks, read from its label (`judge-big…`, `judge-small…`); None for a reward
    that runs no step model."""
    match = re.match(r"judge-(small|big)\b", reward_model)
    return match[1] if match else None


def _forward_seconds(costs: TokenCosts, role: str, tokens: int) -> float:
    """One batched forward of `tokens` tokens (rows × width) from `role`'s cached prefix: π_B's is priced as its
    scoring call, π_S's (never measured scoring) as its prefix forward."""
    if role == "big":
        return costs.scoring_call_seconds(tokens)
    return costs.small_commit_step + tokens * costs.small_commit


@dataclass(frozen=True)
class Workload:
    """The shape of a step: candidates per step and their mean length in tokens, and the share of a committed
    step's tokens a model that drafted or scored it must forward again (0, the engine now: the forward that produced
    or scored it kept its keys and values, and only its last token is forwarded; 1 when every committed step is
    recomputed). π_S forwards a fallback step in full either way: it never saw it. `judge`: the step model a judge
    reward asks ("small" / "big"), None for a reward that runs none."""

    n_small: int
    n_big: int
    tokens: float = 1.0
    small_recomputed: float = 0.0
    big_recomputed: float = 0.0
    judge: str | None = None


def rewarding_seconds(costs: TokenCosts, judge: str | None, candidates: int, width: float,
                      judge_suffix_tokens: int = JUDGE_SUFFIX_TOKENS) -> float:
    """Rewarding one step's candidates (`width` tokens the longest): the reward's own cost each, and for a judge
    its model's batched forward of them with the question after each (its prefix forward is the caller's)."""
    seconds = candidates * costs.reward
    if judge is not None and candidates:
        seconds += _forward_seconds(costs, judge, candidates * (width + judge_suffix_tokens))
    return seconds


def _forwarded(share: float, tokens: float) -> float:
    """Tokens a model forwards to commit a step it computed before: the last one, and the recomputed share."""
    return min(tokens, 1.0) + share * max(tokens - 1.0, 0.0)


def sbon_big_step_seconds(costs: TokenCosts, work: Workload) -> float:
    """One step of soft best-of-n with π_B: π_B writes n_big candidates, each is rewarded, one is committed."""
    writing = work.n_big * work.tokens * costs.big_decode + rewarding_seconds(costs, work.judge, work.n_big, work.tokens)
    return writing + costs.big_commit_step + _forwarded(work.big_recomputed, work.tokens) * costs.big_commit


def gsi_step_seconds(costs: TokenCosts, work: Workload, acceptance: float) -> float:
    """Expected seconds of one GSI step at this acceptance: drafts, scoring (one forward) and rewards always,
    π_B's candidates on the (1 − acceptance) share of steps it rejects, and committing the step: π_B forwards what
    it did not keep of it, π_S too when it drafted it, and all of it after a fallback (it never saw π_B's step)."""
    drafting = (work.n_small * work.tokens * costs.small_decode
                + rewarding_seconds(costs, work.judge, work.n_small, work.tokens))
    scoring = costs.scoring_call_seconds(work.n_small * work.tokens)
    fallback = work.n_big * work.tokens * costs.big_decode + rewarding_seconds(costs, work.judge, work.n_big, work.tokens)
    small_tokens = acceptance * _forwarded(work.small_recomputed, work.tokens) + (1.0 - acceptance) * work.tokens
    commit = (costs.small_commit_step + small_tokens * costs.small_commit
              + costs.big_commit_step + _forwarded(work.big_recomputed, work.tokens) * costs.big_commit)
    return drafting + scoring + (1.0 - acceptance) * fallback + commit


def ratio(costs: TokenCosts, work: Workload, acceptance: float) -> float:
    """GSI's expected time ÷ sbon-big's, per step (both write steps of the same mean length)."""
    return gsi_step_seconds(costs, work, acceptance) / sbon_big_step_seconds(costs, work)


def floor_ratio(costs: TokenCosts, work: Workload) -> float:
    """The ratio at 100% acceptance: the least GSI can cost against sbon-big on this machine."""
    return ratio(costs, work, 1.0)


def break_even_acceptance(costs: TokenCosts, work: Workload) -> float | None:
    """The acceptance at which GSI takes as long as sbon-big (the ratio is linear in it); None where GSI is slower
    even when it accepts every step."""
    at_zero, at_one = ratio(costs, work, 0.0), ratio(costs, work, 1.0)
    if at_one >= 1.0:
        return None
    if at_zero <= 1.0:
        return 0.0
    return (at_zero - 1.0) / (at_zero - at_one)


# The chat prompt's tokens, estimated from its text (the events hold no token ids of it): about 3.5 characters
# per token for Qwen2.5 on English problems, and the template's own tokens.
PROMPT_CHARS_PER_TOKEN = 3.5
TEMPLATE_TOKENS = 20


class _CachedPrefix:
    """What one model's prefix cache holds while a run is replayed: how many committed steps (None: not even the
    prompt yet), and which committed steps it computed itself (drafted or scored) at the prefix it then held."""

    def __init__(self, role: str):
        self.role, self.steps, self.computed = role, None, set()

    def advance(self, costs: TokenCosts, to: int, lengths: list[int], prompt: int, recomputes: bool) -> float:
        """Seconds of the prefix forward that brings this cache to `to` committed steps."""
        if self.steps == to:
            return 0.0
        start, tokens = (0, prompt) if self.steps is None else (self.steps, 0)
        for j in range(start, to):
            kept = j == self.steps and j in self.computed and not recomputes
            tokens += 1 if kept else lengths[j]
        self.steps = to
        return getattr(costs, f"{self.role}_commit_step") + tokens * getattr(costs, f"{self.role}_commit")


def _decoding_seconds(costs: TokenCosts, role: str, lengths: list[int], batch: int) -> float:
    """A batched draft: one iteration per token of the longest row, each over the rows still writing."""
    return sum(costs.iteration_seconds(role, sum(length >= j for length in lengths), batch)
               for j in range(1, max(lengths, default=0) + 1))


def predict_run_seconds(run: Any, costs: TokenCosts, *, prompt_tokens: int | None = None,
                        recomputes: bool = False, judge_suffix_tokens: int = JUDGE_SUFFIX_TOKENS) -> dict[str, float]:
    """A run's predicted seconds per stage (StageTimes' names) and `total`, from its own events (each step's
    candidates, their token counts and the decision) and per-token costs measured at its n_small and n_big.

    Each model's prefix forward is booked to the stage whose call makes it (π_S's to drafting; π_B's to scoring,
    or to the fallback or drafting where it does not score). `recomputes`: price the engine before K/V was kept
    (a committed step was forwarded again in full). `prompt_tokens`: estimated from the prompt's text if not given.

    Rewarding a step's candidates costs `reward` each; a judge (a step model asked about every candidate) also
    costs its model's prefix forward and one batched forward of the candidates with the question after each."""
    start = run.start
    config = start.config
    batch = {role: config.get(f"n_{role}") or config["n"] for role in ("small", "big")}
    prompt = prompt_tokens if prompt_tokens is not None else round(
        len(config.get("system_prompt", "") + start.problem) / PROMPT_CHARS_PER_TOKEN) + TEMPLATE_TOKENS
    models = {role: _CachedPrefix(role) for role in ("small", "big")}
    lengths: list[int] = [step.committed.num_tokens for step in run.steps]
    stages = {"drafting": 0.0, "reward": 0.0, "scoring": 0.0, "fallback": 0.0}

    judge = judge_role(start.reward_model)

    def call(role: str, index: int) -> float:
        return models[role].advance(costs, index, lengths, prompt, recomputes)

    def rewarding(index: int, candidates: list[int]) -> float:
        prefix = call(judge, index) if judge is not None and candidates else 0.0
        return prefix + rewarding_seconds(costs, judge, len(candidates), max(candidates, default=0), judge_suffix_tokens)

    for step in run.steps:
        role, drafted = step.candidates[0].source, [c.num_tokens for c in step.candidates]
        stages["drafting"] += call(role, step.index) + _decoding_seconds(costs, role, drafted, batch[role])
        stages["reward"] += rewarding(step.index, drafted)
        if role == "small" and step.candidates[0].logp_big is not None:
            width = max(drafted) - 1
            stages["scoring"] += call("big", step.index) + (
                costs.scoring_call_seconds(len(drafted) * width) if width > 0 else 0.0)
            if step.fallback_chosen is None:
                models["big"].computed.add(step.index)
        if step.fallback_chosen is None:
            models[role].computed.add(step.index)
        else:
            written = [c.num_tokens for c in step.fallback]
            stages["fallback"] += (call("big", step.index) + _decoding_seconds(costs, "big", written, batch["big"])
                                   + rewarding(step.index, written))
            models["big"].computed.add(step.index)
    return {**stages, "total": sum(stages.values())}
