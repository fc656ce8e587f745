"""Seconds per GSI step by stage, and the acceptance rate, over the first GSM8K problems on a preset.

    python scripts/measure_gsi_steps.py --preset offline-cpu --problems 3 --max-steps 12 --out assets/gsi_steps_offline_cpu.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gsi_core import run_method  # noqa: E402
from gsi_core.config import get_preset  # noqa: E402
from gsi_core.data import load_problems  # noqa: E402
from gsi_core.events import StepEvent, to_dict  # noqa: E402
from gsi_core.loading import load_components  # noqa: E402
from gsi_core.provenance import provenance  # noqa: E402



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="offline-cpu")
    parser.add_argument("--problems", type=int, default=3)
    parser.add_argument("--max-steps", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, help="a GSM8K-format file (default: the shared benchmarks)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    preset = get_preset(args.preset)
    config = preset.decoding.replace(max_steps=args.max_steps, seed=args.seed)
    parts = load_components(preset)
    problems = load_problems("gsm8k", args.data, limit=args.problems)
    steps, runs = [], []
    for i, problem in enumerate(problems):
        events = list(run_method("gsi", problem.question, parts.small, parts.big, parts.reward, config))
        steps += [e for e in events if isinstance(e, StepEvent)]
        runs.append(to_dict(events[-1]))
        print(f"problem {i}: {events[-1].steps} steps, {events[-1].accepted} accepted, "
              f"{events[-1].wall_time:.1f} s, answer {events[-1].answer!r}", file=sys.stderr, flush=True)

    stages = [f.name for f in dataclasses.fields(steps[0].timings)]
    per_step = {stage: statistics.mean(getattr(e.timings, stage) for e in steps) for stage in stages}
    per_step["total"] = statistics.mean(e.timings.total for e in steps)
    accepted = [e for e in steps if e.decision == "accepted"]
    report = {
        **provenance(" ".join(["python"] + sys.argv), preset),
        "preset": args.preset,
        "config": dataclasses.asdict(config),
        "steps": len(steps),
        "acceptance_rate": len(accepted) / len(steps),
        "seconds_per_step": per_step,
        "seconds_per_accepted_step": statistics.mean(e.timings.total for e in accepted) if accepted else None,
        "seconds_per_fallback_step": statistics.mean(e.timings.total for e in steps if e.decision == "fallback")
        if len(accepted) < len(steps) else None,
        "runs": runs,
    }
    print(json.dumps({k: v for k, v in report.items() if k != "runs"}, indent=2))
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
