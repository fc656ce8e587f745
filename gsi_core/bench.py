"""`python -m gsi_core bench`: how fast the engine is, measured side by side in one process and printed as ratios.

- engine overhead: a step's wall time minus the time inside model forwards and the reward, as a share of it;
- prefix growth: one GSI step (π_S drafts + π_B scoring) at step 1 and at step 20 of a long solution;
- batching: drafting n = 1, 4, 16 candidates at the same prefix;
- the paper's headline: GSI wall time / sbon-big wall time over the same problems and seeds, with acceptance.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import statistics
import sys
import time
from typing import Any, Iterator, Sequence

from .config import DecodingConfig
from .data import load_problems
from .events import StepEvent
from .methods import REFERENCE_METHOD, run_method
from .models import TransformersStepModel
from .run import Run
from .vocabulary import STEP_END, Draft, Prompt


class ForwardClock:
    """Seconds spent inside the forwards of the given torch modules (hooks on each module's top-level call)."""

    def __init__(self, modules: Sequence[Any]):
        self.modules, self.seconds, self._started = list(modules), 0.0, None

    @contextlib.contextmanager
    def running(self) -> Iterator["ForwardClock"]:
        import torch

        # On a GPU a forward returns before its kernels finish: wait for them, so their time counts as the model's.
        sync = torch.cuda.synchronize if any(p.is_cuda for m in self.modules for p in m.parameters()) else (lambda: None)

        def before(*_):
            sync()
            self._started = time.perf_counter()

        def after(*_):
            sync()
            self.seconds += time.perf_counter() - self._started

        handles = [h for m in self.modules for h in (m.register_forward_pre_hook(before), m.register_forward_hook(after))]
        try:
            yield self
        finally:
            for handle in handles:
                handle.remove()


class TimedReward:
    """The reward model, with the seconds spent scoring counted (it is the reward's time, not the engine's)."""

    def __init__(self, reward: Any):
        self.reward, self.seconds, self.name = reward, 0.0, reward.name

    def score(self, question, steps):
        return self._timed(self.reward.score, question, steps)

    def score_candidates(self, question, previous, candidates):
        return self._timed(self.reward.score_candidates, question, previous, candidates)

    def _timed(self, call, *args):
        start = time.perf_counter()
        try:
            return call(*args)
        finally:
            self.seconds += time.perf_counter() - start


def long_solution(model: TransformersStepModel, steps: int) -> tuple[Prompt, list[Draft]]:
    """A MATH-500 problem and `steps` fixed steps of two sentences each (cut from MATH-500 problem statements):
    only the prefix's length matters to the timing, and fixed text makes runs comparable."""
    rows = load_problems("math500", limit=200)
    sentences = [s.strip() for row in rows for s in re.split(r"(?<=[.!?])\s+", row.question) if len(s.strip()) > 40]
    texts = [" ".join(sentences[2 * i : 2 * i + 2]) + STEP_END for i in range(steps)]
    drafts = [Draft(t, tuple(model.tokenizer.encode(t, add_special_tokens=False)), model.vocab, 0.0, "step")
              for t in texts]
    return Prompt(rows[0].question), drafts


def _gsi_step(small, big, prompt, steps, n, config, seed) -> tuple[float, int]:
    """One GSI step's model work: π_S drafts n, π_B scores them. Returns (seconds, drafted tokens)."""
    start = time.perf_counter()
    drafts = small.draft(prompt, steps, n, temperature=config.temperature, max_tokens=config.max_step_tokens, seed=seed)
    big.logprobs(prompt, steps, drafts, temperature=config.temperature)
    return time.perf_counter() - start, sum(len(d.token_ids) for d in drafts)


def prefix_growth(small, big, config: DecodingConfig, at: Sequence[int] = (1, 20), repeats: int = 2) -> dict[str, Any]:
    """A GSI step at step k of a long solution, after step k−1 warmed the caches (as in a real run), and the
    same step at k=20 with cold caches, to show what the prefix cache saves. Keys are strings, as JSON reads
    them back."""
    prompt, solution = long_solution(small, max(at))
    result = {"prefix_tokens": {}, "seconds": {}, "seconds_per_token": {}}
    for k in at:
        times, tokens = [], []
        for r in range(repeats):
            if k > 1:
                _gsi_step(small, big, prompt, solution[: k - 2], 1, config.replace(max_step_tokens=1), seed=r)
            seconds, drafted = _gsi_step(small, big, prompt, solution[: k - 1], config.n, config, seed=r)
            times.append(seconds)
            tokens.append(drafted)
        result["prefix_tokens"][str(k)] = len(small.prefix_ids(prompt, solution[: k - 1]))
        result["seconds"][str(k)] = statistics.median(times)
        result["seconds_per_token"][str(k)] = statistics.median(t / max(1, n) for t, n in zip(times, tokens))
    small.forget_prefix()  # cold: what every step would cost without the prefix cache
    big.forget_prefix()
    first, last = min(at), max(at)
    seconds, drafted = _gsi_step(small, big, prompt, solution[: last - 1], config.n, config, seed=0)
    result["cold_seconds_per_token"] = seconds / max(1, drafted)
    result["ratio_per_token"] = result["seconds_per_token"][str(last)] / result["seconds_per_token"][str(first)]
    result["ratio"] = result["seconds"][str(last)] / result["seconds"][str(first)]
    return result


def batching(small, config: DecodingConfig, ns: Sequence[int] = (1, 4, 16), repeats: int = 2) -> dict[str, Any]:
    """π_S drafting n candidates at a warm prefix: seconds and seconds per drafted token, per n."""
    prompt = Prompt(load_problems("gsm8k", limit=1)[0].question)
    small.draft(prompt, [], 1, temperature=config.temperature, max_tokens=1, seed=0)  # warm the prompt cache
    result = {"seconds": {}, "tokens": {}}
    for n in ns:
        runs = []
        for r in range(repeats):
            start = time.perf_counter()
            drafts = small.draft(prompt, [], n, temperature=config.temperature, max_tokens=config.max_step_tokens, seed=r)
            runs.append((time.perf_counter() - start, sum(len(d.token_ids) for d in drafts)))
        result["seconds"][str(n)] = statistics.median(t for t, _ in runs)
        result["tokens"][str(n)] = statistics.median(k for _, k in runs)
    one = min(ns)
    result["cost_vs_n_times_one"] = {str(n): result["seconds"][str(n)] / (n / one * result["seconds"][str(one)])
                                     for n in ns}
    return result


def headline(components, config: DecodingConfig, problems: int, methods=("gsi", REFERENCE_METHOD)) -> dict[str, Any]:
    """Each method on the same GSM8K problems and seed, interleaved so both see the same machine noise.
    Also the engine overhead: step wall time outside model forwards and the reward."""
    clock = ForwardClock([components.small.model, components.big.model])
    reward = TimedReward(components.reward)
    totals = {m: {"wall": 0.0, "accepted": 0, "fallbacks": 0, "steps": 0} for m in methods}
    overhead = {"wall": 0.0, "forwards": 0.0, "reward": 0.0}
    with clock.running():
        for problem in load_problems("gsm8k", limit=problems):
            for method in methods:
                before, last, run = (clock.seconds, reward.seconds), time.perf_counter(), Run()
                for event in run_method(method, problem.question, components.small, components.big, reward, config):
                    now = time.perf_counter()
                    if isinstance(event, StepEvent) and method == "gsi":
                        overhead["wall"] += now - last
                    run, last = run.add(event), now
                row = totals[method]
                row["wall"] += run.summary.wall_time
                for key in ("accepted", "fallbacks", "steps"):
                    row[key] += getattr(run.summary, key)
                if method == "gsi":
                    overhead["forwards"] += clock.seconds - before[0]
                    overhead["reward"] += reward.seconds - before[1]
    gsi, big = totals[methods[0]], totals[methods[1]]
    decided = gsi["accepted"] + gsi["fallbacks"]
    return {
        "problems": problems,
        "totals": totals,
        "wall_ratio": gsi["wall"] / big["wall"],
        "acceptance": gsi["accepted"] / decided if decided else None,
        "overhead": {**overhead, "share": (overhead["wall"] - overhead["forwards"] - overhead["reward"]) / overhead["wall"]},
    }


def run_bench(components, config: DecodingConfig, problems: int = 2, steps: int = 4) -> dict[str, Any]:
    result = {"config": dataclasses.asdict(config)}
    for name, measure in (
        ("batching", lambda: batching(components.small, config)),
        ("prefix_growth", lambda: prefix_growth(components.small, components.big, config)),
        ("headline", lambda: headline(components, config.replace(max_steps=steps), problems)),
    ):
        started = time.perf_counter()
        print(f"[gsi] bench: {name}…", file=sys.stderr, flush=True)
        result[name] = measure()
        print(f"[gsi] bench: {name} took {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    return result


def report(result: dict[str, Any]) -> str:
    """The bench as a Markdown table of ratios and goals."""
    h, p, b = result["headline"], result["prefix_growth"], result["batching"]
    o = h["overhead"]
    rows = [
        ("engine overhead: step time outside model forwards and the reward",
         f"{o['share']:.1%} of {o['wall']:.0f} s of GSI steps", "≤ 10%"),
        ("prefix growth: GSI step at step 20 / step 1, per drafted token",
         f"{p['ratio_per_token']:.2f} (per step {p['ratio']:.2f}; {p['prefix_tokens']['1']} → {p['prefix_tokens']['20']} "
         f"prefix tokens; cold cache at step 20: {p['cold_seconds_per_token'] / p['seconds_per_token']['20']:.1f}× slower)",
         "≤ 1.3"),
        *[(f"batching: drafting n = {n} / ({n} × n = 1)",
           f"{b['cost_vs_n_times_one'][n]:.2f} ({b['seconds'][n]:.1f} s for {b['tokens'][n]:.0f} tokens: "
           f"{b['seconds'][n] / b['tokens'][n]:.3f} s per token)",
           "well under 1" if n != min(b["seconds"], key=int) else "")
          for n in b["seconds"]],
        (f"GSI / {REFERENCE_METHOD} wall time, {h['problems']} GSM8K problems, same seeds",
         f"{h['wall_ratio']:.2f} (GSI {h['totals']['gsi']['wall']:.0f} s, {REFERENCE_METHOD} "
         f"{h['totals'][REFERENCE_METHOD]['wall']:.0f} s; "
         f"acceptance {h['acceptance']:.0%})" if h["acceptance"] is not None else f"{h['wall_ratio']:.2f}",
         "≤ 0.72 (paper: up to 28% lower)"),
    ]
    lines = ["| measure | this run | goal |", "|---|---|---|"]
    lines += [f"| {a} | {b_} | {c} |" for a, b_, c in rows]
    return "\n".join(lines)
