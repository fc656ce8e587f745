"""`python -m gsi_core bench`: how fast the engine is, measured side by side in one process and printed as ratios.

- engine overhead: a step's wall time minus the time inside model forwards and the reward, as a share of it;
- prefix growth: one GSI step (π_S drafts + π_B scoring) at step 1 and at step 20 of a long solution;
- batching: drafting n = 1, 4, 16 candidates at the same prefix;
- the paper's headline: GSI wall time / sbon-big wall time over the same problems and seeds, with acceptance;
- int8 decoding off and on: drafting per token for both models against plain transformers `generate` on the
  loaded weights, π_B's scoring per token, the drafts' log-probs against the loaded weights, and the headline
  again, all in this one process; with the CPU's flags and the process's peak memory;
- memory: the process's peak resident memory once the models are loaded, after the first step and after the whole
  GSI run of the app's default example (GSM8K problem 0) at the preset's settings (`docs/memory.md`);
- costs (not in the default): per-token costs and what they make of GSI against sbon-big (gsi_core/cost_bench.py).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import re
import resource
import statistics
import sys
import time
from typing import Any, Iterator, Sequence

from .config import DecodingConfig
from .cost_bench import cost_rows, measure_costs
from .data import load_problems
from .events import StepEvent
from .methods import REFERENCE_METHOD, run_method
from .int8 import cache_in_dtype, int8_decoder, int8_kernel_available
from .models import TransformersStepModel
from .provenance import cpu_fields
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

    def score_drafts(self, prompt, previous, drafts):
        return self._timed(self.reward.score_drafts, prompt, previous, drafts)

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
    drafts = small.draft(prompt, steps, n, temperature=config.temperature, max_tokens=config.max_step_tokens, seed=seed,
                         step_end=config.step_end)
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
            drafts = small.draft(prompt, [], n, temperature=config.temperature, max_tokens=config.max_step_tokens,
                                 seed=r, step_end=config.step_end)
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
    clock = ForwardClock([m for model in (components.small, components.big) for m in forward_modules(model)])
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


def _rss_gib() -> float:
    """This process's resident memory now (Linux), in GiB."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**30


def _peak_rss_gib() -> float:
    """This process's peak resident memory so far (Linux: KiB in `ru_maxrss`), in GiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def _tensors(module: Any) -> dict[int, Any]:
    """A module's parameters and buffers by storage, so a tensor two modules share counts once."""
    return {t.untyped_storage().data_ptr(): t for t in (*module.parameters(), *module.buffers())}


def _weights_gib(module: Any, besides: Any = None) -> float:
    """What `module`'s tensors hold, in GiB, less those it shares with `besides`."""
    shared = _tensors(besides) if besides is not None else {}
    return sum(t.untyped_storage().nbytes() for key, t in _tensors(module).items() if key not in shared) / 2**30


def memory(components, config: DecodingConfig) -> dict[str, Any]:
    """Peak RSS after each stage of the app's default run, cumulative (the most a Space must hold): the models
    loaded (the load's own peak included), the first step, the whole GSI run; with what each weight copy takes."""
    problem = load_problems("gsm8k", limit=1)[0]
    peaks, run, started = {"models_loaded": _peak_rss_gib()}, Run(), time.perf_counter()
    for event in run_method("gsi", problem.question, components.small, components.big, components.reward,
                            config.replace(max_steps=min(config.max_steps, 45))):  # the app's step cap
        run = run.add(event)
        if isinstance(event, StepEvent):
            peaks.setdefault("first_step", _peak_rss_gib())
            print(f"[gsi] bench: memory, step {len(run.steps)} at {time.perf_counter() - started:.0f} s, "
                  f"peak {_peak_rss_gib():.2f} GiB", file=sys.stderr, flush=True)
    peaks["whole_run"] = _peak_rss_gib()
    weights = {role: {"dtype": str(model.model.dtype).removeprefix("torch."),
                      "loaded_gib": _weights_gib(model.model),
                      "int8_copy_gib": None if model.decoder is model.model else _weights_gib(model.decoder, model.model)}
               for role, model in (("small", components.small), ("big", components.big))}
    return {"peak_rss_gib": peaks, "rss_after_gib": _rss_gib(), "weights": weights, "problem": "gsm8k/0",
            "steps": len(run.steps), "answer": run.summary.answer if run.summary else None}


def forward_modules(model: TransformersStepModel) -> list[Any]:
    """The torch modules whose forwards are the model's work: the loaded model, and its int8 decoder when on."""
    return [model.model] if model.decoder is model.model else [model.model, model.decoder]


def cpu_flags() -> dict[str, Any]:
    """What decides CPU matmul speed here: the vector and matrix extensions the CPU has, and torch's choice."""
    import torch

    flags = cpu_fields().get("flags", "").split()
    wanted = sorted(f for f in flags if f in ("avx2", "fma", "f16c", "avx_vnni") or f.startswith(("avx512", "amx")))
    return {"flags": wanted, "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "threads": torch.get_num_threads(), "int8_kernel": int8_kernel_available()}


def _drafting_against_generate(model, prompt, config, tokens, repeats) -> tuple[float, float, list[Draft]]:
    """Seconds per drafted token of the engine at a warm prefix and of plain transformers `generate` on the loaded
    weights, taken in turn `repeats` times so both see the same machine (medians), and the engine's last drafts.

    `generate` samples n rows of exactly `tokens` new tokens at T, with no top-k/top-p, on a cache that already
    holds the prompt but its last token (the engine's prefix cache holds all of it and the next logits)."""
    import torch
    from transformers import DynamicCache, GenerationConfig

    ids = list(model.prompt_ids(prompt))
    settings = GenerationConfig(do_sample=True, temperature=config.temperature, top_k=None, top_p=None,
                                max_new_tokens=tokens, min_new_tokens=tokens, pad_token_id=0,
                                eos_token_id=sorted(model.eos_ids))
    model.draft(prompt, [], 1, temperature=config.temperature, max_tokens=1, seed=0)  # warm the prefix cache
    engine, plain = [], []
    for r in range(repeats):
        start = time.perf_counter()
        drafts = model.draft(prompt, [], config.n, temperature=config.temperature, max_tokens=tokens, seed=r)
        engine.append((time.perf_counter() - start) / sum(len(d.token_ids) for d in drafts))
        with torch.inference_mode():
            cache = DynamicCache(config=model.model.config)
            model.model(input_ids=torch.tensor([ids[:-1]], device=model.device), past_key_values=cache, use_cache=True)
            cache.batch_repeat_interleave(config.n)
            torch.manual_seed(r)
            start = time.perf_counter()
            model.model.generate(input_ids=torch.tensor([ids] * config.n, device=model.device), past_key_values=cache,
                                 attention_mask=torch.ones((config.n, len(ids)), dtype=torch.long, device=model.device),
                                 generation_config=settings)
            plain.append((time.perf_counter() - start) / (config.n * tokens))
    return statistics.median(engine), statistics.median(plain), drafts


def _against_loaded_weights(model, prompt, config, drafts) -> dict[str, float]:
    """How far the drafts' log-probs are from the loaded weights scoring the same tokens, per token and per step."""
    loaded = model.token_logprobs(prompt, [], drafts, temperature=config.temperature)
    per_token = [abs(a - b) for d, ref in zip(drafts, loaded) for a, b in zip(d.token_logprobs, ref)]
    per_step = [abs(d.logprob - sum(ref)) for d, ref in zip(drafts, loaded)]
    return {"token_max": max(per_token), "token_mean": statistics.mean(per_token), "step_max": max(per_step),
            "step_mean": statistics.mean(per_step), "tokens": len(per_token)}


def int8_decoding(components, config: DecodingConfig, problems: int, steps: int, tokens: int = 48,
                  repeats: int = 2) -> dict[str, Any]:
    """Int8 decoding off, then on, in this process on the same prompt, problems and seeds: the engine's drafting
    per token against plain `generate` on the loaded weights (taken in turn with it), π_S/π_B, π_B's scoring per
    token, the drafts' log-probs against the loaded weights, and GSI / sbon-big. Decoders are built here if the
    preset has them off, and the preset's own choice is restored at the end. Memory: the resident set once both
    models and their decoders are loaded, and the process's peak."""
    small, big = components.small, components.big
    models = {"small": small, "big": big}
    chosen = {role: m.decoder for role, m in models.items()}
    int8 = _int8_decoders(models)
    prompt = Prompt(load_problems("gsm8k", limit=1)[0].question)
    result: dict[str, Any] = {"tokens": tokens, "rows": config.n, "cpu": cpu_flags(), "rss_loaded_gib": _rss_gib(),
                              "dtype": {role: str(m.model.dtype).removeprefix("torch.") for role, m in models.items()}}
    try:
        for mode in ("off", "on"):
            small.decoder, big.decoder = (int8["small"], int8["big"]) if mode == "on" else (small.model, big.model)
            row: dict[str, Any] = {"drafting": {}, "generate": {}, "vs_generate": {}, "vs_loaded_weights": {}}
            for role, model in models.items():
                seconds, plain, drafts = _drafting_against_generate(model, prompt, config, tokens, repeats)
                row["drafting"][role], row["generate"][role] = seconds, plain
                row["vs_generate"][role] = seconds / plain
                row["vs_loaded_weights"][role] = _against_loaded_weights(model, prompt, config, drafts)
                if role == "small":
                    start = time.perf_counter()
                    big.token_logprobs(prompt, [], drafts, temperature=config.temperature)
                    row["scoring"] = (time.perf_counter() - start) / sum(len(d.token_ids) for d in drafts)
            row["small_over_big"] = row["drafting"]["small"] / row["drafting"]["big"]
            row["headline"] = headline(components, config.replace(max_steps=steps), problems)
            result[mode] = row
    finally:
        small.decoder, big.decoder = chosen["small"], chosen["big"]
    result["peak_rss_gib"] = _peak_rss_gib()
    return result


def _int8_decoders(models: dict[str, TransformersStepModel]) -> dict[str, Any]:
    """Each model's int8 decoder: its own where the preset has int8 decoding on, else built here."""
    return {role: m.decoder if m.decoder is not m.model else int8_decoder(m.model) for role, m in models.items()}


def int8_width(components, widths: Sequence[int] = (1, 4, 16), context: int = 256, steps: int = 6) -> dict[str, Any]:
    """One decoding forward (every row adds a token to a `context`-token cache) on the loaded weights and on the
    int8 copy, per batch width: int8 weight-only kernels save memory traffic, which dominates at few rows, while
    at many rows the work is compute and the saving shrinks (labelling rolls out 16 rows; the paper's n is 16)."""
    import torch

    models = {"small": components.small, "big": components.big}
    int8 = _int8_decoders(models)
    generator = torch.Generator().manual_seed(0)
    result: dict[str, Any] = {"context": context, "cpu": cpu_flags()}
    for role, model in models.items():
        result[role] = {"off": {}, "on": {}}
        for rows in widths:
            ids = torch.randint(0, model.model.config.vocab_size, (rows, context), generator=generator).to(model.device)
            token = ids[:, -1:]
            with torch.inference_mode():
                prefix = model.model(input_ids=ids, use_cache=True).past_key_values
                for mode, decoder in (("off", model.model), ("on", int8[role])):
                    cache = cache_in_dtype(copy.deepcopy(prefix), decoder.dtype)  # as the engine passes it
                    decoder(input_ids=token, past_key_values=cache, use_cache=True)  # warm
                    start = time.perf_counter()
                    for _ in range(steps):
                        cache = decoder(input_ids=token, past_key_values=cache, use_cache=True).past_key_values
                    result[role][mode][str(rows)] = (time.perf_counter() - start) / steps
    return result


MEASURES = ("memory", "batching", "prefix_growth", "headline", "int8_decoding", "int8_width", "costs")


def run_bench(components, config: DecodingConfig, problems: int = 2, steps: int = 4,
              measures: Sequence[str] = MEASURES) -> dict[str, Any]:
    result = {"config": dataclasses.asdict(config)}
    for name, measure in (
        ("memory", lambda: memory(components, config)),  # first: its peaks are the app's, not the other measures'
        ("batching", lambda: batching(components.small, config)),
        ("prefix_growth", lambda: prefix_growth(components.small, components.big, config)),
        ("headline", lambda: headline(components, config.replace(max_steps=steps), problems)),
        ("int8_decoding", lambda: int8_decoding(components, config, problems, steps)),
        ("int8_width", lambda: int8_width(components)),
        ("costs", lambda: measure_costs(components, config, problems, steps, long_solution(components.small, 12),
                                        cpu_flags())),
    ):
        if name not in measures:
            continue
        started = time.perf_counter()
        print(f"[gsi] bench: {name}…", file=sys.stderr, flush=True)
        result[name] = measure()
        print(f"[gsi] bench: {name} took {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    return result


def report(result: dict[str, Any]) -> str:
    """The bench as a Markdown table of ratios and goals, for the measures it ran."""
    rows = []
    if "headline" in result:
        rows += _headline_rows(result["headline"])
    if "prefix_growth" in result:
        rows += _prefix_growth_rows(result["prefix_growth"])
    if "batching" in result:
        rows += _batching_rows(result["batching"])
    if "int8_decoding" in result:
        rows += _int8_rows(result["int8_decoding"])
    if "int8_width" in result:
        rows += _int8_width_rows(result["int8_width"])
    if "memory" in result:
        rows += _memory_rows(result["memory"])
    if "costs" in result:
        rows += cost_rows(result["costs"])
    lines = ["| measure | this run | goal |", "|---|---|---|"]
    lines += [f"| {a} | {b_} | {c} |" for a, b_, c in rows]
    return "\n".join(lines)


def _headline_rows(h: dict[str, Any]) -> list[tuple[str, str, str]]:
    o = h["overhead"]
    return [
        ("engine overhead: step time outside model forwards and the reward",
         f"{o['share']:.1%} of {o['wall']:.0f} s of GSI steps", "≤ 10%"),
        _ratio_row(h, ""),
    ]


def _ratio_row(h: dict[str, Any], label: str) -> tuple[str, str, str]:
    acceptance = f"; acceptance {h['acceptance']:.0%}" if h["acceptance"] is not None else ""
    return (f"GSI / {REFERENCE_METHOD} wall time{label}, {h['problems']} GSM8K problems, same seeds",
            f"{h['wall_ratio']:.2f} (GSI {h['totals']['gsi']['wall']:.0f} s, {REFERENCE_METHOD} "
            f"{h['totals'][REFERENCE_METHOD]['wall']:.0f} s{acceptance})", "≤ 0.72 (paper: up to 28% lower)")


def _prefix_growth_rows(p: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        ("prefix growth: GSI step at step 20 / step 1, per drafted token",
         f"{p['ratio_per_token']:.2f} (per step {p['ratio']:.2f}; {p['prefix_tokens']['1']} → {p['prefix_tokens']['20']} "
         f"prefix tokens; cold cache at step 20: {p['cold_seconds_per_token'] / p['seconds_per_token']['20']:.1f}× slower)",
         "≤ 1.3"),
    ]


def _batching_rows(b: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        *[(f"batching: drafting n = {n} / ({n} × n = 1)",
           f"{b['cost_vs_n_times_one'][n]:.2f} ({b['seconds'][n]:.1f} s for {b['tokens'][n]:.0f} tokens: "
           f"{b['seconds'][n] / b['tokens'][n]:.3f} s per token)",
           "well under 1" if n != min(b["seconds"], key=int) else "")
          for n in b["seconds"]],
    ]


def _int8_rows(d: dict[str, Any]) -> list[tuple[str, str, str]]:
    rows = []
    for role, name in (("small", "π_S"), ("big", "π_B")):
        for mode in ("off", "on"):
            rows.append((f"int8 {mode}: {name} drafting per token / plain `generate` ({d['rows']} rows)",
                         f"{d[mode]['vs_generate'][role]:.2f} ({1000 * d[mode]['drafting'][role]:.1f} ms vs "
                         f"{1000 * d[mode]['generate'][role]:.1f} ms)", "≤ 0.60" if mode == "on" else ""))
        near = d["on"]["vs_loaded_weights"][role]
        rows.append((f"int8 on: {name} drafts' log-probs − the loaded weights' (nats)",
                     f"per token max {near['token_max']:.3f}, mean {near['token_mean']:.3f}; per step max "
                     f"{near['step_max']:.2f}, mean {near['step_mean']:.2f}", ""))
    for mode in ("off", "on"):
        rows.append((f"int8 {mode}: π_S / π_B drafting per token; π_B scoring per token",
                     f"{d[mode]['small_over_big']:.2f}; {1000 * d[mode]['scoring']:.1f} ms", ""))
        rows.append(_ratio_row(d[mode]["headline"], f" (int8 {mode})"))
    gsi_wall = {mode: d[mode]["headline"]["totals"]["gsi"]["wall"] for mode in ("off", "on")}
    rows.append(("GSI wall time, int8 on / off", f"{gsi_wall['on'] / gsi_wall['off']:.2f}", ""))
    rows.append(("memory (RSS), both models with both weight copies: once loaded; the process's peak",
                 f"{d['rss_loaded_gib']:.1f} GiB; {d['peak_rss_gib']:.1f} GiB", "fits 16 GB"))
    return rows


def _int8_width_rows(w: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(f"one decoding forward of {name}, {rows} rows: int8 / loaded weights",
             f"{w[role]['on'][rows] / w[role]['off'][rows]:.2f} ({1000 * w[role]['on'][rows]:.0f} ms vs "
             f"{1000 * w[role]['off'][rows]:.0f} ms)", "")
            for role, name in (("small", "π_S"), ("big", "π_B")) for rows in w[role]["on"]]


def _memory_rows(m: dict[str, Any]) -> list[tuple[str, str, str]]:
    peaks = m["peak_rss_gib"]
    return [(f"peak RSS, {stage.replace('_', ' ')}", f"{peaks[stage]:.2f} GiB", "≤ 10 GiB") for stage in peaks]
