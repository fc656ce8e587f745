"""Reading a run directory back: per-method summaries over seeds, paired differences against GSI with bootstrap
intervals, the tables `python -m gsi_core report` prints and writes, and the saved runs the app offers.

Everything here is computed from the records alone (`evaluation.read_records`), so a report can be rebuilt from a
directory at any time, and nothing here runs a model.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from .evaluation import RESULTS_FILE, RUN_FILE, SAVED_RUNS_DIR, UNRECORDED_REWARD, Record, RunDirectory, read_records
from .frontier import FRONTIER_FILE
from .methods import REFERENCE_METHOD

SAVED_FRONTIERS_DIR = SAVED_RUNS_DIR.parent / "frontier"
BASELINE_METHOD = "gsi"  # the paired differences are each method's accuracy minus this one's
ACCURACY_CHART = "accuracy_vs_latency.html"  # an eval directory's chart, written by `report`


@dataclass(frozen=True)
class MethodSummary:
    method: str
    problems: int
    seeds: int
    accuracy: float  # the mean over seeds of each seed's accuracy (one seed: that seed's)
    accuracy_sd: float | None  # the standard deviation of the seeds' accuracies, as the paper reports; None for one
    accuracy_se: float  # binomial standard error over all its runs, sqrt(p(1-p)/N)
    mean_latency: float
    median_latency: float
    latency_ratio: float | None  # mean latency / the reference method's, over the (problem, seed) runs both finished
    flops_ratio: float | None
    acceptance: float | None  # accepted π_S steps / decided steps (GSI, RSD)
    mean_steps: float
    partial_seeds: tuple[tuple[int, int], ...] = ()  # (seed, problems it has) of seeds left out: see `complete_seeds`


RunKey = tuple[str, int]  # (problem, seed): what pairs two methods' runs


def _by_method(records: Sequence[Record]) -> dict[str, dict[RunKey, Record]]:
    by_method: dict[str, dict[RunKey, Record]] = {}
    for record in records:
        by_method.setdefault(record.method, {})[record.problem_id, record.seed] = record
    return by_method


def _ratio(records: dict[RunKey, Record], reference: dict[RunKey, Record], field: str) -> float | None:
    shared = sorted(set(records) & set(reference))
    denominator = sum(getattr(reference[k], field) for k in shared)
    if not shared or denominator <= 0:
        return None
    return sum(getattr(records[k], field) for k in shared) / denominator


def complete_seeds(records: Sequence[Record]) -> tuple[set[int], tuple[tuple[int, int], ...]]:
    """Of one method's runs, the seeds that cover the same problems, and (seed, problems) of the others.

    A mean ± sd over seeds compares like with like only when every seed ran the same problems; a run stopped in
    the middle of a seed (they run seed by seed) would otherwise average 20 problems with the first 3 of the next.
    The problems are the largest set any seed covers (the earliest seed among equals); a seed covering exactly
    those counts, the others are set aside until they are finished."""
    per_seed: dict[int, set[str]] = defaultdict(set)
    for r in records:
        per_seed[r.seed].add(r.problem_id)
    widest = max(per_seed.values(), key=len)
    kept = {seed for seed, problems in per_seed.items() if problems == widest}
    partial = tuple((seed, len(problems)) for seed, problems in per_seed.items() if seed not in kept)
    return kept, partial


def summarize(records: Sequence[Record], reference: str = REFERENCE_METHOD) -> list[MethodSummary]:
    """Per method, in first-seen order, over its complete seeds (`complete_seeds`). Ratios are paired: only
    (problem, seed) runs the reference also finished count. Records written before `--seeds` existed all carry
    seed 0, so they read as one seed."""
    by_method = _by_method(records)
    reference_records = by_method.get(reference, {})
    summaries = []
    for method, rows in by_method.items():
        kept, partial = complete_seeds(list(rows.values()))
        rows = {key: r for key, r in rows.items() if key[1] in kept}
        values = list(rows.values())
        per_seed: dict[int, list[bool]] = defaultdict(list)
        for r in values:
            per_seed[r.seed].append(r.correct)
        seed_accuracies = [sum(c) / len(c) for c in per_seed.values()]
        pooled = sum(r.correct for r in values) / len(values)
        decided = sum(r.accepted + r.fallbacks for r in values)
        latencies = [r.wall_time for r in values]
        summaries.append(MethodSummary(
            method=method,
            problems=len({r.problem_id for r in values}),
            seeds=len(per_seed),
            accuracy=statistics.fmean(seed_accuracies),
            accuracy_sd=statistics.stdev(seed_accuracies) if len(seed_accuracies) > 1 else None,
            accuracy_se=math.sqrt(pooled * (1 - pooled) / len(values)),
            mean_latency=statistics.fmean(latencies),
            median_latency=statistics.median(latencies),
            latency_ratio=_ratio(rows, reference_records, "wall_time"),
            flops_ratio=_ratio(rows, reference_records, "flops"),
            acceptance=sum(r.accepted for r in values) / decided if decided else None,
            mean_steps=statistics.fmean(r.steps for r in values),
            partial_seeds=partial,
        ))
    return summaries


@dataclass(frozen=True)
class PairedDifference:
    """A method's accuracy minus the baseline's over the (problem, seed) runs both finished, with a 95% interval."""

    method: str
    problems: int
    pairs: int
    difference: float
    low: float
    high: float


def paired_differences(records: Sequence[Record], baseline: str = BASELINE_METHOD, resamples: int = 10_000,
                       seed: int = 0) -> list[PairedDifference]:
    """Each other method against `baseline` on the same problems and seeds. The interval is a percentile bootstrap
    that resamples problems with all their seeds together: a problem's seeds share its difficulty, so resampling
    runs one by one would make the interval too narrow. Seeded, so a report is the same every time."""
    by_method = _by_method(records)
    reference = by_method.get(baseline, {})
    rng = np.random.default_rng(seed)
    differences = []
    for method, rows in by_method.items():
        shared = sorted(set(rows) & set(reference))
        if method == baseline or not shared:
            continue
        sums: dict[str, float] = defaultdict(float)
        counts: dict[str, int] = defaultdict(int)
        for problem, run_seed in shared:
            sums[problem] += rows[problem, run_seed].correct - reference[problem, run_seed].correct
            counts[problem] += 1
        problem_sums, problem_counts = np.array(list(sums.values())), np.array(list(counts.values()))
        drawn = rng.integers(0, len(problem_sums), size=(resamples, len(problem_sums)))
        boot = problem_sums[drawn].sum(axis=1) / problem_counts[drawn].sum(axis=1)
        low, high = np.percentile(boot, [2.5, 97.5])
        differences.append(PairedDifference(method, len(sums), len(shared), problem_sums.sum() / len(shared),
                                            float(low), float(high)))
    return differences


def _cell(value: float | None, spec: str) -> str:
    return "–" if value is None else format(value, spec)


def summary_table(summaries: Sequence[MethodSummary], reference: str = REFERENCE_METHOD) -> str:
    """A Markdown table (it reads as plain text in a terminal too)."""
    lines = [
        f"| method | problems × seeds | accuracy | ± sd over seeds | ± binomial SE | mean latency (s) "
        f"| median latency (s) | latency / {reference} | FLOPs / {reference} | acceptance | mean steps |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in summaries:
        lines.append(
            f"| {s.method} | {s.problems} × {s.seeds} | {s.accuracy:.1%} | {_cell(s.accuracy_sd, '.1%')} "
            f"| {s.accuracy_se:.1%} | {s.mean_latency:.1f} | {s.median_latency:.1f} | {_cell(s.latency_ratio, '.2f')} "
            f"| {_cell(s.flops_ratio, '.2f')} | {_cell(s.acceptance, '.0%')} | {s.mean_steps:.1f} |"
        )
    unfinished = [f"{s.method} seed {seed} ({count} of {s.problems} problems)"
                  for s in summaries for seed, count in s.partial_seeds]
    if unfinished:
        lines.append(f"\nLeft out of this table until finished: {'; '.join(unfinished)}. "
                     "The paired differences use every finished run.")
    return "\n".join(lines)


def difference_table(differences: Sequence[PairedDifference], baseline: str = BASELINE_METHOD) -> str:
    """The paired differences as a Markdown table; an interval that excludes 0 tells the methods apart."""
    if not differences:
        return f"No method shares a (problem, seed) run with {baseline}: no paired differences."
    lines = [f"| method | problems | paired runs | accuracy − {baseline} | 95% bootstrap interval |",
             "|---|---:|---:|---:|---:|"]
    for d in differences:
        lines.append(f"| {d.method} | {d.problems} | {d.pairs} | {d.difference:+.1%} | [{d.low:+.1%}, {d.high:+.1%}] |")
    return "\n".join(lines)


def report_text(summaries: Sequence[MethodSummary], differences: Sequence[PairedDifference]) -> str:
    """Both tables, as `report` prints them and `summary.md` holds them."""
    return (f"{summary_table(summaries)}\n\nPaired against {BASELINE_METHOD} (same problems and seeds; problems "
            f"resampled with their seeds):\n\n{difference_table(differences)}")


def write_report(directory: Path | str, label: str, summaries: Sequence[MethodSummary],
                 differences: Sequence[PairedDifference]) -> dict[str, Path]:
    """`summary.md` and the accuracy-vs-latency chart (HTML; PNG when a Plotly image renderer is installed)."""
    directory = Path(directory)
    written = {"summary": directory / "summary.md"}
    written["summary"].write_text(f"{label}\n\n{report_text(summaries, differences)}\n", encoding="utf-8")
    from .figures import accuracy_latency_figure

    figure = accuracy_latency_figure(summaries, label)
    written["html"] = directory / ACCURACY_CHART
    figure.write_html(written["html"], include_plotlyjs=True)
    try:
        figure.write_image(written["html"].with_suffix(".png"), width=900, height=520)
        written["png"] = written["html"].with_suffix(".png")
    except Exception:  # no kaleido (or no browser for it): the HTML is the chart
        pass
    return written


def describe(info: dict[str, Any]) -> str:
    """`GSM8K · preset offline-cpu · n=4 · measured 2026-11-22 on <machine>`: how saved results are labelled.
    A run resumed on later days, or on other machines, names the span of dates and every machine."""
    settings = info.get("settings", {})
    config = settings.get("config", {})
    served = " on vLLM servers" if settings.get("backend") == "vllm" else ""
    reward = settings.get("reward", UNRECORDED_REWARD)
    scored = "" if reward["kind"] == "step-verifier" else f" · reward {reward.get('model', reward['kind'])}"
    lines = " · a step per line" if config.get("step_delimiter") == "line" else ""
    return (f"{settings.get('dataset', '?')} · preset {settings.get('preset', '?')}{served}{scored} · "
            f"n={config.get('n', '?')}, "
            f"β={config.get('beta', '?')}, max {config.get('max_steps', '?')} steps{lines} · "
            f"{measured([info, *info.get('resumed', [])])}")


def measured(sessions: Sequence[dict[str, Any]]) -> str:
    """`measured 2026-11-22 on <machine>`: the span of the sessions' dates and every machine they ran on."""
    dates = sorted({s["date"] for s in sessions if s.get("date")}) or ["?"]
    machines = list(dict.fromkeys(s["machine"] for s in sessions if s.get("machine"))) or ["?"]
    when = dates[0] if len(dates) == 1 else f"{dates[0]} to {dates[-1]}"
    where = machines[0] if len(machines) == 1 else f"{len(machines)} machines ({'; '.join(machines)})"
    return f"measured {when} on {where}"


def saved_runs(roots: Iterable[Path | str] = ()) -> dict[str, Path]:
    """Run directories (holding `run.json` and results) and frontiers (holding `frontier.json`) under the given
    roots, then the repo's `assets/eval` and `assets/frontier`, by name (the first of a name wins): what the app's
    Compare tab offers to show. A frontier is one entry; the run directories inside it are not listed apart."""
    found = {}
    for root in [*map(Path, roots), SAVED_RUNS_DIR, SAVED_FRONTIERS_DIR]:
        frontiers = [f.parent for f in sorted(root.glob("**/" + FRONTIER_FILE))] if root.is_dir() else []
        for frontier in frontiers:
            found.setdefault(frontier.name, frontier)
        for info in sorted(root.glob("**/" + RUN_FILE)) if root.is_dir() else []:
            inside = any(frontier in info.parents for frontier in frontiers)
            if (info.parent / RESULTS_FILE).exists() and not inside:
                found.setdefault(info.parent.name, info.parent)
    return found


def saved_run_report(path: Path | str) -> tuple[str, list[MethodSummary], list[PairedDifference]]:
    """The label (dataset, preset, machine, date), the per-method summary and the paired differences against
    GSI of a saved run."""
    info = RunDirectory(path).info() or {}
    records = read_records(path)
    return describe(info), summarize(records), paired_differences(records)
