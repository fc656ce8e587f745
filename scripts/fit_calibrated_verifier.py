"""Fit the calibrated verifier's weights on the train split of labelled steps, and judge it on the held-out split.

    python scripts/fit_calibrated_verifier.py assets/labels/gsm8k-offline-steps

Prints the weights to paste into `CALIBRATED_WEIGHTS` (gsi_core/rewards.py) and, beside the step verifier's, the
held-out AUROC, reliability table and share of rewards exactly ½ of the reward with those weights.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gsi_core.calibration import fit_logistic, judge_reward, judgement_report  # noqa: E402
from gsi_core.rewards import (EVIDENCE_SIGNS, PRIOR_WEIGHTS, CalibratedVerifier, StepEvidence,  # noqa: E402
                              StepVerifier, gather_evidence)
from gsi_core.step_labels import read_positions, split_positions  # noqa: E402


def features_and_labels(positions: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    rows, labels = [], []
    for position in positions:
        texts = [c["text"] for c in position["candidates"]]
        rows += [e.features for e in gather_evidence(position["question"], position["previous"], texts)]
        labels += [c["soft_label"] for c in position["candidates"]]
    return np.array(rows, dtype=float).reshape(-1, len(StepEvidence.FEATURES)), np.array(labels, dtype=float)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", help="a label-steps directory or its results.jsonl")
    parser.add_argument("--l2", type=float, default=1.0,
                        help="the L2 penalty on the feature weights' distance from PRIOR_WEIGHTS (the hand-set signs)")
    parser.add_argument("--fit-on", choices=["train", "all"], default="train",
                        help="`all` when too few labels exist for a split (then nothing is held out: say so)")
    args = parser.parse_args()
    positions = read_positions(args.data)
    train, heldout = split_positions(positions, args.fit_on), split_positions(positions, "heldout")
    if args.fit_on == "all":
        heldout = []
    features, labels = features_and_labels(train)
    if not len(labels):
        sys.exit(f"{args.data} holds no labelled candidates to fit on")
    weights = fit_logistic(features, labels, l2=args.l2, prior=PRIOR_WEIGHTS, signs=EVIDENCE_SIGNS)
    print(f"fitted on {len(labels)} candidates of {len(train)} positions "
          f"({len({p['problem_id'] for p in train})} problems); held out: {len(heldout)} positions "
          f"({len({p['problem_id'] for p in heldout})} problems)\n")
    print("CALIBRATED_WEIGHTS = (" + ", ".join(f"{w:.3f}" for w in weights) + ")")
    print("  # intercept, " + ", ".join(StepEvidence.FEATURES) + "\n")
    for name, part in (("held-out", heldout), ("train", train)):
        if part:
            print(f"On the {name} split:\n")
            print(judgement_report([judge_reward(StepVerifier(), part), judge_reward(CalibratedVerifier(weights), part)]))
            print()


if __name__ == "__main__":
    main()
