"""The two engines' runs side by side: GSI ÷ sbon-big for each, after ÷ before for each method and stage,
over the problems both engines finished with both methods."""
import json
import sys
from pathlib import Path

root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1]
runs = {}
for engine in ("before", "after"):
    folder = root / engine if (root / engine).is_dir() else root / f"{engine}-run"  # landed, or as the run wrote it
    for line in (folder / "results.jsonl").read_text().splitlines():
        r = json.loads(line)
        runs[engine, r["method"], r["problem_id"]] = r
problems = sorted({p for (_, _, p) in runs if all((e, m, p) in runs for e in ("before", "after") for m in ("gsi", "sbon-big"))},
                  key=int)
print(f"{len(problems)} problems with all four runs: {problems[0]}–{problems[-1]}")


def total(engine, method, field="wall_time"):
    return sum(runs[engine, method, p][field] for p in problems)


for engine in ("before", "after"):
    g, s = total(engine, "gsi"), total(engine, "sbon-big")
    acc = total(engine, "gsi", "accepted") / (total(engine, "gsi", "accepted") + total(engine, "gsi", "fallbacks"))
    right = {m: sum(runs[engine, m, p]["correct"] for p in problems) for m in ("gsi", "sbon-big")}
    stages = {k: round(sum(runs[engine, "gsi", p]["stage_times"].get(k, 0) for p in problems) / len(problems), 1)
              for k in runs[engine, "gsi", problems[0]]["stage_times"]}
    print(f"{engine}: GSI {g / len(problems):.1f} s, sbon-big {s / len(problems):.1f} s per run; GSI ÷ sbon-big "
          f"{g / s:.3f}; acceptance {acc:.0%}; correct GSI {right['gsi']}, sbon-big {right['sbon-big']}; "
          f"GSI stages per run {stages}")
for method in ("gsi", "sbon-big"):
    print(f"{method}: after ÷ before {total('after', method) / total('before', method):.3f}")
print("ms per token (generated tokens: π_S drafts, π_B fallback/sbon-big rows; π_B scored tokens):")
for engine in ("before", "after"):
    def per(method, stage, field):
        seconds = sum(runs[engine, method, p]["stage_times"].get(stage, 0) for p in problems)
        return 1000 * seconds / max(1, total(engine, method, field))
    print(f"  {engine}: GSI drafting {per('gsi', 'drafting', 'tokens_small'):.1f}, scoring "
          f"{per('gsi', 'scoring', 'tokens_scored_big'):.1f}, fallback {per('gsi', 'fallback', 'tokens_big'):.1f}; "
          f"sbon-big {1000 * total(engine, 'sbon-big') / total(engine, 'sbon-big', 'tokens_big'):.1f}"
          f" (tokens: sbon-big {total(engine, 'sbon-big', 'tokens_big')}, GSI small {total(engine, 'gsi', 'tokens_small')},"
          f" big {total(engine, 'gsi', 'tokens_big')})")
