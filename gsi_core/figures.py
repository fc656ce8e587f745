"""Plotly figures built from engine events: pure functions, no UI imports, inputs never modified."""

from __future__ import annotations

import dataclasses
from typing import Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .cost_model import ratio
from .events import Event, RunSummary, StageTimes, StepEvent
from .explain import draft_terms, explain_decision
from .where_time_goes import GPU_SCORING_OVER_DECODING, MachineCosts, run_shape

COLORS = {"reward": "#4C78A8", "weight": "#F58518", "tilted": "#B279A2", "accepted": "#54A24B",
          "fallback": "#E45756", "n.a.": "#4C78A8", "threshold": "#6B6B6B", "room": "#72B7B2", "view": "#9D755D"}
STAGE_COLORS = {"drafting": "#4C78A8", "reward": "#72B7B2", "scoring": "#F58518", "fallback": "#E45756"}
STAGES = [f.name for f in dataclasses.fields(StageTimes)]


def _layout(figure: go.Figure, title: str, height: int = 320) -> go.Figure:
    figure.update_layout(title=dict(text=title, x=0.01, font=dict(size=14)), height=height, template="plotly_white",
                         margin=dict(l=50, r=20, t=50, b=40), legend=dict(orientation="h", y=1.02, x=1, xanchor="right", yanchor="bottom"))
    return figure


def steps_of(events: Sequence[Event]) -> list[StepEvent]:
    return [e for e in events if isinstance(e, StepEvent)]


def candidates_figure(step: StepEvent, beta: float | None) -> go.Figure:
    """One step's drafts: reward and selection weight side by side, r̃ against the threshold, the sampled one marked.
    Where the step tested r̃, a lower panel sets each draft's two sides of the test in nats (`draft_terms`)."""
    labels = [f"#{i}" + (" ◆" if i == step.chosen else "") for i in range(len(step.candidates))]
    terms = [draft_terms(c, step.threshold, beta) for c in step.candidates] if step.tests_tilted_reward else []
    split = any(t is not None for t in terms)
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08, row_heights=[0.55, 0.45]) \
        if split else go.Figure()
    top = dict(row=1, col=1) if split else {}
    figure.add_bar(x=labels, y=[c.reward for c in step.candidates], name="reward r", marker_color=COLORS["reward"],
                   **top)
    figure.add_bar(x=labels, y=[c.weight for c in step.candidates], name="selection weight",
                   marker_color=COLORS["weight"], **top)
    if any(c.tilted_reward is not None for c in step.candidates):
        figure.add_scatter(x=labels, y=[c.tilted_reward for c in step.candidates], mode="markers", name="tilted reward r̃",
                           marker=dict(color=COLORS["tilted"], size=11, symbol="diamond"), **top)
    if step.threshold is not None:
        figure.add_hline(y=step.threshold, line_dash="dash", line_color=COLORS["threshold"],
                         annotation_text=f"threshold {step.threshold:g}", annotation_position="top left", **top)
    verdict = {"accepted": "draft accepted", "fallback": "rejected → π_B fallback", "n.a.": "selected"}[step.decision]
    figure.update_layout(barmode="group")
    figure.update_yaxes(title_text="value", **top)
    figure.update_xaxes(title_text="draft (◆ = sampled)", row=2 if split else None, col=1 if split else None)
    if not split:
        return _layout(figure, f"Step {step.index + 1}: {verdict}")
    _add_decision_terms(figure, labels, terms)
    return _below(_layout(figure, f"Step {step.index + 1}: {verdict}", height=560))


def _add_decision_terms(figure: go.Figure, labels: list[str], terms: list) -> None:
    """The lower panel: β(r − u) and log π_B − log π_S per draft, and their sum β(r̃ − u), kept at ≥ 0."""
    def values(of):
        return [None if t is None else of(t) for t in terms]

    panel = dict(row=2, col=1)
    figure.add_bar(x=labels, y=values(lambda t: t.room), name="reward's room β(r − u)", marker_color=COLORS["room"],
                   **panel)
    figure.add_bar(x=labels, y=values(lambda t: t.view), name="π_B's view log π_B − log π_S",
                   marker_color=COLORS["view"], **panel)
    figure.add_scatter(x=labels, y=values(lambda t: t.margin), mode="markers", name="sum β(r̃ − u): kept if ≥ 0",
                       marker=dict(color=COLORS["tilted"], size=11, symbol="diamond-open", line=dict(width=2)), **panel)
    figure.add_hline(y=0, line_color=COLORS["threshold"], **panel)
    figure.update_yaxes(title_text="nats", **panel)


def timeline_figure(events: Sequence[Event]) -> go.Figure:
    """Per step: the sampled draft's tilted reward (GSI) or reward (other methods) against the threshold."""
    steps = steps_of(events)
    figure = go.Figure()
    for decision in ("accepted", "fallback", "n.a."):
        chosen = [s for s in steps if s.decision == decision]
        if not chosen:
            continue
        values = [s.tested_value for s in chosen]
        figure.add_scatter(x=[s.index + 1 for s in chosen], y=values, mode="markers", name=decision,
                           marker=dict(color=COLORS[decision], size=12, symbol="circle" if decision != "fallback" else "x"))
    thresholds = {s.threshold for s in steps if s.threshold is not None}
    for threshold in thresholds:
        figure.add_hline(y=threshold, line_dash="dash", line_color=COLORS["threshold"],
                         annotation_text=f"threshold {threshold:g}", annotation_position="top left")
    figure.update_layout(xaxis_title="step", yaxis_title="r̃ of the sampled draft", xaxis=dict(dtick=1))
    return _layout(figure, "Timeline: sampled draft against the threshold")


def latency_figure(events: Sequence[Event]) -> go.Figure:
    """Wall seconds per step, stacked by stage."""
    steps = steps_of(events)
    figure = go.Figure()
    for stage in STAGES:
        figure.add_bar(x=[s.index + 1 for s in steps], y=[getattr(s.timings, stage) for s in steps], name=stage,
                       marker_color=STAGE_COLORS[stage])
    figure.update_layout(barmode="stack", xaxis_title="step", yaxis_title="seconds", xaxis=dict(dtick=1))
    return _layout(figure, "Latency by stage")


def comparison_figure(summaries: Sequence[RunSummary]) -> go.Figure:
    """Wall seconds per method, stacked by stage."""
    figure = go.Figure()
    for stage in STAGES:
        figure.add_bar(y=[s.method for s in summaries], x=[getattr(s.timings, stage) for s in summaries], name=stage,
                       orientation="h", marker_color=STAGE_COLORS[stage])
    figure.update_layout(barmode="stack", xaxis_title="seconds", yaxis=dict(autorange="reversed"))
    return _layout(figure, "Wall time by stage", height=80 + 50 * max(1, len(summaries)))


COST_COLORS = {"this machine": "#E45756", "GPU-like": "#4C78A8", "sbon-big": "#6B6B6B"}


def ratio_against_acceptance_figure(events: Sequence[Event], costs: MachineCosts | None,
                                    scoring_over_decoding: float = GPU_SCORING_OVER_DECODING,
                                    points: int = 21) -> go.Figure | None:
    """GSI's predicted time ÷ sbon-big's against acceptance, on this machine's costs and GPU-like, for the run's
    n and step length; the run's own acceptance is marked. None before a run or without measured costs."""
    shape = run_shape(events)
    if shape is None or costs is None:
        return None
    work = shape.workload(costs)
    grid = [i / (points - 1) for i in range(points)]
    figure = go.Figure()
    for name, priced in (("this machine", costs.priced()), ("GPU-like", costs.priced(scoring_over_decoding))):
        figure.add_scatter(x=grid, y=[ratio(priced, work, a) for a in grid], mode="lines", name=name,
                           line=dict(color=COST_COLORS[name]))
        if shape.acceptance is not None:
            figure.add_scatter(x=[shape.acceptance], y=[ratio(priced, work, shape.acceptance)], mode="markers",
                               name=f"this run, {name}", marker=dict(color=COST_COLORS[name], size=12))
    figure.add_hline(y=1.0, line_dash="dash", line_color=COST_COLORS["sbon-big"],
                     annotation_text="sbon-big's time", annotation_position="top left")
    figure.update_layout(xaxis=dict(title="acceptance (share of steps whose draft is kept)", range=[0, 1],
                                    tickformat=".0%"),
                         yaxis=dict(title="GSI's time ÷ sbon-big's", rangemode="tozero"))
    return _layout(figure, "Predicted: GSI's time against sbon-big's, by acceptance", height=340)


# --- one-line text summaries: what each chart shows, for readers who cannot see it -------------------------


def candidates_summary(step: StepEvent, beta: float | None) -> str:
    """The candidates chart in words: the rewards' range, which draft was sampled, and why it was kept or replaced
    (`explain_decision`)."""
    rewards = [c.reward for c in step.candidates if c.reward is not None]
    spread = f", rewards {min(rewards):.2f}–{max(rewards):.2f}" if rewards else ""
    chosen = step.candidates[step.chosen]
    replaced = " π_B wrote the step instead." if step.decision == "fallback" else ""
    return (f"Step {step.index + 1}: {len(step.candidates)} drafts{spread}; #{step.chosen} was sampled "
            f"(weight {chosen.weight:.2f}). {explain_decision(step, beta).sentence}{replaced}")


def timeline_summary(events: Sequence[Event]) -> str:
    """The timeline in words: how many steps were accepted and which were rejected."""
    steps = steps_of(events)
    if not steps:
        return "No steps yet."
    rejected = [str(s.index + 1) for s in steps if s.decision == "fallback"]
    accepted = sum(s.decision == "accepted" for s in steps)
    if not rejected and not accepted:
        return f"{len(steps)} steps, each committed without an acceptance test."
    which = f" (step {', '.join(rejected)})" if rejected else ""
    return f"{len(steps)} steps: {accepted} accepted, {len(rejected)} rejected{which}."


def latency_summary(events: Sequence[Event]) -> str:
    """The latency chart in words: total time, each stage's share and the slowest step."""
    steps = steps_of(events)
    total = sum(s.timings.total for s in steps)
    if not steps or total <= 0:
        return "No steps timed yet."
    shares = ", ".join(f"{stage} {sum(getattr(s.timings, stage) for s in steps) / total:.0%}" for stage in STAGES)
    slowest = max(steps, key=lambda s: s.timings.total)
    return (f"{total:.1f} s over {len(steps)} steps ({shares}); slowest: step {slowest.index + 1} "
            f"({slowest.timings.total:.1f} s).")


# --- the tilted-policy lab ----------------------------------------------------------------------------------

TOY_COLORS = {"π_S": "#9ecae9", "π_B": "#bab0ac", "target π_β,B": "#222222", "sbon-small": "#4C78A8",
              "sbon-big": "#F58518", "rsd": "#72B7B2", "gsi": "#E45756", "gsi-raw-threshold": "#B279A2",
              "gsi-big-tilt": "#9D755D", "gsi-no-fallback": "#54A24B"}


def toy_distributions_figure(labels: Sequence[str], distributions: dict[str, Sequence[float]]) -> go.Figure:
    """Bars of each named distribution over the toy world's steps."""
    figure = go.Figure()
    for name, values in distributions.items():
        figure.add_bar(x=list(labels), y=[float(v) for v in values], name=name, marker_color=TOY_COLORS.get(name))
    figure.update_layout(barmode="group", xaxis_title="step", yaxis_title="probability", yaxis=dict(range=[0, 1]))
    return _below(_layout(figure, "Where each method puts its step", height=400))


def toy_curves_figure(ns: Sequence[int], kl: dict[str, Sequence[float]], acceptance: Sequence[float],
                      big_generations: Sequence[float], time_ratio: Sequence[float] | None = None,
                      priced_as: str = "") -> go.Figure:
    """KL to the target against n per method (left axis), GSI's acceptance and π_B generations (right axis),
    and where given GSI's expected time ÷ sbon-big's (right axis too; `priced_as` names the costs)."""
    figure = go.Figure()
    for name, values in kl.items():
        figure.add_scatter(x=list(ns), y=[float(v) for v in values], mode="lines+markers", name=f"KL {name}",
                           line=dict(color=TOY_COLORS.get(name)))
    figure.add_scatter(x=list(ns), y=list(acceptance), mode="lines", name="GSI acceptance", yaxis="y2",
                       line=dict(color=COLORS["accepted"], dash="dot"))
    figure.add_scatter(x=list(ns), y=list(big_generations), mode="lines", name="GSI π_B fallbacks / step",
                       yaxis="y2", line=dict(color=COLORS["fallback"], dash="dot"))
    top = 1.0
    if time_ratio is not None:
        figure.add_scatter(x=list(ns), y=[float(r) for r in time_ratio], mode="lines+markers", yaxis="y2",
                           name=f"GSI time ÷ sbon-big's ({priced_as})" if priced_as else "GSI time ÷ sbon-big's",
                           line=dict(color=COLORS["threshold"], dash="dash"), marker=dict(symbol="square"))
        top = max(1.0, *time_ratio) * 1.1
    figure.update_layout(xaxis=dict(title="n (drafts per step)", type="log", tickvals=list(ns)),
                         yaxis=dict(title="KL(method ‖ target), nats", rangemode="tozero"),
                         yaxis2=dict(title="rate" if time_ratio is None else "rate; time ÷ sbon-big's",
                                     overlaying="y", side="right", range=[0, top]))
    return _below(_layout(figure, "Against n: distance to the target, and GSI's cost", height=400))


def _below(figure: go.Figure) -> go.Figure:
    """Legend under the plot, for charts with many series."""
    figure.update_layout(legend=dict(orientation="h", x=0, xanchor="left", y=-0.22, yanchor="top"),
                         margin=dict(b=110))
    return figure


# --- the benchmark harness ----------------------------------------------------------------------------------


def accuracy_latency_figure(summaries: Sequence, subtitle: str = "") -> go.Figure:
    """Accuracy against mean latency per method, from `report.summarize`. The bar is what the report gives
    first: ± the standard deviation over seeds where a method ran several, else ± one binomial standard error."""
    figure = go.Figure()
    for s in summaries:
        spread, over = ((s.accuracy_sd, f"sd over {s.seeds} seeds") if s.accuracy_sd is not None
                        else (s.accuracy_se, "binomial SE"))
        figure.add_scatter(
            x=[s.mean_latency], y=[100 * s.accuracy], name=s.method, mode="markers+text", text=[s.method],
            textposition="top center", marker=dict(size=13, color=TOY_COLORS.get(s.method)),
            error_y=dict(type="data", array=[100 * spread], visible=True),
            hovertemplate=(f"{s.method}: %{{y:.1f}}% ± {100 * spread:.1f} ({over}) over {s.problems} problems, "
                           "mean %{x:.1f} s<extra></extra>"),
        )
    figure.update_layout(showlegend=False, xaxis=dict(title="mean latency per problem (s)", rangemode="tozero"),
                         yaxis=dict(title="accuracy (%)", range=[-5, 105]))
    title = "Accuracy against latency" + (f"<br><sup>{subtitle}</sup>" if subtitle else "")
    figure = _layout(figure, title, height=460)
    figure.update_layout(margin=dict(t=80))
    return figure


# --- the frontier: GSI's settings between sbon-small and sbon-big ------------------------------------------

FRONTIER_SYMBOLS = {"gsi": "circle", "sbon-small": "square", "sbon-big": "diamond"}


def frontier_figure(entries: Sequence, subtitle: str = "") -> go.Figure:
    """Accuracy (± its SE) against time ÷ sbon-big's for every entry of `frontier_report.frontier_entries` with a
    time: GSI points coloured by reward, baselines as squares (sbon-small) and diamonds (sbon-big), partial rows
    (fewer problems than the fullest) hollow, and the Pareto set joined by a dashed line."""
    timed = [e for e in entries if e.time_ratio is not None]
    figure = go.Figure()
    rewards = list(dict.fromkeys(e.reward for e in timed))
    palette = ["#E45756", "#4C78A8", "#54A24B", "#B279A2", "#F58518", "#9D755D"]
    texts = {id(e): (e.label if e.kind == "gsi" else e.kind)
             + (f" (partial, {e.problems} problem{'s' * (e.problems != 1)})" if e.partial else "") for e in timed}
    positions = _label_positions(timed, texts)
    for partial in (False, True):
        for kind, symbol in FRONTIER_SYMBOLS.items():
            for reward in rewards:
                group = [e for e in timed if e.kind == kind and e.reward == reward and e.partial == partial]
                if not group:
                    continue
                color = palette[rewards.index(reward) % len(palette)]
                figure.add_scatter(
                    x=[e.time_ratio for e in group], y=[100 * e.accuracy for e in group], mode="markers+text",
                    name=f"{kind} · {reward}" + (" · partial" if partial else ""),
                    text=[texts[id(e)] for e in group],
                    textposition=[positions[id(e)] for e in group],
                    marker=dict(size=13 if kind == "gsi" else 15, symbol=symbol + ("-open" if partial else ""),
                                color=color, line=dict(width=2, color=color) if partial
                                else dict(width=1, color="#222222")),
                    error_y=dict(type="data", array=[100 * e.accuracy_error for e in group], visible=True),
                    customdata=[[e.label, e.error_over, e.problems, e.seeds] for e in group],
                    hovertemplate="%{customdata[0]}: %{y:.1f}% (± %{error_y.array:.1f}, %{customdata[1]}), "
                                  "%{x:.2f}× sbon-big's time, %{customdata[2]} problems × %{customdata[3]} seeds"
                                  "<extra></extra>",
                )
    pareto = sorted((e for e in timed if e.pareto), key=lambda e: e.time_ratio)
    figure.add_scatter(x=[e.time_ratio for e in pareto], y=[100 * e.accuracy for e in pareto], mode="lines",
                       name="Pareto set", line=dict(color=COLORS["threshold"], dash="dash"), hoverinfo="skip")
    figure.add_vline(x=1.0, line_dash="dot", line_color="#BBBBBB")
    figure.update_layout(xaxis=dict(title="time ÷ sbon-big's (paired runs)", rangemode="tozero"),
                         yaxis=dict(title="accuracy (%)", range=[-5, 112]))  # room for a label above 100%
    title = "GSI's frontier: accuracy against time" + (f"<br><sup>{subtitle}</sup>" if subtitle else "")
    figure = _below(_layout(figure, title, height=480))
    figure.update_layout(margin=dict(t=80))
    return figure


def _label_positions(entries: Sequence, texts: dict[int, str]) -> dict[int, str]:
    """Each entry's label above its marker, below it, or to its right or left: the first place where its box (text
    width estimated in axis units, for the 480-pixel-high chart) covers the least of the labels already placed and
    of other markers, so that close points' labels do not print over each other. Entries are placed left to right,
    the more accurate first."""
    char, height, marker = 0.012, 6.0, (0.015, 3.3)  # time per character, label height, a marker's half-sizes

    def box(e, position: str) -> tuple[float, float, float, float]:
        x, y, width = e.time_ratio, 100 * e.accuracy, char * len(texts[id(e)])
        return {"top center": (x - width / 2, x + width / 2, y + 2.5, y + 2.5 + height),
                "bottom center": (x - width / 2, x + width / 2, y - 2.5 - height, y - 2.5),
                "middle right": (x + 0.03, x + 0.03 + width, y - height / 2, y + height / 2),
                "middle left": (x - 0.03 - width, x - 0.03, y - height / 2, y + height / 2)}[position]

    def overlap(a, b) -> float:  # the shared area, in pixels (about 480 per unit of time, 2 per accuracy point)
        return max(0.0, min(a[1], b[1]) - max(a[0], b[0])) * 480 * max(0.0, min(a[3], b[3]) - max(a[2], b[2])) * 2

    markers = {id(e): (e.time_ratio - marker[0], e.time_ratio + marker[0], 100 * e.accuracy - marker[1],
                       100 * e.accuracy + marker[1]) for e in entries}
    right = 1.04 * max((e.time_ratio for e in entries), default=1.0)  # past it, a label leaves the chart
    outside = [(right, right + 10, -50, 200), (-10, 0, -50, 200), (-10, right + 10, 112, 200)]
    placed, positions = [], {}
    for e in sorted(entries, key=lambda e: (e.time_ratio, -e.accuracy)):
        others = placed + outside + [m for key, m in markers.items() if key != id(e)]
        positions[id(e)] = min(("top center", "bottom center", "middle right", "middle left"),
                               key=lambda p: sum(overlap(box(e, p), other) for other in others))
        placed.append(box(e, positions[id(e)]))
    return positions


def frontier_summary(entries: Sequence) -> str:
    """The frontier chart in words: the complete points' span of time and accuracy, the Pareto set, and the points
    still partial."""
    timed = [e for e in entries if e.kind == "gsi" and e.time_ratio is not None]
    if not timed:
        return "No GSI point has runs paired with sbon-big yet."
    points = [e for e in timed if not e.partial]
    times, accuracies = [e.time_ratio for e in points], [e.accuracy for e in points]
    pareto = sorted((e for e in entries if e.pareto), key=lambda e: e.time_ratio)
    spread = ("No GSI point has run as many problems as the fullest row yet" if not points else
              f"1 GSI point takes {times[0]:.2f}× sbon-big's time at {accuracies[0]:.0%} accuracy" if len(points) == 1
              else f"{len(points)} GSI points take {min(times):.2f}–{max(times):.2f}× sbon-big's time at "
                   f"{min(accuracies):.0%}–{max(accuracies):.0%} accuracy")
    partial = [f"{e.label} ({e.problems} problem{'s' * (e.problems != 1)})" for e in timed if e.partial]
    unfinished = f" Still partial, so compared with nothing: {', '.join(partial)}." if partial else ""
    return (f"{spread}; the Pareto set, fastest first: "
            f"{' → '.join(f'{e.label} ({e.accuracy:.0%})' for e in pareto)}.{unfinished}")
