"""Acceptance at every u, read from one GSI eval run's saved events: the pilot that sets a frontier's points.

GSI picks its draft before it looks at u (softmax of β·r + log π_B − log π_S), so the share of steps whose chosen
draft's tilted reward r̃ reaches u is the acceptance at u on those steps' prefixes; a run at one u gives the curve
for all (only the prefixes after a rejection would differ). It also prints what issue 32 asks of a default: in
how many steps the drafts' rewards differ, and the share of drafts at the commonest reward value.

    python scripts/frontier_pilot.py DIR [DIR ...]     # eval directories of GSI runs (events/ saved)
"""

import argparse
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gsi_core.evaluation import RunDirectory, reward_spread  # noqa: E402

US = (-0.2, 0.0, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7)


def pilot(directory: Path) -> str:
    chosen, differing, values = [], 0, Counter()
    for run in RunDirectory(directory).saved_events().values():
        spread = reward_spread(run)
        differing += spread["differing_steps"]
        values.update(spread["reward_counts"])
        chosen += [step.candidates[step.chosen].tilted_reward for step in run.steps]
    if not chosen:
        return f"{directory}: no GSI steps with drafts"
    modal = values.most_common(1)[0][1] / sum(values.values())
    curve = ", ".join(f"{u:g}: {sum(t >= u for t in chosen) / len(chosen):.0%}" for u in US)
    return (f"{directory}: {len(chosen)} steps; drafts' rewards differ in {differing}; commonest value "
            f"{modal:.0%} of drafts\n  acceptance at u: {curve}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directories", nargs="+", type=Path)
    for directory in parser.parse_args().directories:
        print(pilot(directory))
    return 0


if __name__ == "__main__":
    sys.exit(main())
