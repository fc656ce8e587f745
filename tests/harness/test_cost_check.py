"""`python -m gsi_core report DIR --predict-costs COSTS.json` on a tiny eval: a row per saved run, errors summed up."""

import json

import pytest

from gsi_core.cost_model import TokenCosts, predict_run_seconds
from gsi_core.data import BENCHMARKS_DIR
from gsi_core.evaluation import RunDirectory

from support import cli


@pytest.fixture
def gsm8k_slice(tmp_path):
    path = tmp_path / "gsm8k.jsonl"
    path.write_text("".join((BENCHMARKS_DIR / "gsm8k.jsonl").read_text().splitlines(keepends=True)[:2]))
    return path


def test_report_predicts_each_saved_run_from_its_events(tmp_path, tiny_presets_file, gsm8k_slice):
    env = {"GSI_PRESETS_FILE": tiny_presets_file}
    out = tmp_path / "run"
    done = cli("eval", "--preset", "tiny", "--dataset", "gsm8k", "--data", str(gsm8k_slice), "--out", str(out),
               "--methods", "gsi,sbon-big", "--limit", "2", env=env)
    assert done.returncode == 0, done.stderr
    runs = RunDirectory(out).saved_events()
    assert sorted(runs) == sorted((p, m, 0) for p in ("0", "1") for m in ("gsi", "sbon-big"))
    records = {r.key: r for r in RunDirectory(out).records()}
    assert all(runs[key].summary.wall_time == records[key].wall_time for key in runs)
    costs = TokenCosts(small_decode=0.001, big_decode=0.002, big_scoring=0.0005, small_commit=0.0002,
                       big_commit=0.0004, small_commit_step=0.001, big_commit_step=0.002)
    costs_file = tmp_path / "bench.json"
    costs_file.write_text(json.dumps({"costs": {"token_costs": costs.to_dict()}}))
    checked = cli("report", str(out), "--predict-costs", str(costs_file))
    assert checked.returncode == 0, checked.stderr
    table, result = checked.stdout.rsplit("\n", 2)[0], json.loads(checked.stdout.strip().splitlines()[-1])
    assert result["runs"] == 4 and 0 <= result["median_error"] <= result["worst_error"]
    predicted = predict_run_seconds(runs["1", "sbon-big", 0], costs)["total"]
    assert "| 1 | sbon-big |" in table and f"{predicted:.1f} / {records['1', 'sbon-big', 0].wall_time:.1f}" in table
    # two benches (before and after the runs) are averaged cost by cost
    slower = TokenCosts.from_dict({k: 3 * v for k, v in costs.to_dict().items()})
    (tmp_path / "after.json").write_text(json.dumps({"costs": {"token_costs": slower.to_dict()}}))
    both = cli("report", str(out), "--predict-costs", f"{costs_file},{tmp_path / 'after.json'}")
    assert both.returncode == 0, both.stderr
    doubled = predict_run_seconds(runs["1", "sbon-big", 0], TokenCosts.mean([costs, slower]))["total"]
    assert doubled == pytest.approx(2 * predicted) and f"{doubled:.1f} / " in both.stdout
    assert f"With {costs_file} alone: median {result['median_error']:.1%}" in both.stdout
    assert "median" in table and result["gsi_over_sbon_big"]["pairs"] == 2
    # the machine's speed apart: one factor for every run, and the errors' spread within a problem
    factor = sum(r.wall_time for r in records.values()) / sum(
        predict_run_seconds(runs[key], costs)["total"] for key in records)
    assert result["speed_factor"] == pytest.approx(factor, rel=1e-6)
    assert 0 <= result["median_error_after_factor"] <= result["worst_error_after_factor"]
    assert 0 <= result["error_sd_within_problem"] <= result["error_sd"] + 1e-12
    assert f"(measured ÷ predicted: {factor:.2f})" in table


def test_report_refuses_a_directory_without_saved_events(tmp_path):
    (tmp_path / "results.jsonl").write_text("")
    (tmp_path / "costs.json").write_text(json.dumps({"costs": {"token_costs": TokenCosts(0.1, 0.2, 0.05).to_dict()}}))
    done = cli("report", str(tmp_path), "--predict-costs", str(tmp_path / "costs.json"))
    assert done.returncode == 2 and "no saved events" in done.stderr
    bare = cli("report", str(tmp_path), "--predict-costs", str(tmp_path / "absent.json"))
    assert bare.returncode == 2 and "absent.json: no such file" in bare.stderr
