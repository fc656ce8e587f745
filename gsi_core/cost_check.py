"""`python -m gsi_core report DIR --predict-costs COSTS.json`: each saved run's wall time predicted from its own
events and measured per-token costs, against what it measured, per stage, with the median and worst error."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from .config import ConfigError
from .cost_model import TokenCosts, predict_run_seconds
from .evaluation import RunDirectory
from .frontier_report import frontier_info, is_frontier
from .run import Run

STAGES = ("drafting", "scoring", "reward", "fallback")
CALIBRATION_SECONDS = 1.0  # a model's predicted seconds over a run's neighbours below which its speed is not read


@dataclass(frozen=True)
class Prediction:
    """One run: predicted and measured seconds per stage, and its wall time."""

    key: tuple[str, str, int]
    predicted: dict[str, float]
    measured: dict[str, float]
    wall: float
    run: str = ""  # the run directory within a frontier ("" in a plain eval directory)
    drafter: str = "small"  # the model whose seconds the drafting stage holds (π_B's in sbon-big)

    @property
    def error(self) -> float:
        """(predicted − measured) ÷ measured wall time."""
        return (self.predicted["total"] - self.wall) / self.wall


def frontier_points(directory: Path, names: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The frontier's points (`frontier.json`), or only those named; an unknown name is refused, naming them all."""
    points = frontier_info(directory)["points"]
    if names is None:
        return points
    known = [point["name"] for point in points]
    if unknown := [name for name in names if name not in known]:
        raise ConfigError(f"{directory} has no point {', '.join(unknown)}; its points: {', '.join(known)}")
    return [point for point in points if point["name"] in names]


def _run_directories(directory: Path, points: Sequence[str] | None) -> list[str]:
    """The run directories to predict: the directory itself, or each run directory of a frontier's points once."""
    if not is_frontier(directory):
        if points is not None:
            raise ConfigError(f"{directory} is an eval directory, not a frontier: it has no points to choose")
        return [""]
    return list(dict.fromkeys(run for point in frontier_points(directory, points) for run in point["runs"].values()))


def saved_runs(directory: Path | str, points: Sequence[str] | None = None,
               seeds: Sequence[int] | None = None) -> list[tuple[str, tuple[str, str, int], Run]]:
    """Every finished run of an eval directory (or of each run directory of a frontier, or of the named points and
    their baselines; of the given seeds, or all) whose events were saved, as (run directory within the frontier,
    key, run), read once for any number of predictions."""
    directory, runs = Path(directory), []
    for name in _run_directories(directory, points):
        runs += [(name, key, run) for key, run in RunDirectory(directory / name).saved_events().items()
                 if run.summary is not None]
    if not runs:
        raise ValueError(f"{directory} holds no saved events (events/): run it again with this version's eval")
    if seeds is not None and not (runs := [run for run in runs if run[1][2] in seeds]):
        raise ValueError(f"{directory} holds no saved runs at seed {', '.join(map(str, seeds))}")
    return runs


def predictions(runs: list[tuple[str, tuple[str, str, int], Run]], costs: TokenCosts) -> list[Prediction]:
    """Each saved run (`saved_runs`) predicted from its events and these costs, beside what it measured."""
    return [Prediction(key, predict_run_seconds(run, costs),
                       {stage: getattr(run.summary.timings, stage) for stage in STAGES}, run.summary.wall_time, name,
                       run.steps[0].candidates[0].source if run.steps and run.steps[0].candidates else "small")
            for name, key, run in runs]


def prediction_report(rows: list[Prediction], numbers: dict[str, Any]) -> str:
    """A Markdown table, a run a row (predicted / measured seconds per stage), then the median and worst error and
    how much of it is the host's speed, read from `numbers` (the rows' `summary`, computed once for both)."""
    lines = ["| problem | method | " + " | ".join(f"{s} (pred / meas)" for s in STAGES) + " | wall (pred / meas) | error |",
             "|---" * (len(STAGES) + 4) + "|"]
    for row in rows:
        cells = " | ".join(f"{row.predicted[s]:.1f} / {row.measured[s]:.1f}" for s in STAGES)
        method = f"{row.key[1]} ({row.run})" if row.run else row.key[1]
        lines.append(f"| {row.key[0]} | {method} | {cells} | {row.predicted['total']:.1f} / {row.wall:.1f} "
                     f"| {row.error:+.1%} |")
    lines += ["", f"Relative error of the predicted wall time over {len(rows)} runs: median {numbers['median_error']:.1%},"
              f" worst {numbers['worst_error']:.1%}. After one speed factor for all runs (measured ÷ predicted: "
              f"{numbers['speed_factor']:.2f}): median {numbers['median_error_after_factor']:.1%}, worst "
              f"{numbers['worst_error_after_factor']:.1%}. The errors' spread: {numbers['error_sd']:.1%} over all runs, "
              f"{numbers['error_sd_within_problem']:.1%} among the runs of one problem (run minutes apart)."]
    if numbers["calibrated_runs"]:
        lines.append(f"With each model's speed read from the same problem's other runs (each run left out of its own): "
                     f"median {numbers['median_error_calibrated']:.1%}, worst {numbers['worst_error_calibrated']:.1%} "
                     f"over {numbers['calibrated_runs']} runs.")
    blocks = numbers["speed_factor_by_block"]
    if len(blocks) > 1:
        lines.append("Measured ÷ predicted by block (a run directory or method, a seed), a block's runs taken together: "
                     + "; ".join(f"{b['block']} seed {b['seed']} {b['speed_factor']:.2f} ({b['runs']} runs)"
                                 for b in blocks) + ".")
    return "\n".join(lines)


def speed_by_block(rows: list[Prediction]) -> list[dict[str, Any]]:
    """Measured ÷ predicted wall time over each block of runs (a run directory, or a method in a plain eval
    directory, at one seed): a frontier's blocks may come from different sessions, and a block that ran on a
    slower host shows it here, so a ratio paired across sessions can be read with that in mind."""
    sums: dict[tuple[str, int], list[float]] = {}
    for row in rows:
        block = sums.setdefault((row.run or row.key[1], row.key[2]), [0.0, 0.0, 0])
        block[0] += row.wall
        block[1] += row.predicted["total"]
        block[2] += 1
    return [{"block": name, "seed": seed, "runs": runs, "speed_factor": wall / predicted}
            for (name, seed), (wall, predicted, runs) in sorted(sums.items()) if predicted > 0]


def _ratio(gsi: list[Prediction], big: list[Prediction]) -> dict[str, Any] | None:
    """Measured and predicted GSI ÷ sbon-big time over the (problem, seed) runs both have; None without any."""
    by = {(row.key[0], row.key[2]): row for row in big}
    pairs = [(g, by[g.key[0], g.key[2]]) for g in gsi if (g.key[0], g.key[2]) in by]
    if not pairs:
        return None
    return {"measured": sum(g.wall for g, _ in pairs) / sum(b.wall for _, b in pairs),
            "predicted": sum(g.predicted["total"] for g, _ in pairs) / sum(b.predicted["total"] for _, b in pairs),
            "pairs": len(pairs)}


def _drift(rows: list[Prediction]) -> dict[str, Any]:
    """How much of the error is the machine's speed: the errors left after one speed factor for all runs
    (measured ÷ predicted time over them), the errors' spread overall against within each problem, whose runs
    ran minutes apart (a host whose speed drifts gives them one sign), the errors left once each model's speed is
    read from the problem's other runs (`calibrated_errors`), and each block's speed factor (`speed_by_block`)."""
    factor = sum(row.wall for row in rows) / sum(row.predicted["total"] for row in rows)
    scaled = [abs(row.predicted["total"] * factor - row.wall) / row.wall for row in rows]
    by_problem = _by_problem(rows)
    within = [error - statistics.fmean(group) for group in
              ([row.error for row in members] for members in by_problem.values()) for error in group]
    calibrated = [abs(error) for error in calibrated_errors(rows)]
    return {"speed_factor": factor, "median_error_after_factor": statistics.median(scaled),
            "worst_error_after_factor": max(scaled), "error_sd": statistics.pstdev([row.error for row in rows]),
            "error_sd_within_problem": statistics.pstdev(within), "calibrated_runs": len(calibrated),
            "median_error_calibrated": statistics.median(calibrated) if calibrated else None,
            "worst_error_calibrated": max(calibrated) if calibrated else None,
            "speed_factor_by_block": speed_by_block(rows)}


def _by_problem(rows: list[Prediction]) -> dict[tuple[str, int], list[Prediction]]:
    groups: dict[tuple[str, int], list[Prediction]] = {}
    for row in rows:
        groups.setdefault((row.key[0], row.key[2]), []).append(row)
    return groups


def _by_model(row: Prediction, seconds: dict[str, float]) -> Counter:
    """A run's seconds per stage, summed by the model that spent them: π_S, π_B, or the reward."""
    spent = Counter()
    for stage in STAGES:
        spent["reward" if stage == "reward" else row.drafter if stage == "drafting" else "big"] += seconds[stage]
    return spent


def calibrated_errors(rows: list[Prediction]) -> list[float]:
    """Each run's relative error once the host's speed at that moment is known: every model's predicted seconds
    scaled by measured ÷ predicted over the same (problem, seed)'s other runs (run minutes apart in a frontier or
    an eval), never its own; a model those runs barely used takes their whole-run factor. A run alone on its problem
    is left out. Small errors here say the stages are priced right and the rest is the host's drift."""
    errors = []
    for members in _by_problem(rows).values():
        for row in members:
            others = [other for other in members if other is not row]
            if not others:
                continue
            predicted = sum((_by_model(o, o.predicted) for o in others), Counter())
            measured = sum((_by_model(o, o.measured) for o in others), Counter())
            whole = sum(o.wall for o in others) / sum(o.predicted["total"] for o in others)
            seconds = sum(spent * (measured[model] / predicted[model] if predicted[model] >= CALIBRATION_SECONDS
                                   else whole) for model, spent in _by_model(row, row.predicted).items())
            errors.append((seconds - row.wall) / row.wall)
    return errors


def summary(rows: list[Prediction], directory: Path | str | None = None,
            points: Sequence[str] | None = None) -> dict[str, Any]:
    """The errors as numbers, and the predicted and measured GSI ÷ sbon-big time over the runs both methods have:
    in an eval directory, its gsi against its sbon-big; in a frontier (`directory`), each point (of `points`, or
    all) against its own sbon-big baseline."""
    errors = [abs(row.error) for row in rows]
    result: dict[str, Any] = {"runs": len(rows), "median_error": statistics.median(errors), "worst_error": max(errors),
                              **_drift(rows)}

    def of(run: str, method: str) -> list[Prediction]:
        return [row for row in rows if row.run == run and row.key[1] == method]

    if directory is not None and is_frontier(directory):
        ratios = {point["name"]: _ratio(of(point["runs"]["gsi"], "gsi"), of(point["runs"]["sbon-big"], "sbon-big"))
                  for point in frontier_points(Path(directory), points)}
        result["gsi_over_sbon_big_by_point"] = {name: r for name, r in ratios.items() if r}
    elif (ratio := _ratio(of("", "gsi"), of("", "sbon-big"))) is not None:
        result["gsi_over_sbon_big"] = ratio
    return result
