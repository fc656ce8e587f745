"""The frontier: a plan's GSI points against sbon-small and sbon-big on the same cells — planned, run on tiny
models, resumed, stopped, pinned to one commit, and read back as a table with its Pareto set."""

import json
import math
import os
import signal

import pytest

from gsi_core.config import ConfigError, get_preset
from gsi_core.cost_model import TokenCosts
from gsi_core.data import load_problems
from gsi_core.evaluation import RunDirectory, read_records
from gsi_core.frontier import FRONTIER_FILE, FrontierProgress, load_plan, plan_cells, run_frontier
from gsi_core.figures import frontier_figure, frontier_summary
from gsi_core.frontier_report import (default_candidate, frontier_entries, frontier_table, frontier_text, mark_pareto,
                                     shows_tilt)
from gsi_core.report import saved_runs

from support import cli, record

PLAN = """\
dataset: gsm8k
preset: tiny
decoding: {max_steps: 2}
points:
  - {name: low-u, threshold: 0.2}
  - {name: high-u, threshold: 0.9}
  - {name: two-drafts, threshold: 0.5, n_small: 2}
"""


def write_plan(tmp_path, text=PLAN):
    path = tmp_path / "plan.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("text, reason", [
    ("points: []\n", "non-empty `points` list"),
    ("points: [{name: a}]\nlimits: 3\n", "unknown plan keys ['limits']"),
    ("points: [{name: a, thresold: 0.2}]\n", "unknown decoding setting(s) ['thresold']"),
    ("points: [{name: a, n_small: 0}]\n", "n_small must be a whole number"),
    ("points: [{name: a, reward: nope}]\n", "unknown reward kind 'nope'"),
    ("points: [{name: a}, {name: a, threshold: 1}]\n", "point names repeat: ['a']"),
    ("points: [{name: a/b}]\n", "each point needs a `name`"),
    ("points: [{name: a, seeds: [1, 1]}]\n", "one or more different seeds"),
])
def test_a_bad_plan_is_refused_before_anything_runs(tmp_path, text, reason):
    with pytest.raises(ConfigError) as refused:
        load_plan(write_plan(tmp_path, text))
    assert reason in str(refused.value)


def test_a_missing_plan_is_one_line_of_error(tmp_path):
    done = cli("frontier", "--plan", str(tmp_path / "nope.yaml"), "--out", str(tmp_path / "out"))
    assert done.returncode == 2 and done.stderr.startswith("error: cannot read the plan") and "Traceback" not in done.stderr


def test_points_that_differ_only_in_u_or_the_other_models_n_share_their_baselines(tmp_path, tiny_presets_file):
    plan, preset = load_plan(write_plan(tmp_path)), get_preset("tiny", tiny_presets_file)
    problems = load_problems("gsm8k", None, 2)
    cells = plan_cells(plan, preset, problems)
    runs = {(c.run.method, c.run.path) for c in cells}
    assert sorted(path for method, path in runs if method == "gsi") == ["points/high-u", "points/low-u",
                                                                       "points/two-drafts"]
    small = sorted(path for method, path in runs if method == "sbon-small")
    big = [path for method, path in runs if method == "sbon-big"]
    assert len(small) == 2 and small[0].startswith("baselines/sbon-small-step-verifier-n2-")  # n_small 2 and 3
    assert len(big) == 1  # n_big is 3 for all three points, whatever their u and n_small
    assert len(cells) == 2 * (3 + 2 + 1)  # each problem: three GSI runs and three distinct baselines
    assert [c.problem.id for c in cells[:6]] == ["0"] * 6  # problem by problem, every point of it together
    calibrated = load_plan(write_plan(tmp_path, PLAN + "  - {name: cal, reward: calibrated-verifier}\n"))
    extra = {c.run.path for c in plan_cells(calibrated, preset, problems)} - {c.run.path for c in cells}
    assert len(extra) == 3  # soft best-of-n depends on the reward: its own baselines


class StopAt(FrontierProgress):
    """Sends this process SIGINT at the first event of the `stop_at`-th run of the session."""

    def __init__(self, stop_at=None):
        self.plans, self.recorded_runs, self.stop_at = [], [], stop_at

    def planned_frontier(self, out, points, problems, done, todo):
        self.plans.append((points, problems, done, todo))

    def advanced(self, problem, method, run):
        if len(self.recorded_runs) == self.stop_at:
            os.kill(os.getpid(), signal.SIGINT)

    def recorded(self, record):
        self.recorded_runs.append(record.key)


def test_run_frontier_stops_resumes_and_refuses_another_commit(tmp_path, tiny_presets_file):
    plan, preset = load_plan(write_plan(tmp_path)), get_preset("tiny", tiny_presets_file)
    problems, out = load_problems("gsm8k", None, 2), tmp_path / "frontier"
    stopped = StopAt(stop_at=4)
    assert run_frontier(out, plan, problems, preset, "frontier test", stopped) is False
    assert stopped.plans == [(3, 2, 0, 12)] and len(stopped.recorded_runs) == 4
    resumed = StopAt()
    assert run_frontier(out, plan, problems, preset, "frontier test", resumed) is True
    assert resumed.plans == [(3, 2, 4, 8)] and len(resumed.recorded_runs) == 8
    info = json.loads((out / FRONTIER_FILE).read_text())
    assert [p["name"] for p in info["points"]] == ["low-u", "high-u", "two-drafts"] and len(info["resumed"]) == 1
    for point in info["points"]:
        for method, path in point["runs"].items():
            keys = [r.key for r in read_records(out / path)]
            assert sorted(keys) == sorted({(p, method, 0) for p in ("0", "1")})  # every cell once
            assert RunDirectory(out / path).info()["settings"]["config"]["max_steps"] == 2
    for name, drafts in (("low-u", 3), ("two-drafts", 2)):  # every π_S draft of every step has its reward counted
        for r in read_records(out / "points" / name):
            assert sum(r.reward_counts.values()) == drafts * r.steps and 0 <= r.differing_steps <= r.steps
    assert info["engine"].startswith(info["commit"])
    (out / FRONTIER_FILE).write_text(json.dumps({**info, "engine": "0000000"}))
    with pytest.raises(ConfigError, match="pinned to engine 0000000"):
        run_frontier(out, plan, load_problems("gsm8k", None, 3), preset, "frontier test")
    assert len(read_records(out / "points/low-u")) == 2  # refused before anything ran
    assert run_frontier(out, plan, problems, preset, "frontier test", allow_other_commit=True) is True
    changed = load_plan(write_plan(tmp_path, PLAN.replace("threshold: 0.2", "threshold: 0.3")))
    with pytest.raises(ValueError, match="other settings"):
        run_frontier(out, changed, load_problems("gsm8k", None, 3), preset, "frontier test", allow_other_commit=True)


def test_frontier_via_the_cli_prints_its_table_and_is_one_saved_run(tmp_path, tiny_presets_file):
    out = tmp_path / "results" / "tiny-frontier"
    args = ["frontier", "--plan", str(write_plan(tmp_path)), "--out", str(out), "--limit", "1"]
    done = cli(*args, env={"GSI_PRESETS_FILE": tiny_presets_file})
    assert done.returncode == 0, done.stderr
    assert "3 GSI points × 1 problems with their baselines, 0 runs already done, 6 to run" in done.stderr
    assert "| low-u | step-verifier | threshold=0.2 | 1 × 1 |" in done.stdout and "| two-drafts |" in done.stdout
    assert "Frontier of gsm8k · preset tiny · 3 GSI points · commit" in done.stdout
    report = cli("report", str(out))
    assert report.returncode == 0 and report.stdout == done.stdout and (out / "frontier.html").exists()
    again = cli(*args, env={"GSI_PRESETS_FILE": tiny_presets_file})
    assert again.returncode == 0 and "6 runs already done, 0 to run" in again.stderr
    assert list(saved_runs([tmp_path / "results"]))[0] == "tiny-frontier"  # its run directories are not listed apart
    assert not {"low-u", "high-u"} & set(saved_runs([tmp_path / "results"]))
    # every run directory's saved events are predicted once, each row naming its directory
    costs = tmp_path / "costs.json"
    costs.write_text(json.dumps({"costs": {"token_costs": TokenCosts(0.001, 0.002, 0.0005).to_dict()}}))
    predicted = cli("report", str(out), "--predict-costs", str(costs))
    assert predicted.returncode == 0, predicted.stderr
    result = json.loads(predicted.stdout.strip().splitlines()[-1])
    assert result["runs"] == 6 and sorted(result["gsi_over_sbon_big_by_point"]) == ["high-u", "low-u", "two-drafts"]
    assert all(r["pairs"] == 1 and r["measured"] > 0 for r in result["gsi_over_sbon_big_by_point"].values())
    assert "| 0 | gsi (points/two-drafts) |" in predicted.stdout and "| 0 | sbon-big (baselines/sbon-big-" in predicted.stdout
    # or only the named points and their baselines: two-drafts' sbon-small draws 2, its sbon-big is the others'
    chosen = cli("report", str(out), "--predict-costs", str(costs), "--points", "two-drafts")
    assert chosen.returncode == 0, chosen.stderr
    result = json.loads(chosen.stdout.strip().splitlines()[-1])
    assert result["runs"] == 3 and list(result["gsi_over_sbon_big_by_point"]) == ["two-drafts"]
    unknown = cli("report", str(out), "--predict-costs", str(costs), "--points", "two-drafts,nowhere")
    assert unknown.returncode == 2 and "no point nowhere; its points: low-u, high-u, two-drafts" in unknown.stderr
    # or only some seeds: this frontier ran seed 0 alone
    seed0 = cli("report", str(out), "--predict-costs", str(costs), "--points", "two-drafts", "--seeds", "0")
    assert seed0.returncode == 0 and json.loads(seed0.stdout.strip().splitlines()[-1])["runs"] == 3
    seed1 = cli("report", str(out), "--predict-costs", str(costs), "--seeds", "1,2")
    assert seed1.returncode == 2 and "holds no saved runs at seed 1, 2" in seed1.stderr


def frontier_of(tmp_path, records_by_run, points):
    """A frontier directory holding these records, as `run_frontier` lays it out."""
    for run, records in records_by_run.items():
        directory = RunDirectory(tmp_path / run)
        directory.open({"settings": {"dataset": "gsm8k", "preset": "p", "config": {"n": 4}}})
        for r in records:
            directory.append(r)
    (tmp_path / FRONTIER_FILE).write_text(json.dumps({"dataset": "gsm8k", "preset": "p", "points": points}))
    return tmp_path


def test_frontier_table_maths_on_known_records(tmp_path):
    """Two points against one sbon-big: times are paired per (problem, seed), the SE is over seeds where there are
    several, and the Pareto set holds exactly the rows no other beats on both accuracy and time."""
    import dataclasses

    big = [record(p, "sbon-big", p != "c", 10.0, seed=s) for p in "abc" for s in (0, 1)]
    fast = [dataclasses.replace(record(p, "gsi", p == "a", 4.0, accepted=3, fallbacks=1, seed=s),
                                differing_steps=2, reward_counts={"0.5": 3, "1": 1}) for p in "abc" for s in (0, 1)]
    slow = [record(p, "gsi", True, 30.0 if p == "a" else 10.0, accepted=1, fallbacks=1) for p in "abd"]
    small = [record(p, "sbon-small", False, 2.0, seed=s) for p in "abc" for s in (0, 1)]
    runs = {"gsi": None, "sbon-small": "baselines/small", "sbon-big": "baselines/big"}
    points = [{"name": name, "overrides": {"threshold": u}, "reward": {"kind": "step-verifier"}, "seeds": [0],
               "runs": {**runs, "gsi": f"points/{name}"}} for name, u in (("fast", 0.1), ("slow", 0.9))]
    path = frontier_of(tmp_path, {"points/fast": fast, "points/slow": slow, "baselines/big": big,
                                  "baselines/small": small}, points)
    fast_row, slow_row, small_row, big_row = frontier_entries(path)
    assert (fast_row.accuracy, fast_row.seeds, fast_row.time_ratio) == (pytest.approx(1 / 3), 2, 0.4)
    assert fast_row.accuracy_error == 0.0 and fast_row.error_over == "SE over 2 seeds"  # both seeds got 1 of 3
    assert (fast_row.acceptance, fast_row.differing_steps, fast_row.modal_share) == (0.75, 0.5, 0.75)
    assert fast_row.difference.difference == pytest.approx(-1 / 3) and fast_row.difference.pairs == 6
    assert slow_row.time_ratio == pytest.approx(40 / 20)  # problem d has no sbon-big run: left out of the ratio
    assert slow_row.accuracy == 1.0 and slow_row.error_over == "binomial SE" and slow_row.differing_steps is None
    assert (big_row.label, big_row.time_ratio, big_row.difference) == ("sbon-big · step-verifier · n=4", 1.0, None)
    assert small_row.time_ratio == pytest.approx(0.2) and small_row.accuracy == 0.0
    assert [e.pareto for e in (fast_row, slow_row, small_row, big_row)] == [True, True, True, True]
    worse = dataclasses.replace(slow_row, label="worse", accuracy=0.5, time_ratio=2.5)
    assert [e.pareto for e in mark_pareto([fast_row, slow_row, worse])] == [True, True, False]
    table = frontier_table([fast_row])
    assert "| fast | step-verifier | threshold=0.1 | 3 × 2 | 33.3% | 0.0% (SE over 2 seeds) | 0.40 | 75% | 50% | 75% |  | ◆ |" in table
    assert not shows_tilt(fast_row) and default_candidate([fast_row, slow_row]) is None  # 75% of drafts at ½
    tilted = dataclasses.replace(fast_row, label="tilted", modal_share=0.3)
    assert shows_tilt(tilted) and "| tilted |" in frontier_table([tilted]) and "| ✓ | ◆ |" in frontier_table([tilted])
    assert not shows_tilt(dataclasses.replace(tilted, acceptance=0.95))
    worse_than_big = dataclasses.replace(tilted, difference=dataclasses.replace(tilted.difference, high=-0.01))
    faster = dataclasses.replace(tilted, label="faster", time_ratio=0.3)
    assert default_candidate([tilted, faster]).label == "faster"
    assert default_candidate([worse_than_big]) is None  # separated from sbon-big, below it
    assert "The default it points to: **faster**" in frontier_text([tilted, faster])
    assert math.isclose(slow_row.accuracy_error, 0.0)  # all correct: a binomial SE of 0


def test_a_point_short_of_the_fullest_rows_problems_is_shown_but_compared_with_nothing(tmp_path):
    """A point one problem into a resumed run scores 0% or 100%: it must neither take the Pareto set nor become the
    default, however fast and accurate it looks, and the table, figure and summary say it is partial."""
    import dataclasses

    tilted = {"differing_steps": 1, "reward_counts": {"0.2": 1, "0.4": 1, "0.6": 1, "0.8": 1}}
    big = [record(p, "sbon-big", p in "ab", 10.0) for p in "abc"]
    small = [record(p, "sbon-small", False, 2.0) for p in "abc"]
    full = [dataclasses.replace(record(p, "gsi", p == "a", 8.0, accepted=1, fallbacks=1), **tilted) for p in "abc"]
    early = [dataclasses.replace(record("a", "gsi", True, 1.0, accepted=1, fallbacks=1), **tilted)]
    runs = {"sbon-small": "baselines/small", "sbon-big": "baselines/big"}
    points = [{"name": name, "overrides": {"threshold": 0.5}, "reward": {"kind": "judge"}, "seeds": [0],
               "runs": {**runs, "gsi": f"points/{name}"}} for name in ("full", "early")]
    path = frontier_of(tmp_path, {"points/full": full, "points/early": early, "baselines/big": big,
                                  "baselines/small": small}, points)
    full_row, early_row, small_row, big_row = frontier_entries(path)
    assert (early_row.problems, early_row.accuracy, early_row.time_ratio) == (1, 1.0, 0.1)  # beats all on both axes
    assert early_row.partial and not early_row.pareto and shows_tilt(early_row)
    assert not any(e.partial for e in (full_row, small_row, big_row))
    assert full_row.pareto and small_row.pareto and big_row.pareto  # as if the early point were not there
    assert default_candidate([full_row, early_row, small_row, big_row]).label == "full"
    text = frontier_text([full_row, early_row, small_row, big_row])
    assert "| early | judge | threshold=0.5 | 1 × 1 | 100.0% |" in text and "| ✓ | partial |" in text
    assert "The default it points to: **full**" in text
    figure = frontier_figure([full_row, early_row, small_row, big_row])
    (hollow,) = [t for t in figure.data if t.name == "gsi · judge · partial"]
    assert hollow.marker.symbol == "circle-open" and list(hollow.x) == [0.1] and "partial, 1 problem" in hollow.text[0]
    (line,) = [t for t in figure.data if t.name == "Pareto set"]
    assert 0.1 not in list(line.x)
    summary = frontier_summary([full_row, early_row, small_row, big_row])
    assert summary.startswith("1 GSI point takes 0.80× sbon-big's time at 33% accuracy")
    assert summary.endswith("Still partial, so compared with nothing: early (1 problem).")
