"""One GSI step through the in-process backend and through vLLM servers, on the same tiny checkpoints, side by
side in one run, with the time split by operation (the step's stage times) and the scoring routes compared.

    GSI_VLLM_PYTHON=.venv-vllm/bin/python .venv/bin/python scripts/measure_vllm_step.py [--repeats 5]
        [--small DIR --big DIR]   # checkpoints to serve instead of the tiny ones, e.g. the offline pair's
                                  # converted cache (python -c "from gsi_core.offline_weights import materialize …")

Both backends use the step verifier as the reward, so the comparison is about the models; the vLLM PRM's
call is timed on its own. Every GSI step is forced to fall back (u = +inf), so all four stages run. The two
backends run one after the other, each in a process of its own (both copies of the offline pair do not fit in
memory at once), on the same drafts.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from gsi_core import DecodingConfig, StepVerifier  # noqa: E402
from gsi_core.loading import ModelSpec, load_reward, load_step_model  # noqa: E402
from gsi_core.methods import run_method  # noqa: E402
from gsi_core.models import Draft, Prompt  # noqa: E402
from testkit.tiny import build_tokenizer, save_vllm_lm, save_vllm_prm  # noqa: E402
from testkit.vllm_servers import LM_FLAGS, Server, prm_flags  # noqa: E402

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


def measure(small, big, config, repeats: int, prompt: Prompt, committed, drafts) -> dict:
    """Stage times of one GSI step (median over seeds) and the scoring routes, for one backend's models."""
    gsi_step(small, big, config)  # warm: first requests, caches, the vLLM log-prob check
    steps = [gsi_step(small, big, config.replace(seed=seed)) for seed in range(repeats)]
    result = {"step": {k: statistics.median(r[k] for r in steps) for k in (*STAGES, "wall")}}
    for temperature in (0.7, 1.0):
        result[f"scoring T={temperature:g}"] = timed(
            lambda: big.logprobs(prompt, committed, drafts, temperature=temperature), repeats)
    return result


def run_phase(args, backend: str) -> dict:
    """One backend's measurements, in a process of its own so its memory is gone before the other starts
    (the offline pair in float32 in both backends at once does not fit in 24 GiB)."""
    tokenizer = build_tokenizer(vocab_size=400)
    root = Path(args.root)
    paths = {"small": Path(args.small) if args.small else root / "small",
             "big": Path(args.big) if args.big else root / "big"}
    config = DecodingConfig(n=args.n, max_steps=1, max_step_tokens=args.max_step_tokens, threshold=float("inf"))
    prompt = Prompt(PROBLEM)
    if backend == "in-process":
        models = {r: load_step_model(ModelSpec(str(paths[r]), dtype="float32")) for r in paths}
        committed = models["small"].draft(prompt, [], 1, temperature=0.7, max_tokens=args.max_step_tokens, seed=0)
        drafts = models["small"].draft(prompt, committed, args.n, temperature=0.7, max_tokens=args.max_step_tokens,
                                       seed=1)
        (root / "drafts.json").write_text(json.dumps([dataclasses.asdict(d) for d in committed + drafts]))
        return measure(models["small"], models["big"], config, args.repeats, prompt, committed, drafts)
    saved = [Draft(**{**d, "token_ids": tuple(d["token_ids"])}) for d in json.loads((root / "drafts.json").read_text())]
    committed, drafts = saved[:1], saved[1:]
    servers = {"small": Server(paths["small"], root / "small.log", *LM_FLAGS),
               "big": Server(paths["big"], root / "big.log", *LM_FLAGS),
               "prm": Server(root / "prm", root / "prm.log", *prm_flags(tokenizer))}
    try:
        for server in servers.values():
            server.wait_ready()
        models = {r: load_step_model(ModelSpec(str(paths[r]), backend="vllm", url=servers[r].url)) for r in paths}
        result = measure(models["small"], models["big"], config, args.repeats, prompt, committed, drafts)
        prm = load_reward({"kind": "prm", "backend": "vllm", "url": servers["prm"].url, "model": str(root / "prm")})
        result["prm"] = timed(lambda: prm.score_candidates(PROBLEM, [committed[0].text], [d.text for d in drafts]),
                              args.repeats)
        result["drafts"] = {"tokens": sum(len(d.token_ids) for d in drafts),
                            "prefix": len(models["big"].prefix_ids(prompt, committed))}
        return result
    finally:
        for server in servers.values():
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--n", type=int, default=16)
    parser.add_argument("--max-step-tokens", type=int, default=48)
    parser.add_argument("--small", help="a checkpoint directory for π_S (default: a tiny random model)")
    parser.add_argument("--big", help="a checkpoint directory for π_B")
    parser.add_argument("--phase", choices=["in-process", "vLLM"], help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(run_phase(args, args.phase)))
        return
    tokenizer = build_tokenizer(vocab_size=400)
    root = Path(tempfile.mkdtemp(prefix="gsi-vllm-measure-"))
    save_vllm_lm(tokenizer, 1, root / "small", step_bias=4.0)
    save_vllm_lm(tokenizer, 2, root / "big", step_bias=4.0)
    save_vllm_prm(tokenizer, 3, root / "prm")  # the PRM call is timed on the tiny PRM either way
    results = {}
    for backend in ("in-process", "vLLM"):
        done = subprocess.run([sys.executable, __file__, *sys.argv[1:], "--phase", backend, "--root", str(root)],
                              stdout=subprocess.PIPE, text=True, check=True)
        results[backend] = json.loads(done.stdout.splitlines()[-1])

    names = [Path(p).name if p else "tiny" for p in (args.small, args.big)]
    print(f"π_S {names[0]}, π_B {names[1]}, float32 in both backends")
    print(f"One GSI step (n={args.n}, ≤{args.max_step_tokens} tokens per draft, forced fallback), "
          f"median of {args.repeats} seeds, seconds:")
    print(f"| backend | {' | '.join(STAGES)} | wall |\n|---|{'---|' * (len(STAGES) + 1)}")
    for backend, result in results.items():
        print(f"| {backend} | " + " | ".join(f"{result['step'][k]:.3f}" for k in (*STAGES, "wall")) + " |")
    print("| vLLM / in-process | " + " | ".join(
        f"{results['vLLM']['step'][k] / results['in-process']['step'][k]:.2f}" for k in (*STAGES, "wall")) + " |")
    drafts = results["vLLM"]["drafts"]
    print(f"\nπ_B scoring {args.n} drafts ({drafts['tokens']} tokens) after a {drafts['prefix']}-token prefix, "
          f"median of {args.repeats}:")
    for key, route in (("scoring T=0.7", "vLLM: one-token request per position"),
                       ("scoring T=1", "vLLM: prompt log-probs")):
        ratio = results["vLLM"][key] / results["in-process"][key]
        print(f"- {key}: in-process {results['in-process'][key]:.3f} s, {route} {results['vLLM'][key]:.3f} s "
              f"(×{ratio:.2f})")
    print(f"- vLLM PRM, {args.n} candidates in one /pooling request: {results['vLLM']['prm']:.3f} s")


if __name__ == "__main__":
    main()
