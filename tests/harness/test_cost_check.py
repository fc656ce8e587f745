"""`python -m gsi_core report DIR --predict-costs COSTS.json` on a tiny eval: a row per saved run, errors summed up."""

import json

import pytest

from gsi_core.cost_check import Prediction, calibrated_errors
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
    # and by block: each method's runs at seed 0 together
    big_factor = sum(records[p, "sbon-big", 0].wall_time for p in ("0", "1")) / sum(
        predict_run_seconds(runs[p, "sbon-big", 0], costs)["total"] for p in ("0", "1"))
    blocks = {b["block"]: b for b in result["speed_factor_by_block"]}
    assert sorted(blocks) == ["gsi", "sbon-big"] and blocks["sbon-big"]["runs"] == 2
    assert blocks["sbon-big"]["speed_factor"] == pytest.approx(big_factor, rel=1e-6)
    assert f"sbon-big seed 0 {big_factor:.2f} (2 runs)" in table
    # and with each model's speed read from the problem's other run (gsi from sbon-big, and back)
    assert result["calibrated_runs"] == 4 and 0 <= result["median_error_calibrated"] <= result["worst_error_calibrated"]
    assert f"worst {result['worst_error_calibrated']:.1%} over 4 runs" in table


def test_report_refuses_a_directory_without_saved_events(tmp_path):
    (tmp_path / "results.jsonl").write_text("")
    (tmp_path / "costs.json").write_text(json.dumps({"costs": {"token_costs": TokenCosts(0.1, 0.2, 0.05).to_dict()}}))
    done = cli("report", str(tmp_path), "--predict-costs", str(tmp_path / "costs.json"))
    assert done.returncode == 2 and "no saved events" in done.stderr
    bare = cli("report", str(tmp_path), "--predict-costs", str(tmp_path / "absent.json"))
    assert bare.returncode == 2 and "absent.json: no such file" in bare.stderr


def stages(drafting=0.0, scoring=0.0, reward=0.0, fallback=0.0):
    return {"drafting": drafting, "scoring": scoring, "reward": reward, "fallback": fallback,
            "total": drafting + scoring + reward + fallback}


def test_calibrated_errors_read_each_models_speed_from_the_problems_other_runs():
    """π_S's speed from the other runs' π_S seconds (drafting in gsi and sbon-small), π_B's from theirs (sbon-big's
    drafting, gsi's scoring and fallback), never from the run itself; a model the others barely used takes their
    whole-run factor; a run alone on its problem is left out."""
    small = Prediction(("0", "sbon-small", 0), stages(drafting=10), stages(drafting=5), 5.0)  # π_S at 0.5×
    big = Prediction(("0", "sbon-big", 0), stages(drafting=20, reward=0.5), stages(drafting=30, reward=1), 31.0,
                     drafter="big")  # π_B at 1.5×
    gsi = Prediction(("0", "gsi", 0), stages(drafting=4, scoring=2, reward=2, fallback=6),
                     stages(drafting=3, scoring=3, reward=2, fallback=9), 17.0)
    alone = Prediction(("1", "gsi", 0), stages(drafting=4), stages(drafting=8), 8.0)
    errors = dict(zip(("small", "big", "gsi"), calibrated_errors([small, big, gsi, alone])))
    assert len(calibrated_errors([small, big, gsi, alone])) == 3  # problem 1 has no other run
    # gsi: π_S 4 × 0.5, π_B (2 + 6) × 1.5, its reward (the others' 0.5 s is below a second) at their whole-run
    # factor (5 + 31) ÷ (10 + 20.5)
    assert errors["gsi"] == pytest.approx((4 * 0.5 + 8 * 1.5 + 2 * 36 / 30.5 - 17) / 17)
    # sbon-small: π_S from gsi's drafting alone (3 ÷ 4), not from its own 0.5
    assert errors["small"] == pytest.approx((10 * 0.75 - 5) / 5)
    # sbon-big: π_B from gsi's scoring and fallback (12 ÷ 8); its reward from gsi's (2 ÷ 2)
    assert errors["big"] == pytest.approx((20 * 1.5 + 0.5 * 1.0 - 31) / 31)
