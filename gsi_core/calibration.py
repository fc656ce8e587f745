"""How well a reward predicts whether a step is right: AUROC, a reliability table, and the logistic fit that
turns evidence features into a probability. Plain numpy, so it runs wherever the engine runs."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from typing import Sequence

import numpy as np


def auroc(scores: Sequence[float], labels: Sequence[bool]) -> float | None:
    """The probability that a random positive scores above a random negative (ties count ½): the Mann–Whitney
    statistic. None when one class is missing."""
    scores, labels = np.asarray(scores, dtype=float), np.asarray(labels, dtype=bool)
    positives, negatives = scores[labels], scores[~labels]
    if not len(positives) or not len(negatives):
        return None
    above = (positives[:, None] > negatives[None, :]).sum()
    ties = (positives[:, None] == negatives[None, :]).sum()
    return float((above + 0.5 * ties) / (len(positives) * len(negatives)))


@dataclass(frozen=True)
class ReliabilityBin:
    low: float
    high: float
    count: int
    predicted: float | None  # mean predicted probability in the bin
    observed: float | None  # mean label (soft labels average to the share of right completions)


def reliability(predicted: Sequence[float], observed: Sequence[float], bins: int = 5) -> list[ReliabilityBin]:
    """Predictions cut into `bins` equal-width bins on [0, 1] (1 falls in the last), each with its mean
    prediction and mean label: a calibrated reward has the two equal in every bin."""
    predicted, observed = np.asarray(predicted, dtype=float), np.asarray(observed, dtype=float)
    index = np.minimum((predicted * bins).astype(int), bins - 1)
    table = []
    for b in range(bins):
        inside = index == b
        count = int(inside.sum())
        table.append(ReliabilityBin(b / bins, (b + 1) / bins, count,
                                    float(predicted[inside].mean()) if count else None,
                                    float(observed[inside].mean()) if count else None))
    return table


def within_step_order(groups: Sequence[tuple[Sequence[float], Sequence[float]]]) -> tuple[float | None, int]:
    """Over pairs of drafts of the same step whose soft labels differ, the share the reward orders the same way
    (ties ½), and the number of such pairs. GSI's selection compares only drafts of one step, so this is the
    ranking it uses; a pooled AUROC also rewards telling an easy problem from a hard one."""
    agree, pairs = 0.0, 0
    for scores, labels in groups:
        scores, labels = np.asarray(scores, dtype=float), np.asarray(labels, dtype=float)
        label_gap = np.sign(labels[:, None] - labels[None, :])
        score_gap = np.sign(scores[:, None] - scores[None, :])
        differ = np.triu(label_gap != 0, k=1)
        pairs += int(differ.sum())
        agree += float(((label_gap == score_gap) + 0.5 * (score_gap == 0))[differ].sum())
    return (agree / pairs if pairs else None), pairs


def share_exactly_half(scores: Sequence[float]) -> float:
    """The share of rewards that are exactly ½: a reward that says "no idea" this often cannot guide a search."""
    scores = np.asarray(scores, dtype=float)
    return float((scores == 0.5).mean()) if len(scores) else 0.0


def share_at_mode(scores: Sequence[float]) -> float:
    """The share of rewards at the reward's most common value (rounded to 1e-6): how often it gives no contrast."""
    counts = Counter(round(float(s), 6) for s in scores)
    return max(counts.values()) / len(scores) if counts else 0.0


def sigmoid(x: np.ndarray | float) -> np.ndarray | float:
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))


def fit_logistic(features: np.ndarray, targets: Sequence[float], l2: float = 1.0, iterations: int = 100,
                 prior: Sequence[float] | None = None, signs: Sequence[int] | None = None) -> np.ndarray:
    """Weights w (the first for the intercept, a column of ones added here) minimising the cross-entropy of
    sigmoid(w·x) against targets in [0, 1] (soft labels allowed) plus (l2/2)·|w − prior|² over the feature
    weights, by Newton's method. The penalty keeps a weight finite when a feature separates the labels
    perfectly; a `prior` (a Gaussian centred on hand-set weights) keeps what a feature means when the labels
    never show it (no labelled step has a false claim: its weight stays the prior's, not 0). `signs` (+1, −1
    or 0 for free, one per feature) keep each weight on the side its evidence means, so a handful of labelled
    problems cannot teach that a number from nowhere makes a step likelier right: a weight that would cross
    zero is held at zero (an active set), and let go when the gradient pulls it back to its side."""
    x = np.column_stack([np.ones(len(features)), np.asarray(features, dtype=float)])
    y = np.asarray(targets, dtype=float)
    penalty = np.full(x.shape[1], l2)
    penalty[0] = 0.0
    centre = np.zeros(x.shape[1]) if prior is None else np.asarray(prior, dtype=float)
    side = np.zeros(x.shape[1]) if signs is None else np.concatenate([[0.0], np.asarray(signs, dtype=float)])
    w = np.where(side * centre < 0, 0.0, centre)
    held = np.zeros(len(w), dtype=bool)
    for _ in range(iterations):
        p = sigmoid(x @ w)
        gradient = x.T @ (p - y) + penalty * (w - centre)
        held &= side * gradient >= 0  # a held weight whose descent direction points to its own side is let go
        free = ~held
        hessian = (x * (p * (1 - p))[:, None]).T @ x + np.diag(penalty) + 1e-9 * np.eye(len(w))
        step = np.zeros(len(w))
        step[free] = np.linalg.solve(hessian[np.ix_(free, free)], gradient[free])
        w -= step
        crossed = side * w < 0
        w[crossed], held[crossed] = 0.0, True
        if np.abs(step).max() < 1e-10 and not crossed.any():
            break
    return w


# ----- judging a reward on labelled steps -----


@dataclass(frozen=True)
class RewardJudgement:
    """A reward scored on labelled candidates: how well it ranks them and how calibrated its numbers are."""

    reward: str
    candidates: int
    positions: int
    auroc_majority: float | None  # against the hard label "more than half the completions are right"
    auroc_any: float | None  # against "at least one completion is right"
    within_step: float | None  # the share of same-step pairs with differing labels the reward orders rightly
    within_step_pairs: int
    exactly_half: float
    mean_reward: float
    mean_label: float
    table: list[ReliabilityBin]
    at_mode: float = 0.0  # the share of candidates at the reward's most common value
    seconds_per_step: float = 0.0  # mean wall time of scoring one position's candidates together


def judge_reward(reward, positions: Sequence[dict], bins: int = 5) -> RewardJudgement:
    """Score every labelled position's candidates together (as a method would), compare with the labels."""
    rewards, soft, majority, anyone, groups, seconds = [], [], [], [], [], 0.0
    for position in positions:
        texts = [c["text"] for c in position["candidates"]]
        started = time.perf_counter()
        scored = [s.reward for s in reward.score_candidates(position["question"], position["previous"], texts)]
        seconds += time.perf_counter() - started
        labels = [c["soft_label"] for c in position["candidates"]]
        rewards += scored
        soft += labels
        groups.append((scored, labels))
        majority += [c["hard_majority"] for c in position["candidates"]]
        anyone += [c["hard_any"] for c in position["candidates"]]
    within_step, within_step_pairs = within_step_order(groups)
    return RewardJudgement(
        reward=reward.name, candidates=len(rewards), positions=len(positions),
        auroc_majority=auroc(rewards, majority), auroc_any=auroc(rewards, anyone),
        within_step=within_step, within_step_pairs=within_step_pairs,
        exactly_half=share_exactly_half(rewards), mean_reward=float(np.mean(rewards)) if rewards else 0.0,
        mean_label=float(np.mean(soft)) if soft else 0.0, table=reliability(rewards, soft, bins),
        at_mode=share_at_mode(rewards), seconds_per_step=seconds / len(positions) if positions else 0.0,
    )


# how cut rollouts count: as labelled (wrong), left out of the share, or right — the truth lies between the last two
CUT_ROLLOUTS = ("wrong", "left out", "right")


def _label_counting_cut(candidate: dict, cut: str) -> float | None:
    rollouts = candidate.get("rollouts") or []
    if cut == "wrong" or not rollouts:  # as labelled; a terminal draft is graded directly
        return candidate["soft_label"]
    finished = [r["correct"] for r in rollouts if r["finish_reason"] != "length"]
    cut_count = len(rollouts) - len(finished)
    if cut == "left out":
        return sum(finished) / len(finished) if finished else None
    return (sum(finished) + (cut_count if cut == "right" else 0)) / len(rollouts)


def _drafted_by_small(positions: Sequence[dict]) -> list[dict]:
    return [p for p in positions if p.get("drafter", "small") == "small"]


def acceptance_ceiling(positions: Sequence[dict], threshold: float = 0.5) -> dict[str, float | None]:
    """If the reward were the label itself (a PRM that knows exactly how often π_B finishes right from here), the
    share of π_S-drafted steps whose best draft reaches `threshold`, for each way of counting rollouts cut at the
    token cap. GSI picks near the best draft at β = 20 and accepts when r̃ ≥ u, so this bounds the acceptance a
    calibrated reward can give (leaving out the small (1/β)·log π_B/π_S term)."""
    ceiling: dict[str, float | None] = {}
    for cut in CUT_ROLLOUTS:
        best = [max((label for label in (_label_counting_cut(c, cut) for c in p["candidates"]) if label is not None),
                    default=None) for p in _drafted_by_small(positions)]
        best = [b for b in best if b is not None]
        ceiling[cut] = sum(b >= threshold for b in best) / len(best) if best else None
    return ceiling


def ceiling_report(positions: Sequence[dict], threshold: float = 0.5) -> str:
    """One line: the acceptance ceiling three ways, and how many π_S-drafted steps it rests on."""
    shares = ", ".join(f"{_cell(share, '.0%')} (cut rollouts {cut})"
                       for cut, share in acceptance_ceiling(positions, threshold).items())
    return (f"Acceptance ceiling at u = {threshold:g}: a reward equal to the label would accept the best π_S draft "
            f"at {shares} ({len(_drafted_by_small(positions))} π_S-drafted steps).")


def _cell(value: float | None, spec: str = ".3f") -> str:
    return "–" if value is None else format(value, spec)


def judgement_report(judgements: Sequence[RewardJudgement]) -> str:
    """Markdown: one row per reward (AUROC, same-step order, share exactly ½ and at its most common value, seconds
    per step: all of a position's candidates scored together), then each reward's reliability table."""
    lines = ["| reward | candidates | AUROC (majority) | AUROC (any) | same-step order (pairs) | exactly ½ "
             "| mean r | mean label | at most common r | s / step |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for j in judgements:
        lines.append(f"| {j.reward} | {j.candidates} | {_cell(j.auroc_majority)} | {_cell(j.auroc_any)} "
                     f"| {_cell(j.within_step)} ({j.within_step_pairs}) "
                     f"| {j.exactly_half:.1%} | {j.mean_reward:.3f} | {j.mean_label:.3f} "
                     f"| {j.at_mode:.1%} | {j.seconds_per_step:.3f} |")
    for j in judgements:
        lines += ["", f"Reliability of {j.reward} (soft label = share of completions reaching the gold answer):", "",
                  "| r in | candidates | mean r | mean label |", "|---|---:|---:|---:|"]
        for b in j.table:
            lines.append(f"| [{b.low:.1f}, {b.high:.1f}{']' if b.high == 1 else ')'} | {b.count} "
                         f"| {_cell(b.predicted)} | {_cell(b.observed)} |")
    return "\n".join(lines)
