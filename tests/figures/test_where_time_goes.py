""""Where the time goes": the run's stage times and tokens come from its events, and every predicted number is
the cost model's on the costs file it was given (a small JSON written here, standing in for the bench's)."""

import copy
import dataclasses
import json

import pytest

from gsi_core import run_method
from gsi_core.cost_model import TokenCosts, Workload, break_even_acceptance, floor_ratio, ratio
from gsi_core.figures import ratio_against_acceptance_figure, toy_curves_figure
from gsi_core.where_time_goes import load_costs, run_shape, where_time_goes_markdown

TOKEN_COSTS = {"small_decode": 0.0145, "big_decode": 0.036, "big_scoring": 0.013, "reward": 0.001,
               "small_commit": 0.002, "big_commit": 0.005}


def write_costs(path, token_costs=TOKEN_COSTS, recomputed=(0.5, 0.25)):
    path.write_text(json.dumps({
        "machine": "Test CPU (avx512_bf16), 2 cores", "date": "2026-12-05",
        "costs": {"token_costs": token_costs, "floor_ratio": 0.5,
                  "recomputed_per_committed_token": {"small": recomputed[0], "big": recomputed[1]}}}))
    return path


@pytest.fixture
def events(small, big, verifier, config):
    return list(run_method("gsi", "What is 12 + 30?", small, big, verifier, config.replace(n_small=3, n_big=2)))


@pytest.fixture
def costs(tmp_path):
    return load_costs(write_costs(tmp_path / "costs.json"))


def test_the_loader_reads_the_bench_json_and_says_what_is_missing(tmp_path, costs):
    assert costs.token_costs == TokenCosts(**TOKEN_COSTS)
    assert (costs.machine, costs.widths, costs.step_tokens) == ("Test CPU (avx512_bf16), 2 cores", None, None)
    assert costs.workload(3, 2, 7.0) == Workload(3, 2, 7.0, small_recomputed=0.5, big_recomputed=0.25)
    (tmp_path / "bare.json").write_text(json.dumps({"costs": {"token_costs": TOKEN_COSTS, "n_small": 4, "n_big": 8,
                                                              "tokens": 21.5}}))
    bare = load_costs(tmp_path / "bare.json")
    assert bare.workload(3, 2, 7.0) == Workload(3, 2, 7.0)  # the cost model's own recomputed shares
    assert (bare.widths, bare.step_tokens) == ((4, 8), 21.5)
    assert load_costs(tmp_path / "absent.json") is None
    (tmp_path / "bad.json").write_text(json.dumps({"costs": {"floor_ratio": 0.7}}))
    with pytest.raises(ValueError, match="costs.token_costs"):
        load_costs(tmp_path / "bad.json")


def test_the_run_shape_is_read_from_its_events(events):
    shape, summary = run_shape(events), events[-1]
    assert (shape.n_small, shape.n_big, shape.steps) == (3, 2, summary.steps)
    assert (shape.small_written, shape.big_written, shape.big_checked) == (
        summary.tokens_small, summary.tokens_big, summary.tokens_scored_big)
    assert shape.acceptance == summary.acceptance_rate
    assert shape.stage_seconds.total == pytest.approx(summary.timings.total)
    candidates = [c for e in events[1:-1] for c in e.candidates]
    assert shape.mean_step_tokens == pytest.approx(sum(c.num_tokens for c in candidates) / len(candidates))
    # live: the shape of the run so far, before its summary
    assert run_shape(events[:2]).steps == 1 and run_shape([]) is None


def test_the_panel_states_the_cost_models_numbers_for_this_run(events, costs):
    shape = run_shape(events)
    work = Workload(3, 2, shape.mean_step_tokens, 0.5, 0.25)
    text = where_time_goes_markdown(events, costs, 0.3)
    here, gpu = TokenCosts(**TOKEN_COSTS), TokenCosts(**TOKEN_COSTS).gpu_like(0.3)
    for priced, line in ((here, "**On this machine**"), (gpu, "**As on a GPU**")):
        said = next(part for part in text.split("\n") if part.startswith(f"- {line}"))
        assert f"**{ratio(priced, work, shape.acceptance):.2f}×**" in said
        assert f"{floor_ratio(priced, work):.2f}×" in said
        even = break_even_acceptance(priced, work)
        expected = {None: "never breaks even", 0.0: "faster at any acceptance"}.get(even) or f"**{even:.0%}** of drafts"
        assert expected in said
    assert "0.30 of the time" in text and "Test CPU (avx512_bf16), 2 cores" in text
    for stage in ("drafting", "scoring", "reward", "fallback"):
        assert f"| {stage} | " in text and f"{getattr(shape.stage_seconds, stage):.2f} s" in text
    assert f"π_S wrote {shape.small_written:,}; π_B wrote {shape.big_written:,} and checked {shape.big_checked:,}" in text


def test_a_judge_runs_panel_prices_the_judges_forwards(events, costs):
    judged = [dataclasses.replace(events[0], reward_model="judge-big"), *events[1:]]
    shape = run_shape(judged)
    assert shape.judge == "big" and run_shape(events).judge is None
    text = where_time_goes_markdown(judged, costs, 0.3)
    assert "Its reward is a judge: π_B reads every candidate again" in text
    plain, judge = (Workload(3, 2, shape.mean_step_tokens, 0.5, 0.25, judge=role) for role in (None, "big"))
    here = TokenCosts(**TOKEN_COSTS)
    assert ratio(here, judge, shape.acceptance) != ratio(here, plain, shape.acceptance)
    said = next(part for part in text.split("\n") if part.startswith("- **On this machine**"))
    assert f"**{ratio(here, judge, shape.acceptance):.2f}×**" in said


def test_the_panel_says_when_the_costs_were_measured_at_other_widths(events, costs, tmp_path):
    assert "The costs were measured at" not in where_time_goes_markdown(events, costs)
    (tmp_path / "wide.json").write_text(json.dumps({"costs": {"token_costs": TOKEN_COSTS, "n_small": 4, "n_big": 8}}))
    assert "measured at n_small = 4, n_big = 8" in where_time_goes_markdown(events, load_costs(tmp_path / "wide.json"))
    (tmp_path / "same.json").write_text(json.dumps({"costs": {"token_costs": TOKEN_COSTS, "n_small": 3, "n_big": 2}}))
    assert "The costs were measured at" not in where_time_goes_markdown(events, load_costs(tmp_path / "same.json"))


def test_where_checking_costs_as_much_as_writing_gsi_never_breaks_even(events, tmp_path):
    slow_check = dict(TOKEN_COSTS, big_scoring=TOKEN_COSTS["big_decode"])
    text = where_time_goes_markdown(events, load_costs(write_costs(tmp_path / "slow.json", slow_check)))
    assert "never breaks even" in text.split("**As on a GPU**")[0]
    assert "Run a problem" in where_time_goes_markdown([], None)
    assert "No measured costs" in where_time_goes_markdown(events, None)


def test_the_figure_draws_the_model_against_acceptance_and_marks_the_run(events, costs):
    before = copy.deepcopy(events)
    figure = ratio_against_acceptance_figure(events, costs, 0.2)
    assert events == before
    shape = run_shape(events)
    work = Workload(3, 2, shape.mean_step_tokens, 0.5, 0.25)
    traces = {t.name: t for t in figure.data}
    for name, priced in (("this machine", TokenCosts(**TOKEN_COSTS)), ("GPU-like", TokenCosts(**TOKEN_COSTS).gpu_like(0.2))):
        assert list(traces[name].y) == pytest.approx([ratio(priced, work, a) for a in traces[name].x])
        assert traces[f"this run, {name}"].x[0] == shape.acceptance
    assert ratio_against_acceptance_figure(events, None) is None and ratio_against_acceptance_figure([], costs) is None


def test_the_labs_curve_carries_the_time_ratio_on_the_right_axis():
    figure = toy_curves_figure([1, 2], {"gsi": [0.2, 0.1]}, [0.5, 0.7], [0.5, 0.3], [1.4, 1.2], "GPU-like")
    series = next(t for t in figure.data if t.name == "GSI time ÷ sbon-big's (GPU-like)")
    assert list(series.y) == [1.4, 1.2] and series.yaxis == "y2"
    assert figure.layout.yaxis2.range[1] >= 1.4
    plain = toy_curves_figure([1, 2], {"gsi": [0.2, 0.1]}, [0.5, 0.7], [0.5, 0.3])
    assert not any("time" in t.name for t in plain.data) and tuple(plain.layout.yaxis2.range) == (0, 1)
