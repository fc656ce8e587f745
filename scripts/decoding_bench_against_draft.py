"""Does the cost bench's decoding iteration cost what a real draft's does? Per-forward times by batch rows.

For π_S and π_B of the offline preset, twice each: the bench's own `_decoding_iterations` (4 rows that never stop,
24 tokens, at the bench's prefix) and six real `draft` calls at the same prefix (rows leave as their steps end),
with a hook on the decoder timing every forward. Prints JSON: medians in ms, forwards counted by rows, and the
draft calls' seconds per iteration.

    PYTHONPATH=. python scripts/decoding_bench_against_draft.py > assets/decoding_bench_against_draft_offline_cpu.json
"""
import time, statistics, collections, json
import torch
from gsi_core.config import get_preset
from gsi_core.loading import load_components
from gsi_core import cost_bench
from gsi_core.bench import long_solution

preset = get_preset("offline-cpu")
parts = load_components(preset)
config = preset.decoding.replace(n=4)
out = {}
for role in ("small", "big"):
    model = getattr(parts, role)
    rec = []
    state = {}
    def pre(m, a, k):
        state['t'] = time.perf_counter()
    def post(m, a, k, o):
        rec.append((k['input_ids'].shape[0], k['past_key_values'].get_seq_length(), time.perf_counter() - state['t']))
    h1 = model.decoder.register_forward_pre_hook(pre, with_kwargs=True)
    h2 = model.decoder.register_forward_hook(post, with_kwargs=True)
    prompt, sol = long_solution(model, 12)
    ids = model.prefix_ids(prompt, sol[:3])
    res = {}
    for trial in range(2):
        rec.clear()
        its = cost_bench._decoding_iterations(model, ids, 4, config, 5)
        fw = [r[2] for r in rec if r[0] == 4]
        res[f"bench_{trial}"] = {"iteration_median_ms": 1000 * statistics.median(its), "forward4_median_ms": 1000 * statistics.median(fw),
                                 "cache": [min(r[1] for r in rec), max(r[1] for r in rec)]}
        rec.clear()
        t0 = time.perf_counter(); drafted = 0
        for seed in range(6):
            with torch.inference_mode():
                ds = model.draft(prompt, sol[:3], 4, temperature=0.7, max_tokens=160, seed=seed)
            drafted += max(len(d.token_ids) for d in ds)
        by = collections.defaultdict(list)
        for r in rec:
            by[r[0]].append(r[2])
        res[f"draft_{trial}"] = {f"forward{k}_median_ms": 1000 * statistics.median(v) for k, v in sorted(by.items())}
        res[f"draft_{trial}"]["counts"] = {k: len(v) for k, v in sorted(by.items())}
        res[f"draft_{trial}"]["seconds_per_iteration_ms"] = 1000 * (time.perf_counter() - t0) / drafted
    h1.remove(); h2.remove()
    out[role] = res
print(json.dumps(out, indent=1))
