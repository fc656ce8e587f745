"""One GSI step through the in-process backend and through vLLM servers, on the same tiny checkpoints, side by
side in one run, with the time split by operation (the step's stage times) and the scoring routes compared.

    GSI_VLLM_PYTHON=.venv-vllm/bin/python .venv/bin/python scripts/measure_vllm_step.py [--repeats 5]

Both backends use the step verifier as the reward, so the comparison is about the models; the vLLM PRM's
call is timed on its own. Every GSI step is forced to fall back (u = +inf), so all four stages run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests"), str(REPO / "tests" / "vllm")]

from gsi_core import DecodingConfig, StepVerifier  # noqa: E402
from gsi_core.loading import ModelSpec, load_step_model  # noqa: E402
from gsi_core.methods import run_method  # noqa: E402
from gsi_core.models import Prompt  # noqa: E402
from gsi_core.rewards import load_reward  # noqa: E402
from servers import LM_FLAGS, Server, prm_flags  # noqa: E402
from tiny import build_tokenizer, save_vllm_lm, save_vllm_prm  # noqa: E402

PROBLEM = "Natalia sold clips to 48 of her friends in April, and then she sold half as many in May. How many?"
STAGES = ("drafting", "reward", "scoring", "fallback")


def gsi_step(small, big, config) -> dict[str, float]:
    started = time.perf_counter()
    events = list(run_method("gsi", PROBLEM, small, big, StepVerifier(), config))
    wall = time.perf_counter() - started
    step = next(e for e in events if e.type == "step")
    return {**{stage: getattr(step.timings, stage) for stage in STAGES}, "wall": wall}


def timed(call, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--n", type=int, default=16)
    args = parser.parse_args()
    tokenizer = build_tokenizer(vocab_size=400)
    root = Path(tempfile.mkdtemp(prefix="gsi-vllm-measure-"))
    paths = {"small": save_vllm_lm(tokenizer, 1, root / "small", step_bias=4.0),
             "big": save_vllm_lm(tokenizer, 2, root / "big", step_bias=4.0)}
    save_vllm_prm(tokenizer, 3, root / "prm")
    servers = {"small": Server(paths["small"], root / "small.log", *LM_FLAGS),
               "big": Server(paths["big"], root / "big.log", *LM_FLAGS),
               "prm": Server(root / "prm", root / "prm.log", *prm_flags(tokenizer))}
    try:
        for server in servers.values():
            server.wait_ready()
        local = {r: load_step_model(ModelSpec(str(paths[r]), dtype="float32")) for r in paths}
        remote = {r: load_step_model(ModelSpec(str(paths[r]), backend="vllm", url=servers[r].url)) for r in paths}
        config = DecodingConfig(n=args.n, max_steps=1, max_step_tokens=48, threshold=float("inf"), seed=0)
        gsi_step(remote["small"], remote["big"], config)  # warm both: first requests, caches, the log-prob check
        gsi_step(local["small"], local["big"], config)
        runs = {"in-process": [], "vLLM": []}
        for repeat in range(args.repeats):  # interleaved, so machine noise hits both alike
            seeded = config.replace(seed=repeat)
            runs["in-process"].append(gsi_step(local["small"], local["big"], seeded))
            runs["vLLM"].append(gsi_step(remote["small"], remote["big"], seeded))
        print(f"One GSI step (n={args.n}, ≤48 tokens per draft, forced fallback), median of {args.repeats}, seconds:")
        print(f"| backend | {' | '.join(STAGES)} | wall |\n|---|{'---|' * (len(STAGES) + 1)}")
        medians = {}
        for backend, rows in runs.items():
            medians[backend] = {k: statistics.median(r[k] for r in rows) for k in (*STAGES, "wall")}
            print(f"| {backend} | " + " | ".join(f"{medians[backend][k]:.3f}" for k in (*STAGES, "wall")) + " |")
        print("| vLLM / in-process | " + " | ".join(
            f"{medians['vLLM'][k] / medians['in-process'][k]:.2f}" for k in (*STAGES, "wall")) + " |")

        prompt = Prompt(PROBLEM)
        committed = remote["small"].draft(prompt, [], 1, temperature=0.7, max_tokens=48, seed=0)
        drafts = remote["small"].draft(prompt, committed, args.n, temperature=0.7, max_tokens=48, seed=1)
        tokens = sum(len(d.token_ids) for d in drafts)
        print(f"\nScoring {args.n} drafts ({tokens} tokens) under π_B, median of {args.repeats}, seconds:")
        for label, model, temperature in (("in-process, T=0.7", local["big"], 0.7),
                                          ("vLLM per-position requests, T=0.7", remote["big"], 0.7),
                                          ("vLLM prompt log-probs, T=1", remote["big"], 1.0),
                                          ("in-process, T=1", local["big"], 1.0)):
            seconds = timed(lambda: model.logprobs(prompt, committed, drafts, temperature=temperature), args.repeats)
            print(f"- {label}: {seconds:.3f}")
        prm = load_reward({"kind": "prm", "backend": "vllm", "url": servers["prm"].url, "model": str(root / "prm")})
        texts = [d.text for d in drafts]
        seconds = timed(lambda: prm.score_candidates(PROBLEM, [committed[0].text], texts), args.repeats)
        print(f"- vLLM PRM, {args.n} candidates in one /pooling request: {seconds:.3f}")
    finally:
        for server in servers.values():
            server.stop()


if __name__ == "__main__":
    main()
