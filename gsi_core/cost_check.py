"""`python -m gsi_core report DIR --predict-costs COSTS.json`: each saved run's wall time predicted from its own
events and measured per-token costs, against what it measured, per stage, with the median and worst error."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from .config import ConfigError
from .cost_model import TokenCosts, predict_run_seconds
from .evaluation import RunDirectory
from .frontier_report import frontier_info, is_frontier
from .run import Run

STAGES = ("drafting", "scoring", "reward", "fallback")


@dataclass(frozen=True)
class Prediction:
    """One run: predicted and measured seconds per stage, and its wall time."""

    key: tuple[str, str, int]
    predicted: dict[str, float]
    measured: dict[str, float]
    wall: float
    run: str = ""  # the run directory within a frontier ("" in a plain eval directory)

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


def saved_runs(directory: Path | str, points: Sequence[str] | None = None) -> list[tuple[str, tuple[str, str, int], Run]]:
    """Every finished run of an eval directory (or of each run directory of a frontier, or of the named points and
    their baselines) whose events were saved, as (run directory within the frontier, key, run), read once for any
    number of predictions."""
    directory, runs = Path(directory), []
    for name in _run_directories(directory, points):
        runs += [(name, key, run) for key, run in RunDirectory(directory / name).saved_events().items()
                 if run.summary is not None]
    if not runs:
        raise ValueError(f"{directory} holds no saved events (events/): run it again with this version's eval")
    return runs


def predictions(runs: list[tuple[str, tuple[str, str, int], Run]], costs: TokenCosts) -> list[Prediction]:
    """Each saved run (`saved_runs`) predicted from its events and these costs, beside what it measured."""
    return [Prediction(key, predict_run_seconds(run, costs),
                       {stage: getattr(run.summary.timings, stage) for stage in STAGES}, run.summary.wall_time, name)
            for name, key, run in runs]


def prediction_report(rows: list[Prediction]) -> str:
    """A Markdown table, a run a row (predicted / measured seconds per stage), then the median and worst error."""
    lines = ["| problem | method | " + " | ".join(f"{s} (pred / meas)" for s in STAGES) + " | wall (pred / meas) | error |",
             "|---" * (len(STAGES) + 4) + "|"]
    for row in rows:
        cells = " | ".join(f"{row.predicted[s]:.1f} / {row.measured[s]:.1f}" for s in STAGES)
        method = f"{row.key[1]} ({row.run})" if row.run else row.key[1]
        lines.append(f"| {row.key[0]} | {method} | {cells} | {row.predicted['total']:.1f} / {row.wall:.1f} "
                     f"| {row.error:+.1%} |")
    errors = [abs(row.error) for row in rows]
    drift = _drift(rows)
    lines += ["", f"Relative error of the predicted wall time over {len(rows)} runs: median {statistics.median(errors):.1%},"
              f" worst {max(errors):.1%}. After one speed factor for all runs (measured ÷ predicted: "
              f"{drift['speed_factor']:.2f}): median {drift['median_error_after_factor']:.1%}, worst "
              f"{drift['worst_error_after_factor']:.1%}. The errors' spread: {drift['error_sd']:.1%} over all runs, "
              f"{drift['error_sd_within_problem']:.1%} among the runs of one problem (run minutes apart)."]
    return "\n".join(lines)


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
    (measured ÷ predicted time over them), and the errors' spread overall against within each problem, whose runs
    ran minutes apart (a host whose speed drifts gives them one sign)."""
    factor = sum(row.wall for row in rows) / sum(row.predicted["total"] for row in rows)
    scaled = [abs(row.predicted["total"] * factor - row.wall) / row.wall for row in rows]
    by_problem: dict[tuple[str, int], list[float]] = {}
    for row in rows:
        by_problem.setdefault((row.key[0], row.key[2]), []).append(row.error)
    within = [error - statistics.fmean(errors) for errors in by_problem.values() for error in errors]
    return {"speed_factor": factor, "median_error_after_factor": statistics.median(scaled),
            "worst_error_after_factor": max(scaled), "error_sd": statistics.pstdev([row.error for row in rows]),
            "error_sd_within_problem": statistics.pstdev(within)}


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
