"""Figure builders and UI views are pure functions of events: tested on a real tiny run, no browser."""

import copy
import dataclasses
import html
import re
from collections import Counter

import pytest

from gsi_core import run_method
from gsi_core.costs import estimated_flops
from gsi_core.figures import (candidates_figure, candidates_summary, comparison_figure, frontier_figure,
                              frontier_summary, latency_figure, latency_summary, timeline_figure, timeline_summary)
from gsi_core.events import from_json, to_json
from gsi_core.evaluation import read_records
from gsi_core.explain import explain_decision
from gsi_core.frontier_report import frontier_entries, frontier_info, frontier_text
from gsi_ui.state import RunState
from gsi_ui.views import SHADE_LIMIT, candidate_rows, explain_step, solution_html, token_shade, token_view_html
from testkit.tiny import REPO


@pytest.fixture
def events(small, big, verifier, config):
    return list(run_method("gsi", "What is 12 + 30?", small, big, verifier, config))


def test_candidates_figure_shows_every_draft_and_the_threshold(events):
    step, beta = events[1], events[0].config["beta"]
    figure = candidates_figure(step, beta)
    traces = {t.name: t for t in figure.data}
    assert list(traces["reward r"].y) == [c.reward for c in step.candidates]
    assert list(traces["selection weight"].y) == [c.weight for c in step.candidates]
    assert list(traces["tilted reward r̃"].y) == [c.tilted_reward for c in step.candidates]
    assert traces["reward r"].x[step.chosen].endswith("◆")
    assert figure.layout.shapes[0].y0 == step.threshold


def test_candidates_figure_sets_the_rewards_room_beside_pi_bs_view_in_nats(events, small, big, verifier, config):
    """GSI's test per draft: β(r − u) and log π_B − log π_S, whose sum β(r̃ − u) keeps a draft at ≥ 0."""
    step, beta = events[1], events[0].config["beta"]
    traces = {t.name: t for t in candidates_figure(step, beta).data}
    room, view = traces["reward's room β(r − u)"], traces["π_B's view log π_B − log π_S"]
    assert list(room.y) == pytest.approx([beta * (c.reward - step.threshold) for c in step.candidates])
    assert list(view.y) == pytest.approx([c.logp_big - c.logp_small for c in step.candidates])
    assert list(traces["sum β(r̃ − u): kept if ≥ 0"].y) == pytest.approx(
        [beta * (c.tilted_reward - step.threshold) for c in step.candidates])
    assert room.xaxis == view.xaxis == "x2" and traces["reward r"].xaxis == "x"  # a panel of their own, below
    rsd = RunState.of(run_method("rsd", "What is 12 + 30?", small, big, verifier, config.replace(max_steps=1))).steps[0]
    plain = candidates_figure(rsd, beta)  # RSD tests r alone and π_B scored nothing: no panel in nats
    assert "reward's room β(r − u)" not in {t.name for t in plain.data} and plain.layout.height == 320
    assert "reward's room β(r − u)" not in {t.name for t in candidates_figure(step, None).data}  # β unknown


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
    candidates_figure(events[1], 20.0), timeline_figure(events), latency_figure(events), comparison_figure([events[-1]])
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
    indices = [index for label, index in choices]
    assert indices[: len(rejected)] == sorted(indices[: len(rejected)], reverse=True)  # newest first
    assert indices[len(rejected):] == sorted(indices[len(rejected):], reverse=True)


def test_views_explain_the_decision(events):
    beta = events[0].config["beta"]
    for step in RunState(tuple(events)).steps:
        text = explain_step(step, beta)
        assert ("rejected" in text) == (step.decision == "fallback")
        explanation = explain_decision(step, beta)
        assert f" and **{explanation.verdict}**: {explanation.reason}." in text
        rows = candidate_rows(step)
        assert len(rows) == len(step.candidates) and rows[step.chosen][1] == "◆"
        assert rows[0][3] == pytest.approx(step.candidates[0].logp_big - step.candidates[0].logp_small, abs=0.01)
        assert [row[-1] for row in rows] == ["; ".join(c.reward_reasons) for c in step.candidates]
        assert all(row[-1] for row in rows)  # the step verifier always says why
        assert "; ".join(step.candidates[step.chosen].reward_reasons) in text
    html = solution_html(RunState(tuple(events)))
    assert html.count('class="gsi-step"') == len(events) - 2


def test_views_say_what_an_ablation_tested(small, big, verifier, config):
    raw = RunState.of(run_method("gsi-raw-threshold", "What is 12 + 30?", small, big, verifier, config)).steps[0]
    chosen = raw.candidates[raw.chosen]
    assert raw.threshold_on == "reward" and raw.tested_value == chosen.reward != chosen.tilted_reward
    assert "gsi-raw-threshold tests the raw reward alone: r " in explain_step(raw, config.beta)
    assert "r̃" not in explain_step(raw, config.beta)
    kept = RunState.of(run_method("gsi-no-fallback", "What is 12 + 30?", small, big, verifier, config.replace(threshold=9)))
    assert all(s.decision == "accepted" and s.threshold is None for s in kept.steps)
    assert "keeps every sampled draft; there is no threshold to meet" in explain_step(kept.steps[0], config.beta)
    timeline_figure(kept.events)  # no threshold line to draw, and no error


def test_flops_estimate(events):
    start, summary = events[0], events[-1]
    flops = estimated_flops(start, summary)
    assert flops["small"] == 2 * start.small_params * summary.tokens_small
    assert flops["big"] == 2 * start.big_params * (summary.tokens_big + summary.tokens_scored_big)


TOKEN_SPAN = re.compile(r'<span class="gsi-token" style="background:(#[0-9a-f]{6})" title="([^"]*)">([^<]*)</span>')


def test_token_view_shades_every_token_by_the_models_disagreement(events):
    for step in RunState(tuple(events)).steps:
        view = token_view_html(step)
        assert "π_B less likely" in view and "π_B more likely" in view  # the legend
        drafts = view.split('<div class="gsi-draft">')[1:]
        assert len(drafts) == len(step.candidates)  # π_B's fallback drafts have no π_S values: not shown
        for candidate, draft in zip(step.candidates, drafts):
            spans = TOKEN_SPAN.findall(draft)
            assert "".join(html.unescape(text) for _, _, text in spans) == candidate.text
            assert len(spans) == candidate.num_tokens
            for (shade, title, _), small, big in zip(spans, candidate.token_logprobs_small, candidate.token_logprobs_big):
                assert shade == token_shade(big - small)
                assert f"log π_S {small:.4f}, log π_B {big:.4f}" in html.unescape(title)
        assert ("◆ sampled" in drafts[step.chosen]) and sum("◆ sampled" in d for d in drafts) == 1


def test_token_shades_diverge_from_white_at_zero():
    assert token_shade(0.0) == "#ffffff"
    less, more = token_shade(-SHADE_LIMIT), token_shade(SHADE_LIMIT)
    assert int(less[1:3], 16) > int(less[5:7], 16) and int(more[5:7], 16) > int(more[1:3], 16)  # red, blue
    assert token_shade(-10 * SHADE_LIMIT) == less and token_shade(-SHADE_LIMIT / 2) not in (less, "#ffffff")


def test_token_view_shows_reward_reasons_and_old_events_without_token_values(events):
    step = RunState(tuple(events)).steps[0]
    reasons = [("the arithmetic 2 < 3 checks out",), ()] + [()] * (len(step.candidates) - 2)
    with_reasons = [dataclasses.replace(c, reward_reasons=r) for c, r in zip(step.candidates, reasons)]
    view = token_view_html(dataclasses.replace(step, candidates=tuple(with_reasons)))
    assert view.count('class="gsi-reasons"') == 1 and "the arithmetic 2 &lt; 3 checks out" in view
    old = dataclasses.replace(step, candidates=tuple(dataclasses.replace(c, token_texts=None, token_logprobs_small=None,
                                                                         token_logprobs_big=None)
                                                     for c in step.candidates))
    plain = token_view_html(from_json(to_json(old)))
    assert not TOKEN_SPAN.search(plain) and plain.count("No per-token log-probs") == len(step.candidates)


def test_every_chart_has_a_text_summary(events):
    steps = RunState(tuple(events)).steps
    last = steps[-1]
    beta = events[0].config["beta"]
    assert candidates_summary(last, beta).startswith(f"Step {last.index + 1}: {len(last.candidates)} drafts")
    assert f"#{last.chosen} was sampled" in candidates_summary(last, beta)
    assert explain_decision(last, beta).sentence in candidates_summary(last, beta)
    rejected = sum(s.decision == "fallback" for s in steps)
    assert timeline_summary(events).startswith(f"{len(steps)} steps: {len(steps) - rejected} accepted, {rejected} rejected")
    assert latency_summary(events).endswith("s).") and "drafting" in latency_summary(events)
    assert timeline_summary(events[:1]) == "No steps yet." and latency_summary(events[:1]) == "No steps timed yet."


def relative_luminance(colour: str) -> float:
    channels = [int(colour.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    """The WCAG 2 contrast ratio of two colours."""
    lighter, darker = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def css_colour(css: str, selector: str, prop: str) -> str:
    rule = re.search(re.escape(selector) + r"\s*\{([^}]*)\}", css).group(1)
    return re.search(rf"(?:^|[;\s]){prop}:\s*(#[0-9A-Fa-f]{{6}})", rule).group(1)


def test_badges_labels_and_shaded_tokens_meet_a_4_5_to_1_contrast():
    from app import CSS

    assert contrast("#000000", "#FFFFFF") == pytest.approx(21.0)
    badge_text = css_colour(CSS, ".gsi-badge", "color")
    for badge in (".gsi-small", ".gsi-big"):
        assert contrast(badge_text, css_colour(CSS, badge, "background")) >= 4.5, badge
    view_text, view_background = css_colour(CSS, ".gsi-token-view", "color"), css_colour(CSS, ".gsi-token-view", "background")
    for shade in (view_background, token_shade(-SHADE_LIMIT), token_shade(SHADE_LIMIT)):
        assert contrast(view_text, shade) >= 4.5, shade
    note = css_colour(CSS, ".gsi-token-view .gsi-note, .gsi-token-legend", "color")
    assert contrast(note, view_background) >= 4.5


TINY_FRONTIER = REPO / "tests" / "data" / "frontier-tiny"  # scripts/make_tiny_frontier.py wrote it


def test_the_frontier_of_a_committed_tiny_run_reads_back_from_its_records():
    entries = frontier_entries(TINY_FRONTIER)
    points = frontier_info(TINY_FRONTIER)["points"]
    assert [e.label for e in entries if e.kind == "gsi"] == [p["name"] for p in points]
    assert sorted(e.kind for e in entries if e.kind != "gsi") == ["sbon-big"] * 2 + ["sbon-small"] * 2
    for point, entry in zip(points, entries):
        own, big = (read_records(TINY_FRONTIER / point["runs"][m]) for m in ("gsi", "sbon-big"))
        assert entry.accuracy == pytest.approx(sum(r.correct for r in own) / len(own))
        shared = {r.key[::2] for r in own} & {r.key[::2] for r in big}  # (problem, seed) pairs
        assert entry.time_ratio == pytest.approx(sum(r.wall_time for r in own if r.key[::2] in shared)
                                                 / sum(r.wall_time for r in big if r.key[::2] in shared))
        pooled = sum((Counter(r.reward_counts) for r in own), Counter())
        assert entry.modal_share == pytest.approx(max(pooled.values()) / sum(pooled.values()))
        assert entry.seeds == len(point["seeds"]) and ("over 2 seeds" in entry.error_over) == (entry.seeds == 2)
    assert any(e.pareto for e in entries) and f"| {entries[0].label} | step-verifier |" in frontier_text(entries)


def test_frontier_figure_plots_every_row_and_joins_the_pareto_set():
    entries = frontier_entries(TINY_FRONTIER)
    before = copy.deepcopy(entries)
    figure = frontier_figure(entries, "tiny")
    markers = [t for t in figure.data if t.name != "Pareto set"]
    plotted = sorted((x, y, e) for t in markers for x, y, e in zip(t.x, t.y, t.error_y.array))
    assert plotted == sorted((e.time_ratio, 100 * e.accuracy, 100 * e.accuracy_error) for e in entries)
    shapes = {t.name.split(" · ")[0]: t.marker.symbol for t in markers}
    assert shapes == {"gsi": "circle", "sbon-small": "square", "sbon-big": "diamond"}
    (line,) = [t for t in figure.data if t.name == "Pareto set"]
    pareto = sorted((e for e in entries if e.pareto), key=lambda e: e.time_ratio)
    assert list(line.x) == [e.time_ratio for e in pareto] and len(pareto) >= 1
    assert entries == before
    labelled = {text: position for t in markers for text, position in zip(t.text, t.textposition)}
    assert set(labelled.values()) <= {"top center", "bottom center", "middle right", "middle left"}
    # two points close on both axes get their labels in different places, not printed over each other
    near = [dataclasses.replace(entries[0], label="judge-u0.45", time_ratio=1.0, accuracy=0.5),
            dataclasses.replace(entries[0], label="judge-u0.30", time_ratio=1.05, accuracy=0.5)]
    (pair,) = [t for t in frontier_figure(near).data if t.name != "Pareto set"]
    assert len(set(pair.textposition)) == 2
    summary = frontier_summary(entries)
    assert summary.startswith("3 GSI points take") and all(e.label in summary for e in pareto)
    assert frontier_summary([e for e in entries if e.kind != "gsi"]).startswith("No GSI point")
    one = [e for e in entries if e.kind != "gsi" or e.label == "sv-u0.3"]
    assert frontier_summary(one).startswith(f"1 GSI point takes {one[0].time_ratio:.2f}× sbon-big's time at ")
