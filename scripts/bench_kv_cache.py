"""The engine's preallocated per-call KV cache against transformers' concatenating one, side by side in one run.

One GSI step's model work (π_S drafts n, π_B scores them) at step 1 and at step 20 of a long solution, as
`python -m gsi_core bench` measures prefix growth, once with each cache for every (round, step), alternating
which goes first. "concatenating" is what the engine did before: a deep copy of the prefix cache, repeated for
the n rows, then `torch.cat` on every token.

    python scripts/bench_kv_cache.py --preset offline-cpu --repeats 2 --out assets/kv_cache_offline_cpu.json
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gsi_core.bench import _gsi_step, long_solution  # noqa: E402
from gsi_core.config import get_preset  # noqa: E402
from gsi_core.evaluation import provenance  # noqa: E402
from gsi_core.loading import load_components  # noqa: E402
from gsi_core.models import TransformersStepModel  # noqa: E402

PREALLOCATED = TransformersStepModel._expanded


def concatenating(cache, rows, room):
    """The engine's previous copy: transformers' DynamicCache, deep-copied and repeated; it grows by torch.cat."""
    copied = copy.deepcopy(cache)
    if rows > 1:
        copied.batch_repeat_interleave(rows)
    return copied


VARIANTS = {"preallocated": PREALLOCATED, "concatenating": concatenating}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="offline-cpu")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--at", type=int, nargs=2, default=(1, 20), help="the two step numbers compared")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    preset = get_preset(args.preset)
    config = preset.decoding
    parts = load_components(preset)
    small, big = parts.small, parts.big
    prompt, solution = long_solution(small, max(args.at))
    per_token = {name: {k: [] for k in args.at} for name in VARIANTS}
    for r in range(args.repeats):
        for k in args.at:
            _gsi_step(small, big, prompt, solution[: k - 1], 1, config.replace(max_step_tokens=1), seed=r)  # warm
            order = list(VARIANTS) if r % 2 == 0 else list(reversed(VARIANTS))
            for name in order:
                TransformersStepModel._expanded = staticmethod(VARIANTS[name])
                seconds, drafted = _gsi_step(small, big, prompt, solution[: k - 1], config.n, config, seed=r)
                per_token[name][k].append(seconds / max(1, drafted))
                print(f"round {r} step {k:>2} {name:13} {seconds:6.1f} s, {drafted} tokens", file=sys.stderr, flush=True)
    TransformersStepModel._expanded = staticmethod(PREALLOCATED)

    first, last = args.at
    medians = {name: {k: statistics.median(v) for k, v in rows.items()} for name, rows in per_token.items()}
    result = {
        "prefix_tokens": {str(k): len(small.prefix_ids(prompt, solution[: k - 1])) for k in args.at},
        "seconds_per_token": {name: {str(k): v for k, v in rows.items()} for name, rows in medians.items()},
        "growth": {name: rows[last] / rows[first] for name, rows in medians.items()},
        "preallocated_over_concatenating": {
            str(k): medians["preallocated"][k] / medians["concatenating"][k] for k in args.at},
        "n": config.n, "repeats": args.repeats,
    }
    lines = [f"| cache | ms/token at step {first} ({result['prefix_tokens'][str(first)]} prefix tokens) "
             f"| ms/token at step {last} ({result['prefix_tokens'][str(last)]}) | step {last} / step {first} |",
             "|---|---:|---:|---:|"]
    lines += [f"| {name} | {1000 * rows[first]:.2f} | {1000 * rows[last]:.2f} | {result['growth'][name]:.2f} |"
              for name, rows in medians.items()]
    lines.append(f"| preallocated / concatenating | {result['preallocated_over_concatenating'][str(first)]:.2f} "
                 f"| {result['preallocated_over_concatenating'][str(last)]:.2f} | |")
    table = "\n".join(lines)
    print(table)
    if args.out:
        about = provenance(" ".join(["python"] + sys.argv), preset)
        args.out.write_text(json.dumps({**about, **result, "table": table}, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
