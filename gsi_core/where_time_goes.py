"""Where a run's time goes: its stage times and tokens per model, read from its events, beside what the cost
model predicts for GSI against soft best-of-n with π_B (sbon-big) at the run's own shape, on per-token costs
measured on this machine and priced as on a GPU. Pure functions (events + costs → markdown); its chart is in `figures`.

GSI saves π_B's writing on the steps it accepts, but pays π_S's drafting and π_B's checking of every draft on
every step. So it wins only where π_B checks a token much faster than it writes one: on a GPU, where checking
is one parallel forward; not on a small CPU, where both cost about the same per token.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from .config import DecodingConfig
from .cost_model import (JUDGE_SUFFIX_TOKENS, TokenCosts, Workload, break_even_acceptance, floor_ratio, judge_role,
                         ratio)
from .events import Event, RunStarted, StageTimes, StepEvent

DEFAULT_COSTS_PATH = Path(__file__).resolve().parent.parent / "assets" / "bench_costs_offline_cpu_bf16.json"
GPU_SCORING_OVER_DECODING = 0.1  # π_B checking a token ÷ π_B writing one, as a parallel forward on a GPU
STAGE_WORK = {
    "drafting": "π_S writes the drafts",
    "scoring": "π_B checks every drafted token (one forward over all of them)",
    "reward": "the reward scores every candidate",
    "fallback": "π_B writes its own candidates, on the steps it rejects",
}


@dataclass(frozen=True)
class MachineCosts:
    """Per-token costs measured on one machine (the `costs` part of `bench --measures costs`' JSON), where and
    when, the share of a committed step each model still forwards again (`recomputed`, by role), and, where the
    bench recorded them, the widths the costs were measured at and its mean draft length."""

    token_costs: TokenCosts
    recomputed: dict[str, float] = field(default_factory=dict)
    machine: str = "an unnamed machine"
    date: str = ""
    widths: tuple[int, int] | None = None  # (n_small, n_big)
    step_tokens: float | None = None

    def priced(self, scoring_over_decoding: float | None = None) -> TokenCosts:
        """These costs, or (given a ratio) the same decoding with π_B's checking priced as on a GPU."""
        if scoring_over_decoding is None:
            return self.token_costs
        return self.token_costs.gpu_like(scoring_over_decoding)

    def workload(self, n_small: int, n_big: int, tokens: float, judge: str | None = None) -> Workload:
        """A step of this shape with the measured recomputed shares (the cost model's defaults where none are)."""
        return Workload(n_small, n_big, tokens, **{f"{role}_recomputed": v for role, v in self.recomputed.items()},
                        judge=judge)


def load_costs(path: Path | str = DEFAULT_COSTS_PATH) -> MachineCosts | None:
    """The measured costs in `path`; None where there is no such file. A file without `costs.token_costs`
    is refused, naming the key."""
    path = Path(path)
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    costs = data.get("costs") or {}
    if "token_costs" not in costs:
        raise ValueError(f"{path} holds no costs.token_costs "
                         "(write it with `python -m gsi_core bench --measures costs`)")
    recomputed = costs.get("recomputed_per_committed_token") or {}
    widths = (int(costs["n_small"]), int(costs["n_big"])) if "n_small" in costs and "n_big" in costs else None
    return MachineCosts(TokenCosts.from_dict(costs["token_costs"]),
                        {role: float(recomputed[role]) for role in ("small", "big") if role in recomputed},
                        str(data.get("machine") or MachineCosts.machine), str(data.get("date") or ""), widths,
                        float(costs["tokens"]) if costs.get("tokens") else None)


# --- what the run's events say ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunShape:
    """What a run did, read from its events: the cost model's inputs and the measured stage times and tokens."""

    method: str
    n_small: int
    n_big: int
    mean_step_tokens: float  # mean length of a step's candidates (drafts; π_B's own for sbon-big), as the bench
    acceptance: float | None  # accepted ÷ tested steps; None where the method tests none
    steps: int
    stage_seconds: StageTimes
    small_written: int  # tokens π_S drafted
    big_written: int  # tokens π_B wrote (its candidates)
    big_checked: int  # drafted tokens π_B scored
    judge: str | None = None  # the step model a judge reward asks (cost_model.judge_role)

    def workload(self, costs: MachineCosts) -> Workload:
        return costs.workload(self.n_small, self.n_big, self.mean_step_tokens, self.judge)


def run_shape(events: Sequence[Event]) -> RunShape | None:
    """The shape of the run so far (it grows as steps arrive); None before it has started."""
    start = next((e for e in events if isinstance(e, RunStarted)), None)
    if start is None:
        return None
    known = {f.name for f in dataclasses.fields(DecodingConfig)}
    config = DecodingConfig(**{k: v for k, v in start.config.items() if k in known})
    steps = [e for e in events if isinstance(e, StepEvent)]
    everything = [c for s in steps for c in (*s.candidates, *s.fallback)]
    drafts = [c for s in steps for c in s.candidates]
    drafted = [c for c in everything if c.source == "small"]
    tested = [s for s in steps if s.decision != "n.a."]
    return RunShape(
        method=start.method, n_small=config.candidates("small"), n_big=config.candidates("big"),
        mean_step_tokens=sum(c.num_tokens for c in drafts) / len(drafts) if drafts else 1.0,
        acceptance=sum(s.decision == "accepted" for s in tested) / len(tested) if tested else None,
        steps=len(steps),
        stage_seconds=StageTimes(*(sum(getattr(s.timings, f.name) for s in steps)
                                   for f in dataclasses.fields(StageTimes))),
        small_written=sum(c.num_tokens for c in drafted),
        big_written=sum(c.num_tokens for c in everything if c.source == "big"),
        big_checked=sum(c.num_tokens for c in drafted if c.logp_big is not None),
        judge=judge_role(start.reward_model),
    )


def _per_token(seconds: float, tokens: int) -> str:
    return f"{1000 * seconds / tokens:.1f} ms per token" if tokens else "–"


def measured_markdown(shape: RunShape) -> str:
    """Stage times and tokens per model, and what π_B spent per token checking against writing, in this run."""
    times = shape.stage_seconds
    total = times.total
    share = {stage: f"{getattr(times, stage) / total:.0%}" if total > 0 else "–" for stage in STAGE_WORK}
    rows = "".join(f"| {stage} | {work} | {getattr(times, stage):.2f} s | {share[stage]} |\n"
                   for stage, work in STAGE_WORK.items())
    rate = "" if shape.acceptance is None else f", π_S's draft accepted on {shape.acceptance:.0%} of them"
    return (
        f"**This run** ({shape.method}, {shape.steps} steps{rate}), measured:\n\n"
        f"| stage | what runs | seconds | share |\n|---|---|---|---|\n{rows}| all | | {total:.2f} s | |\n\n"
        f"**Tokens.** π_S wrote {shape.small_written:,}; π_B wrote {shape.big_written:,} and checked "
        f"{shape.big_checked:,} drafted by π_S. Here π_B spent {_per_token(times.scoring, shape.big_checked)} "
        f"checking and {_per_token(times.fallback, shape.big_written)} writing (its fallback, reward included)."
    )


# --- what the cost model predicts ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Prediction:
    """GSI's time ÷ sbon-big's for one pricing of the work: at the run's acceptance (None where it has none),
    the break-even acceptance (None where GSI never breaks even) and the floor, at 100% acceptance."""

    at_run: float | None
    break_even: float | None
    floor: float


def predict(costs: TokenCosts, work: Workload, acceptance: float | None) -> Prediction:
    return Prediction(None if acceptance is None else ratio(costs, work, acceptance),
                      break_even_acceptance(costs, work), floor_ratio(costs, work))


def _verdict(prediction: Prediction) -> str:
    at_run = "" if prediction.at_run is None else (
        f"at this run's acceptance GSI should take **{prediction.at_run:.2f}×** the time of sbon-big; ")
    if prediction.break_even is None:
        even = (f"it never breaks even: accepting every draft it still takes {prediction.floor:.2f}× "
                "(the floor), as drafting and checking the drafts alone cost more than π_B writing its own candidates.")
    elif prediction.break_even == 0.0:
        even = f"it is faster at any acceptance, down to {prediction.floor:.2f}× at 100% (the floor)."
    else:
        even = (f"it is faster once it accepts more than **{prediction.break_even:.0%}** of drafts (break-even), "
                f"down to {prediction.floor:.2f}× at 100% (the floor).")
    return at_run + even


def predicted_markdown(shape: RunShape, costs: MachineCosts | None, scoring_over_decoding: float) -> str:
    """The cost model on this machine's costs and priced as on a GPU, for the run's n, step length and acceptance."""
    if costs is None:
        return ("**Predicted.** No measured costs for this machine are committed; write them with "
                "`python -m gsi_core bench --measures costs --out assets/bench_costs_offline_cpu_bf16.json`.")
    work, token = shape.workload(costs), costs.token_costs
    acceptance = ("no acceptance (this method tests none)" if shape.acceptance is None
                  else f"acceptance {shape.acceptance:.0%}")
    here = predict(costs.priced(), work, shape.acceptance)
    gpu = predict(costs.priced(scoring_over_decoding), work, shape.acceptance)
    widths = "" if costs.widths in (None, (shape.n_small, shape.n_big)) else (
        f" The costs were measured at n_small = {costs.widths[0]}, n_big = {costs.widths[1]}; a batch's cost per row "
        "changes with its width, so at this run's n the prediction is rougher.")
    judged = "" if shape.judge is None else (
        f" Its reward is a judge: π_{shape.judge[0].upper()} reads every candidate again with a "
        f"{JUDGE_SUFFIX_TOKENS}-token question after it, one batched forward priced as π_B's checking is.")
    return (
        f"**Predicted by the cost model** for GSI with this run's n_small = {shape.n_small}, n_big = {shape.n_big}, "
        f"drafts of {shape.mean_step_tokens:.1f} tokens and {acceptance}.{judged}{widths}\n\n"
        f"- **On this machine** ({costs.machine}{', measured ' + costs.date if costs.date else ''}: π_S writes a "
        f"token in {1000 * token.small_decode:.1f} ms, π_B writes one in {1000 * token.big_decode:.1f} ms and checks "
        f"one in {1000 * token.big_scoring:.1f} ms): {_verdict(here)}\n"
        f"- **As on a GPU** (assumed: π_B checks a token in {scoring_over_decoding:.2f} of the time it takes to write "
        f"one, as one parallel forward does there; decoding as measured here): {_verdict(gpu)}"
    )


def where_time_goes_markdown(events: Sequence[Event], costs: MachineCosts | None,
                             scoring_over_decoding: float = GPU_SCORING_OVER_DECODING) -> str:
    """The panel's text: the run's measured stages and tokens, then the cost model's prediction."""
    shape = run_shape(events)
    if shape is None:
        return "Run a problem (or replay an export) to see where its time goes."
    return measured_markdown(shape) + "\n\n" + predicted_markdown(shape, costs, scoring_over_decoding)
