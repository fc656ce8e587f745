"""Figure builders and UI views are pure functions of events: tested on a real tiny run, no browser."""

import copy

import pytest

from gsi_core import run_method
from gsi_core.costs import estimated_flops
from gsi_core.figures import candidates_figure, comparison_figure, latency_figure, timeline_figure
from gsi_ui.state import RunState
from gsi_ui.views import candidate_rows, explain_step, solution_html


@pytest.fixture
def events(small, big, verifier, config):
    return list(run_method("gsi", "What is 12 + 30?", small, big, verifier, config))


def test_candidates_figure_shows_every_draft_and_the_threshold(events):
    step = events[1]
    figure = candidates_figure(step)
    traces = {t.name: t for t in figure.data}
    assert list(traces["reward r"].y) == [c.reward for c in step.candidates]
    assert list(traces["selection weight"].y) == [c.weight for c in step.candidates]
    assert list(traces["tilted reward r̃"].y) == [c.tilted_reward for c in step.candidates]
    assert traces["reward r"].x[step.chosen].endswith("◆")
    assert figure.layout.shapes[0].y0 == step.threshold and figure.layout.height == 320


def test_timeline_and_latency_cover_every_step(events):
    steps = [e for e in events if e.type == "step"]
    timeline = timeline_figure(events)
    assert sum(len(t.x) for t in timeline.data) == len(steps)
    assert {t.name for t in timeline.data} <= {"accepted", "fallback"}
    latency = latency_figure(events)
    assert [t.name for t in latency.data] == ["drafting", "reward", "scoring", "fallback"]
    assert sum(sum(t.y) for t in latency.data) == pytest.approx(sum(s.timings.total for s in steps))


def test_builders_do_not_modify_their_input(events):
    before = copy.deepcopy(events)
    candidates_figure(events[1]), timeline_figure(events), latency_figure(events), comparison_figure([events[-1]])
    assert events == before


def test_state_round_trips_through_an_export(events):
    state = RunState(tuple(events))
    assert RunState.from_jsonl(state.to_jsonl()) == state
    with pytest.raises(ValueError, match="line 2 is not an event"):
        RunState.from_jsonl(state.to_jsonl().splitlines()[0] + "\n{\"type\": \"nope\"}\n")
    choices = state.step_choices()
    assert sorted(index for _, index in choices) == [s.index for s in state.steps]
    rejected = [label for label, _ in choices if "rejected" in label]
    assert [label for label, _ in choices][: len(rejected)] == rejected  # rejected steps first


def test_views_explain_the_decision(events):
    for step in RunState(tuple(events)).steps:
        text = explain_step(step)
        assert ("rejected" in text) == (step.decision == "fallback")
        assert f"u = {step.threshold:g}" in text
        rows = candidate_rows(step)
        assert len(rows) == len(step.candidates) and rows[step.chosen][1] == "◆"
        assert rows[0][3] == pytest.approx(step.candidates[0].logp_big - step.candidates[0].logp_small, abs=0.01)
        assert [row[-1] for row in rows] == ["; ".join(c.reward_reasons) for c in step.candidates]
        assert all(row[-1] for row in rows)  # the step verifier always says why
        assert "; ".join(step.candidates[step.chosen].reward_reasons) in text
    html = solution_html(RunState(tuple(events)))
    assert html.count('class="gsi-step"') == len(events) - 2


def test_flops_estimate(events):
    start, summary = events[0], events[-1]
    flops = estimated_flops(start, summary)
    assert flops["small"] == 2 * start.small_params * summary.tokens_small
    assert flops["big"] == 2 * start.big_params * (summary.tokens_big + summary.tokens_scored_big)
