"""Reading a frontier back (`frontier.py` writes it): one row per GSI point and per baseline, the Pareto set, and
the table `python -m gsi_core report DIR` prints for a frontier. Computed from the records alone; runs nothing."""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Sequence

from .evaluation import Record, RunDirectory, read_records
from .frontier import BASELINES, FRONTIER_FILE, POINT_METHOD
from .report import PairedDifference, measured, paired_differences, summarize

REFERENCE = "sbon-big"  # time is given as a ratio to it, and accuracy paired against it
FRONTIER_CHART = "frontier.html"  # a frontier's figure, written by `report`


@dataclass(frozen=True)
class FrontierEntry:
    """A GSI point or a baseline, as the frontier's table and figure show it."""

    label: str
    kind: str  # "gsi", "sbon-small" or "sbon-big"
    reward: str
    settings: str  # the point's overrides, or the baseline's n
    problems: int
    seeds: int
    accuracy: float
    accuracy_error: float  # the SE over seeds (sd / √seeds) with ≥ 2 seeds, else the binomial SE
    error_over: str
    time_ratio: float | None  # its wall time ÷ sbon-big's over the (problem, seed) runs both finished
    acceptance: float | None
    differing_steps: float | None  # the share of steps whose drafts' rewards differ
    modal_share: float | None  # the share of drafts at the most common reward value
    difference: PairedDifference | None = None  # accuracy − sbon-big's, paired, with its bootstrap interval
    pareto: bool = False
    partial: bool = False  # it has run fewer problems than the fullest row: shown, but compared with nothing


def is_frontier(path: Path | str) -> bool:
    return (Path(path) / FRONTIER_FILE).is_file()


def frontier_info(path: Path | str) -> dict[str, Any]:
    return json.loads((Path(path) / FRONTIER_FILE).read_text())


def frontier_entries(path: Path | str) -> list[FrontierEntry]:
    """Every point with records, then each baseline once, its time against the sbon-big of the first point that
    used it; rows still short of the fullest row's problems are marked partial, and the Pareto set is marked over
    the others."""
    path = Path(path)
    records = {}

    def of(run: str) -> list[Record]:
        return records.setdefault(run, read_records(path / run))

    entries, baselines = [], {}
    for point in frontier_info(path)["points"]:
        runs, reward = point["runs"], _reward_name(point["reward"])
        settings = ", ".join(f"{k}={v}" for k, v in point["overrides"].items())
        entry = _entry(point["name"], POINT_METHOD, reward, settings, of(runs[POINT_METHOD]), of(runs[REFERENCE]))
        entries += [entry] if entry else []
        for method in BASELINES:
            if runs[method] not in baselines:
                n = ((RunDirectory(path / runs[method]).info() or {}).get("settings", {})).get("config", {}).get("n")
                baselines[runs[method]] = _entry(f"{method} · {reward} · n={n}", method, reward, f"n={n}",
                                                 of(runs[method]), of(runs[REFERENCE]))
    entries += [b for b in baselines.values() if b]
    return mark_pareto(mark_partial(entries))


def _reward_name(spec: dict[str, Any]) -> str:
    return spec.get("model", spec["kind"])


def _entry(label: str, method: str, reward: str, settings: str, own: Sequence[Record],
           reference: Sequence[Record]) -> FrontierEntry | None:
    if not own:
        return None
    paired = [*own, *(r for r in reference if method != REFERENCE)]
    summary = next(s for s in summarize(paired, reference=REFERENCE) if s.method == method)
    if summary.accuracy_sd is not None:
        error, over = summary.accuracy_sd / math.sqrt(summary.seeds), f"SE over {summary.seeds} seeds"
    else:
        error, over = summary.accuracy_se, "binomial SE"
    difference = next((d for d in paired_differences(paired, baseline=REFERENCE) if d.method == method), None)
    spread = [r for r in own if r.reward_counts is not None]
    counts = sum((Counter(r.reward_counts) for r in spread), Counter())
    drafts = sum(counts.values())
    return FrontierEntry(
        label=label, kind=method, reward=reward, settings=settings, problems=summary.problems, seeds=summary.seeds,
        accuracy=summary.accuracy, accuracy_error=error, error_over=over,
        time_ratio=1.0 if method == REFERENCE else summary.latency_ratio, acceptance=summary.acceptance,
        differing_steps=sum(r.differing_steps for r in spread) / max(1, sum(r.steps for r in spread)) if spread else None,
        modal_share=max(counts.values()) / drafts if drafts else None, difference=difference,
    )


def mark_partial(entries: Sequence[FrontierEntry]) -> list[FrontierEntry]:
    """Mark the entries that have run fewer problems than the fullest one: a point one problem into a resumed run
    scores 0% or 100%, and would bend the Pareto set and the default on no evidence."""
    most = max((e.problems for e in entries), default=0)
    return [replace(e, partial=e.problems < most) for e in entries]


def mark_pareto(entries: Sequence[FrontierEntry]) -> list[FrontierEntry]:
    """Mark the entries no other beats on both axes (accuracy at least as high and time at least as low, one of
    them strictly); an entry without a time ratio, or a partial one, is on no frontier and beats no other."""
    def compared(e: FrontierEntry) -> bool:
        return e.time_ratio is not None and not e.partial

    rivals = [e for e in entries if compared(e)]

    def dominated(e: FrontierEntry) -> bool:
        return any(o.accuracy >= e.accuracy and o.time_ratio <= e.time_ratio
                   and (o.accuracy > e.accuracy or o.time_ratio < e.time_ratio) for o in rivals)

    return [replace(e, pareto=compared(e) and not dominated(e)) for e in entries]


# Issue 32's test of a default: the reward tells drafts apart, and acceptance is neither rare nor automatic.
TILT_DIFFERING, TILT_MODAL, TILT_ACCEPTANCE = 0.5, 1 / 3, (0.4, 0.9)


def shows_tilt(entry: FrontierEntry) -> bool:
    """Whether a GSI point shows the tilt: in at least half its steps the drafts' rewards differ, no reward value
    covers more than a third of its drafts, and its acceptance lies in [40%, 90%]."""
    low, high = TILT_ACCEPTANCE
    return (entry.kind == POINT_METHOD and None not in (entry.differing_steps, entry.modal_share, entry.acceptance)
            and entry.differing_steps >= TILT_DIFFERING and entry.modal_share <= TILT_MODAL
            and low <= entry.acceptance <= high)


def default_candidate(entries: Sequence[FrontierEntry]) -> FrontierEntry | None:
    """Among the complete points that show the tilt and whose accuracy is not below sbon-big's (the paired
    interval reaches 0 or above), the one at the lowest time; None where there is none."""
    fit = [e for e in entries if shows_tilt(e) and not e.partial and e.time_ratio is not None
           and e.difference is not None and e.difference.high >= 0]
    return min(fit, key=lambda e: e.time_ratio, default=None)


def _cell(value: float | None, spec: str) -> str:
    return "–" if value is None else format(value, spec)


def frontier_table(entries: Sequence[FrontierEntry]) -> str:
    """A Markdown table (plain text in a terminal too); `◆` marks the Pareto set, `✓` the points that show the
    tilt (`shows_tilt`), `partial` the rows still short of the fullest row's problems."""
    lines = [f"| point | reward | settings | problems × seeds | accuracy | ± | time ÷ {REFERENCE} | acceptance "
             f"| steps whose drafts' rewards differ | drafts at the commonest reward | tilt | Pareto "
             f"| accuracy − {REFERENCE} [95% interval] |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|:---:|:---:|---:|"]
    for e in entries:
        d = e.difference
        paired = "–" if d is None else f"{d.difference:+.1%} [{d.low:+.1%}, {d.high:+.1%}]"
        lines.append(f"| {e.label} | {e.reward} | {e.settings} | {e.problems} × {e.seeds} | {e.accuracy:.1%} "
                     f"| {e.accuracy_error:.1%} ({e.error_over}) | {_cell(e.time_ratio, '.2f')} "
                     f"| {_cell(e.acceptance, '.0%')} | {_cell(e.differing_steps, '.0%')} "
                     f"| {_cell(e.modal_share, '.0%')} | {'✓' if shows_tilt(e) else ''} | {'◆' if e.pareto else 'partial' if e.partial else ''} "
                     f"| {paired} |")
    return "\n".join(lines)


def frontier_label(path: Path | str) -> str:
    """`gsm8k · preset offline-cpu · 8 GSI points · commit abc1234 · measured … on …`, over every run's sessions."""
    path, info = Path(path), frontier_info(path)
    sessions = []
    for file in sorted(path.glob("*/*/run.json")):
        run = json.loads(file.read_text())
        sessions += [run, *run.get("resumed", [])]
    commits = sorted({s["commit"] for s in sessions if s.get("commit")}) or [info.get("commit") or "?"]
    points = len(info["points"])
    return (f"Frontier of {info.get('dataset', '?')} · preset {info.get('preset', '?')} · "
            f"{points} GSI point{'s' * (points != 1)} · commit {', '.join(commits)} · {measured(sessions or [info])}")


def frontier_report(path: Path | str) -> tuple[str, list[FrontierEntry]]:
    """The label and the entries of a frontier directory."""
    return frontier_label(path), frontier_entries(path)


def frontier_text(entries: Sequence[FrontierEntry]) -> str:
    """The table with what its columns mean, and the default it points to: what `report` prints for a frontier."""
    chosen = default_candidate(entries)
    default = (f"The default it points to: **{chosen.label}**, the fastest point that shows the tilt with accuracy "
               f"not below {REFERENCE}'s." if chosen else
               f"No point shows the tilt with accuracy not below {REFERENCE}'s, so none is a default candidate.")
    return (f"{frontier_table(entries)}\n\nTime and the paired difference use only the (problem, seed) runs a row "
            f"shares with its {REFERENCE}; ± is the SE over seeds where a row has several, else the binomial SE. "
            "✓: shows the tilt (drafts' rewards differ in ≥ 50% of steps, no reward value on more than ⅓ of drafts, "
            "acceptance 40–90%). ◆: on the Pareto set (no other row has higher accuracy at lower time). partial: a "
            "row that has run fewer problems than the fullest; it is on no Pareto set and no default candidate.\n\n"
            f"{default}")
