"""bf16 against fp32 on this machine's CPU, for the two shapes GSI runs: scoring (a prefill of n×L tokens)
and drafting (batched one-token decoding). Both dtypes are measured side by side, alternating, in one run.

    python scripts/bench_dtype.py [--model offline:qwen2.5-coder-0.5b-instruct-q4_k_m] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gsi_core.loading import ModelSpec, cpu_has_native_bf16, resolve_path  # noqa: E402


def prefill_seconds(model, tokens: torch.Tensor) -> float:
    start = time.perf_counter()
    model(input_ids=tokens, use_cache=True)
    return time.perf_counter() - start


def decode_seconds(model, tokens: torch.Tensor, steps: int) -> float:
    cache = model(input_ids=tokens, use_cache=True).past_key_values
    token = tokens[:, -1:]
    start = time.perf_counter()
    for _ in range(steps):
        cache = model(input_ids=token, past_key_values=cache, use_cache=True).past_key_values
    return (time.perf_counter() - start) / steps


@torch.inference_mode()
def main() -> None:
    from transformers import AutoModelForCausalLM

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="offline:qwen2.5-coder-0.5b-instruct-q4_k_m")
    parser.add_argument("--rows", type=int, default=4)
    parser.add_argument("--tokens", type=int, default=88)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    path = resolve_path(ModelSpec(args.model))
    models = {dtype: AutoModelForCausalLM.from_pretrained(path, dtype=dtype).eval()
              for dtype in (torch.bfloat16, torch.float32)}
    tokens = torch.randint(0, 1000, (args.rows, args.tokens))
    results = {dtype: {"prefill": [], "decode": []} for dtype in models}
    for _ in range(args.repeats):
        for dtype, model in models.items():  # alternate, so drift on a noisy machine hits both alike
            results[dtype]["prefill"].append(prefill_seconds(model, tokens))
            results[dtype]["decode"].append(decode_seconds(model, tokens[:, :16], steps=8))
    print(f"model {args.model}; CPU with native bf16: {cpu_has_native_bf16()}; threads {torch.get_num_threads()}")
    print(f"{'shape':40} {'bf16 s':>9} {'fp32 s':>9} {'bf16/fp32':>10}")
    for shape, label in (("prefill", f"prefill {args.rows}×{args.tokens} tokens (scoring)"),
                         ("decode", f"decode one token, batch {args.rows} (drafting)")):
        bf16 = statistics.median(results[torch.bfloat16][shape])
        fp32 = statistics.median(results[torch.float32][shape])
        print(f"{label:40} {bf16:9.3f} {fp32:9.3f} {bf16 / fp32:10.2f}")


if __name__ == "__main__":
    main()
