"""`python -m gsi_core bench --measures costs`: this machine's per-token costs, and what they make of GSI against
sbon-big (gsi_core/cost_model.py: the ratio against acceptance, n_small and n_big, the break-even, the floor).

Each cost is timed on the engine's own calls at a realistic prefix (a problem and a few steps): a decoding iteration
of π_S at n_small rows and of π_B at n_big rows and of one row, a prefix forward of 1 and of 64 tokens, π_B scoring
n_small drafts at two lengths (its fixed part and its cost per token), and the reward of real drafts: each the
fastest of a few calls after a warm-up one, since other work on a shared machine only ever adds time. A short GSI run
then counts the tokens each model computed again (`tokens_forwarded`), with K/V kept and, for comparison, off.
"""

from __future__ import annotations

import copy
import statistics
import time
from typing import Any

from .config import DecodingConfig
from .cost_model import TokenCosts, Workload, break_even_acceptance, floor_ratio, judge_role, ratio
from .data import load_problems
from .methods import run_method
from .run import Run
from .vocabulary import Draft, Prompt

DECODE_TOKENS = 24  # iterations per timed decoding run
PREFILL_TOKENS = 64  # the longer prefix forward (the shorter is one token)
SCORED_TOKENS = (16, 64)  # tokens per scored draft, at two lengths: the call's fixed part and its cost per token
ACCEPTANCES = (0.0, 0.25, 0.5, 0.75, 1.0)


def _typical_seconds(call, repeats: int) -> float:
    """The median of `repeats` calls after a warm-up one: a run's time is the sum of many calls, each at the
    machine's typical speed, not at the best speed one call reaches."""
    call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _decoding_iterations(model, ids: tuple[int, ...], rows: int, config: DecodingConfig, repeats: int) -> list[float]:
    """Seconds per decoding iteration of `rows` rows that never stop early (sampling included), at prefix `ids`,
    for each of `repeats` runs after a warm-up one."""
    import torch

    with torch.inference_mode():
        state = model._advance(ids)
    seconds, iterations = [], []
    for seed in range(repeats + 1):  # the first is a warm-up
        with torch.inference_mode():
            start = time.perf_counter()
            drafts = model._sample(model._expanded(state.cache, rows), state.next_logits.unsqueeze(0).expand(rows, -1),
                                   temperature=config.temperature, max_tokens=DECODE_TOKENS, seed=seed,
                                   stop=lambda text, piece: False, stop_reason="length")
            seconds.append(time.perf_counter() - start)
        # The first token is sampled from the prefix's logits: `len - 1` forwards ran.
        iterations.append(max(len(d.token_ids) for d in drafts) - 1)
    return [s / k for s, k in zip(seconds[1:], iterations[1:])]


def _prefix_forward(model, ids: tuple[int, ...], new: tuple[int, ...], repeats: int) -> float:
    """Seconds of the prefix forward that adds `new` to the cached prefix `ids` (the cache itself left as it is)."""
    import torch

    with torch.inference_mode():
        state = model._advance(ids)
    tokens = torch.tensor([new], device=model.device)

    def forward():
        with torch.inference_mode():
            model.model(input_ids=tokens, past_key_values=model._expanded(state.cache, 1), use_cache=True,
                        logits_to_keep=1)

    return _typical_seconds(forward, repeats)


def _model_costs(model, role: str, prompt, steps, texts, rows: int, config, repeats: int,
                 raw: dict[str, Any]) -> dict[str, float]:
    ids = model.prefix_ids(prompt, steps)
    extra = tuple(i for text in texts for i in model.tokenizer.encode(text, add_special_tokens=False))
    one = _prefix_forward(model, ids, extra[:1], repeats)
    many = _prefix_forward(model, ids, extra[:PREFILL_TOKENS], repeats)
    commit = (many - one) / (PREFILL_TOKENS - 1)
    batched, single = (_decoding_iterations(model, ids, r, config, repeats) for r in (rows, 1))
    raw[f"{role}_decode_iteration_seconds"] = {str(rows): batched, "1": single}
    return {f"{role}_decode": statistics.median(batched) / rows, f"{role}_decode_single": statistics.median(single),
            f"{role}_commit": commit, f"{role}_commit_step": max(0.0, one - commit)}


def _fixed_drafts(model, texts: list[str], count: int, length: int) -> list[Draft]:
    """`count` drafts of exactly `length` tokens each, cut from fixed text."""
    ids = [i for text in texts for i in model.tokenizer.encode(text, add_special_tokens=False)]
    return [Draft("", tuple(ids[(k * length + j) % len(ids)] for j in range(length)), model.vocab, 0.0, "length")
            for k in range(count)]


def measure_token_costs(components, config: DecodingConfig, prompt: Prompt, solution: list[Draft],
                        repeats: int = 5) -> tuple[TokenCosts, dict[str, Any]]:
    """TokenCosts at the config's n_small and n_big, and the raw timings they come from, at the prefix of `prompt`
    and the first 3 steps of `solution` (the later ones are the text prefix forwards and scoring read)."""
    small, big, reward = components.small, components.big, components.reward
    n_small, n_big = config.candidates("small"), config.candidates("big")
    steps, rest = solution[:3], [s.text for s in solution[3:]]
    raw: dict[str, Any] = {}
    values = {**_model_costs(small, "small", prompt, steps, rest, n_small, config, repeats, raw),
              **_model_costs(big, "big", prompt, steps, rest, n_big, config, repeats, raw)}
    scoring = {}
    for length in SCORED_TOKENS:
        drafts = _fixed_drafts(big, rest, n_small, length)
        scoring[length] = _typical_seconds(
            lambda: big.token_logprobs(prompt, steps, drafts, temperature=config.temperature), repeats)
    short, long = SCORED_TOKENS
    values["big_scoring"] = max(0.0, scoring[long] - scoring[short]) / (n_small * (long - short))
    values["big_scoring_step"] = max(0.0, scoring[short] - n_small * (short - 1) * values["big_scoring"])
    problem = load_problems("gsm8k", limit=1)[0].question
    real = small.draft(Prompt(problem, config.system_prompt), [], n_small, temperature=config.temperature,
                       max_tokens=config.max_step_tokens, seed=0)
    texts = [d.text for d in real]
    # a judge's forwards are priced from its model's costs (cost_model.rewarding_seconds): here, what it adds to them
    own = getattr(reward, "verifier", None) if judge_role(reward.name) else reward
    values["reward"] = (_typical_seconds(lambda: own.score_candidates(problem, [], texts), repeats) / len(texts)
                        if own is not None else 0.0)
    raw.update({"prefix_tokens": len(small.prefix_ids(prompt, steps)), "scored_rows": n_small,
                "scoring_call_seconds": {str(length): seconds for length, seconds in scoring.items()}})
    return TokenCosts(**values), raw


def recomputation(components, config: DecodingConfig, problems: int, steps: int) -> dict[str, Any]:
    """GSI on the first GSM8K problems: per committed token, the tokens each model had computed and computed
    again, and all its prefix-forward tokens; also the committed step's mean length and the acceptance."""
    models = {"small": components.small, "big": components.big}
    for model in models.values():
        model.forget_prefix()
        model.tokens_forwarded.clear()
    committed, drafted, decided, accepted = 0, [], 0, 0
    for problem in load_problems("gsm8k", limit=problems):
        run = Run.of(run_method("gsi", problem.question, components.small, components.big, components.reward,
                                config.replace(max_steps=steps)))
        committed += sum(step.committed.num_tokens for step in run.steps)
        drafted += [c.num_tokens for step in run.steps for c in step.candidates]
        decided += run.summary.accepted + run.summary.fallbacks
        accepted += run.summary.accepted
    per_token = {role: {kind: m.tokens_forwarded[kind] / max(1, committed) for kind in ("recomputed", "prefix")}
                 for role, m in models.items()}
    return {"recomputed_per_committed_token": {role: v["recomputed"] for role, v in per_token.items()},
            "prefix_tokens_per_committed_token": {role: v["prefix"] for role, v in per_token.items()},
            "committed_tokens": committed, "mean_draft_tokens": statistics.mean(drafted) if drafted else 0.0,
            "acceptance": accepted / decided if decided else None}


def prefix_copy(model, config: DecodingConfig, rows: int, repeats: int = 5) -> dict[str, Any]:
    """What starting a batch from the prefix cache costs: the deep copy and interleave the engine made before,
    against the views it makes now (at the prefix `measure_token_costs` used, left cached)."""
    import torch

    state = model._prefix

    def deep():
        with torch.inference_mode():
            copied = copy.deepcopy(state.cache)
            copied.batch_repeat_interleave(rows)

    return {"rows": rows, "prefix_tokens": len(state.ids), "deepcopy_seconds": _typical_seconds(deep, repeats),
            "views_seconds": _typical_seconds(lambda: model._expanded(state.cache, rows), repeats)}


def economics(costs: TokenCosts, n_small: int, n_big: int, tokens: float, recomputed: dict[str, float],
              judge: str | None = None) -> dict[str, Any]:
    """The ratio against acceptance, the break-even and the floor at these widths and step length (with the
    forwards of a judge reward on the `judge` model)."""
    work = Workload(n_small, n_big, tokens, recomputed["small"], recomputed["big"], judge)
    return {"n_small": n_small, "n_big": n_big, "tokens": tokens,
            "ratio_by_acceptance": {str(a): ratio(costs, work, a) for a in ACCEPTANCES},
            "break_even_acceptance": break_even_acceptance(costs, work), "floor_ratio": floor_ratio(costs, work)}


def _at_widths(costs: TokenCosts, n_small: int, n_big: int, measured: tuple[int, int]) -> TokenCosts:
    """The same machine's costs with π_S decoding n_small rows and π_B n_big (each iteration on the straight line
    through the measured one-row and batched iterations)."""
    return TokenCosts.from_dict({**costs.to_dict(),
                                 "small_decode": costs.iteration_seconds("small", n_small, measured[0]) / n_small,
                                 "big_decode": costs.iteration_seconds("big", n_big, measured[1]) / n_big})


def measure_costs(components, config: DecodingConfig, problems: int, steps: int, solution: tuple[Prompt, list[Draft]],
                  cpu: dict[str, Any]) -> dict[str, Any]:
    """The `costs` measure: TokenCosts, the economics at the run's widths (and a grid of others, and GPU-like),
    recomputation with K/V kept and switched off, and the prefix copy. `solution`: a prompt and 12 fixed steps;
    `cpu`: the CPU's flags, recorded with the result."""
    n_small, n_big = config.candidates("small"), config.candidates("big")
    costs, raw = measure_token_costs(components, config, *solution)
    copied = prefix_copy(components.big, config, n_big)
    kept = recomputation(components, config, problems, steps)
    for model in (components.small, components.big):
        model.keep_computed = False
    try:
        before = recomputation(components, config, problems, steps)
    finally:
        for model in (components.small, components.big):
            model.keep_computed = True
    tokens, judge = kept["mean_draft_tokens"] or float(SCORED_TOKENS[0]), judge_role(components.reward.name)
    recomputed = kept["recomputed_per_committed_token"]
    here = economics(costs, n_small, n_big, tokens, recomputed, judge)
    grid = [economics(_at_widths(costs, s, b, (n_small, n_big)), s, b, tokens, recomputed, judge)
            for s in sorted({1, 2, n_small}) for b in sorted({n_big, 2 * n_big})]
    gpu = economics(costs.gpu_like(0.1), n_small, n_big, tokens, recomputed, judge)
    return {**here, "judge": judge, "token_costs": costs.to_dict(), "measured": raw, "widths": grid,
            "gpu_like": {"scoring_over_decoding": 0.1, **gpu},
            "recomputed_per_committed_token": recomputed,
            "recomputation": kept, "recomputation_without_kept_kv": before, "prefix_copy": copied, "cpu": cpu}


def cost_rows(c: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The `costs` measure as rows of the bench's table."""
    t = c["token_costs"]
    ms = {k: 1000 * v for k, v in t.items()}
    even = c["break_even_acceptance"]
    rec, before = c["recomputed_per_committed_token"], c["recomputation_without_kept_kv"]["recomputed_per_committed_token"]
    copied = c["prefix_copy"]
    return [
        (f"costs: π_S / π_B decoding per row-token ({c['n_small']} / {c['n_big']} rows; one row)",
         f"{ms['small_decode']:.1f} / {ms['big_decode']:.1f} ms ({ms['small_decode_single']:.1f} / "
         f"{ms['big_decode_single']:.1f} ms)", ""),
        ("costs: π_B scoring per drafted token (fixed part of a call); reward per candidate",
         f"{ms['big_scoring']:.1f} ({ms['big_scoring_step']:.0f}) ms; {ms['reward']:.1f} ms", ""),
        ("costs: prefix forward per token (fixed part), π_S / π_B",
         f"{ms['small_commit']:.1f} ({ms['small_commit_step']:.0f}) / {ms['big_commit']:.1f} ({ms['big_commit_step']:.0f}) ms",
         ""),
        (f"GSI / sbon-big predicted at {c['tokens']:.0f}-token steps: floor (100% acceptance); break-even acceptance",
         f"{c['floor_ratio']:.2f}; {_share(even)}", "floor < 1"),
        ("the same priced as on a GPU (scoring a token = 0.1 × decoding one): floor; break-even",
         f"{c['gpu_like']['floor_ratio']:.2f}; {_share(c['gpu_like']['break_even_acceptance'])}", ""),
        ("tokens computed again per committed token, π_S / π_B (K/V kept; switched off)",
         f"{rec['small']:.3f} / {rec['big']:.3f} ({before['small']:.2f} / {before['big']:.2f})", "≤ 0.05"),
        (f"starting a {copied['rows']}-row batch from a {copied['prefix_tokens']}-token prefix: deep copy; views",
         f"{1000 * copied['deepcopy_seconds']:.1f} ms; {1000 * copied['views_seconds']:.2f} ms", ""),
    ]


def _share(value: float | None) -> str:
    return "never" if value is None else f"{value:.0%}"
