"""The Explore tab: run a method and watch it step by step; inspect any step; export and replay a run.

Layout and handlers are kept apart: `render` lays the tab out and wires it; the handlers are module functions
that return (or yield) a dict keyed by the components they change, so no handler pads a tuple by hand.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import gradio as gr

from gsi_core.config import ConfigError
from gsi_core.explain import beta_of
from gsi_core.figures import (candidates_figure, candidates_summary, latency_figure, latency_summary, timeline_figure,
                              timeline_summary)
from gsi_core.methods import METHODS

from . import time_panel
from .gpu import HELD_SECONDS_LIMIT
from .reward_scale import threshold_help, threshold_info
from .runs import MAX_UI_N, Example, ModelStore, check_problem, make_config
from .state import RunState
from .views import CANDIDATE_COLUMNS, candidate_rows, explain_step, solution_html, status_line, token_view_html

EXPLANATION = """
**The idea.** Best-of-n with a reward aims at the *tilted policy* π_{β,B}(y) ∝ π_B(y)·exp(β·r(y)): the big
model's distribution, re-weighted toward high reward. GSI gets there mostly with the small model: π_S drafts n
steps, and each is weighted by exp(β·r)·π_B/π_S — the π_B/π_S factor corrects for having sampled from the wrong
model, which is why π_B has to score every draft. The sampled draft is kept if its *tilted reward*
r̃ = r + (1/β)·log(π_B/π_S) reaches u, that is when the room the reward gives, β(r − u), and π_B's view of the
draft, log π_B − log π_S, add up to at least 0; otherwise π_B writes the step itself, by soft best-of-n.
"""
STOPPED = "**Stopped** — the run ended between steps; its steps so far stay below."


@dataclass(frozen=True)
class Settings:
    """The run's inputs, in the order `/run` takes them (the API's positional order)."""

    problem: gr.Textbox
    method: gr.Radio
    n_small: gr.Slider
    n_big: gr.Slider
    beta: gr.Slider
    threshold: gr.Slider
    temperature: gr.Slider
    seed: gr.Number
    max_steps: gr.Slider
    step_delimiter: gr.Radio


@dataclass(frozen=True)
class RunView:
    """What a run or a replay updates, in the order `/run` and `/replay` return them."""

    solution: gr.HTML
    step_plot: gr.Plot
    timeline_plot: gr.Plot
    latency_plot: gr.Plot
    status: gr.Markdown
    state: gr.State
    export_file: gr.File
    step_choice: gr.Dropdown
    step_summary: gr.Markdown
    timeline_text: gr.Markdown
    latency_text: gr.Markdown


@dataclass(frozen=True)
class Inspector:
    """One step opened: why it was decided so, its drafts token by token, its chart and tables."""

    text: gr.Markdown
    token_view: gr.HTML
    plot: gr.Plot
    summary: gr.Markdown
    drafts: gr.Dataframe
    fallback: gr.Dataframe


def in_order(group) -> list:
    """The components of a `Settings`, `RunView` or `Inspector`, in field order: what Gradio wires as inputs or
    outputs, in the order the API takes and returns them."""
    return [getattr(group, f.name) for f in dataclasses.fields(group)]


# ----- handlers -----


def run_outputs(view: RunView, state: RunState, started: float, running: bool, export_dir: Path | None = None,
                clear_pick: bool = False) -> dict:
    """Every output of the run so far. The inspector's list grows with every step and keeps the step a visitor
    picked; a new run (no steps yet) or a replay clears the pick."""
    steps = state.steps
    clear = {"value": None} if clear_pick or not steps else {}
    beta = beta_of(state.start)
    updates = {
        view.solution: solution_html(state),
        view.step_plot: candidates_figure(steps[-1], beta) if steps else None,
        view.timeline_plot: timeline_figure(state.events),
        view.latency_plot: latency_figure(state.events),
        view.status: status_line(state, time.perf_counter() - started, running),
        view.state: state,
        view.step_choice: gr.update(choices=state.step_choices(), **clear),
        view.step_summary: candidates_summary(steps[-1], beta) if steps else "",
        view.timeline_text: timeline_summary(state.events),
        view.latency_text: latency_summary(state.events),
    }
    if export_dir:
        updates[view.export_file] = str(state.save(export_dir))
    return updates


def run(store: ModelStore, view: RunView, export_dir: Path, problem, method, n_small, n_big, beta, threshold,
        temperature, seed, max_steps, step_delimiter=None) -> Iterator[dict]:
    """Stream one run: a loading status while the models load (a Run pressed during a warm start waits), then the
    page after every step; a run ended at its GPU call's time limit says so."""
    try:
        problem = check_problem(problem)
        config = make_config(store.preset.decoding, n_small, n_big, beta, threshold, temperature, seed, max_steps,
                             step_delimiter)
    except ConfigError as error:
        raise gr.Error(str(error)) from None
    started, current = time.perf_counter(), RunState()
    for loading in store.loader.waiting():  # outside the GPU call
        yield {view.status: f"Loading {store.preset.name}: {loading}"}
    for event in store.run(method, problem, config):
        current = current.add(event)
        done = current.summary is not None
        yield run_outputs(view, current, started, running=not done, export_dir=export_dir if done else None)
    if current.summary is None:
        yield {view.status: f"**Stopped at the GPU time limit** after {len(current.steps)} steps: one call here "
                            f"holds the GPU at most {HELD_SECONDS_LIMIT} s; lower n_small, n_big or the step cap."}


def inspect(inspector: Inspector, state: RunState, index) -> dict:
    """The step `index` of the visitor's run, opened."""
    step = next((s for s in state.steps if s.index == index), None)
    if step is None:
        return {inspector.text: "Run a problem, then pick a step here.", inspector.token_view: "",
                inspector.plot: None, inspector.summary: "", inspector.drafts: [], inspector.fallback: []}
    beta = beta_of(state.start)
    return {inspector.text: explain_step(step, beta), inspector.token_view: token_view_html(step),
            inspector.plot: candidates_figure(step, beta), inspector.summary: candidates_summary(step, beta),
            inspector.drafts: candidate_rows(step), inspector.fallback: candidate_rows(step, fallback=True)}


def replay(view: RunView, export_dir: Path, path) -> dict:
    """A run exported earlier, shown as if it had just finished; a file that is not one is refused in the page."""
    if not path:
        return {}
    try:
        replayed = RunState.from_jsonl(Path(path).read_text())
    except (ValueError, UnicodeDecodeError) as error:
        raise gr.Error(f"Could not replay that file: {error}") from None
    return run_outputs(view, replayed, time.perf_counter(), running=False, export_dir=export_dir, clear_pick=True)


def pick_example(examples: list[Example], label):
    chosen = next((e for e in examples if e.label == label), None)
    return chosen.question if chosen else gr.skip()


# ----- layout -----


def _settings(store: ModelStore, examples: list[Example]) -> tuple[gr.Dropdown, Settings, gr.Markdown]:
    """The example picker, the run's settings, and the u slider's help in the reward's terms."""
    defaults, scale, reward = store.preset.decoding, store.reward_scale, store.preset.reward.name
    with gr.Row():
        with gr.Column(scale=3):
            example = gr.Dropdown([e.label for e in examples], label="Example problem", value=None)
            problem = gr.Textbox(label="Problem", lines=4, value=examples[0].question if examples else "",
                                 max_length=None)
        with gr.Column(scale=2):
            method = gr.Radio(list(METHODS), value="gsi", label="Method")
            with gr.Row():
                n_small = gr.Slider(1, MAX_UI_N, value=defaults.candidates("small"), step=1,
                                    label="n_small (π_S drafts per step)")
                n_big = gr.Slider(1, MAX_UI_N, value=defaults.candidates("big"), step=1,
                                  label="n_big (π_B candidates: fallback, *-big)")
            with gr.Row():
                beta = gr.Slider(0, 50, value=defaults.beta, step=0.5, label="β (reward weight)")
                threshold = gr.Slider(-0.5, 1.5, value=defaults.threshold, step=0.01, label="u (GSI threshold on r̃)",
                                      info=threshold_info(scale))
            u_help = gr.Markdown(threshold_help(reward, scale, defaults.threshold, defaults.beta),
                                 elem_id="gsi-u-help", elem_classes="gsi-chart-summary")
            with gr.Row():
                temperature = gr.Slider(0.1, 1.5, value=defaults.temperature, step=0.05, label="temperature")
                seed = gr.Number(value=defaults.seed, precision=0, label="seed")
            with gr.Row():
                max_steps = gr.Slider(1, 45, value=min(defaults.max_steps, 45), step=1, label="step cap")
                step_delimiter = gr.Radio([("blank line (the paper's)", "blank-line"), ("line", "line")],
                                          value=defaults.step_delimiter, label="a step ends at")
    settings = Settings(problem, method, n_small, n_big, beta, threshold, temperature, seed, max_steps, step_delimiter)
    return example, settings, u_help


def _run_view() -> tuple[RunView, gr.File]:
    """The status line, the solution, the latest step's chart, the timeline and latency, the inspector (wired here),
    and the export; returns what a run updates and the replay upload."""
    status = gr.Markdown("Pick a problem and press Run.", elem_id="gsi-status")
    state = gr.State(RunState())
    with gr.Row():
        with gr.Column(scale=1):
            solution = gr.HTML(solution_html(RunState()), elem_id="gsi-solution")
        with gr.Column(scale=1):
            step_plot = gr.Plot(label="Candidates of the latest step", elem_id="gsi-step-plot")
            step_summary = gr.Markdown(elem_classes="gsi-chart-summary", elem_id="gsi-step-summary")
    with gr.Row():
        with gr.Column():
            timeline_plot = gr.Plot(label="Timeline")
            timeline_text = gr.Markdown(elem_classes="gsi-chart-summary")
        with gr.Column():
            latency_plot = gr.Plot(label="Latency")
            latency_text = gr.Markdown(elem_classes="gsi-chart-summary")
    gr.Markdown(EXPLANATION + "\nThe *Tilted policy* tab shows the same idea on exact toy worlds.")
    time_panel.render(state, [status.change])  # the status line changes with every step, a replay and a stop
    with gr.Accordion("Inspect a step", open=True):
        step_choice = gr.Dropdown([], label="Step (rejected first, newest first; open any while the run goes on)",
                                  elem_id="gsi-step-choice")
        inspector = _inspector()
    with gr.Accordion("Export / replay", open=False):
        export_file = gr.File(label="This run's events (JSON lines)", interactive=False)
        replay_file = gr.File(label="Replay an exported run", file_types=[".jsonl"], type="filepath")
    view = RunView(solution, step_plot, timeline_plot, latency_plot, status, state, export_file, step_choice,
                   step_summary, timeline_text, latency_text)
    step_choice.change(partial(inspect, inspector), [state, step_choice], in_order(inspector), api_name="inspect",
                       queue=False)
    return view, replay_file


def _inspector() -> Inspector:
    return Inspector(
        text=gr.Markdown(),
        token_view=gr.HTML(elem_id="gsi-token-view"),
        plot=gr.Plot(label="The step's drafts"),
        summary=gr.Markdown(elem_classes="gsi-chart-summary"),
        drafts=gr.Dataframe(headers=CANDIDATE_COLUMNS, label="Drafts of π_S", wrap=True, interactive=False),
        fallback=gr.Dataframe(headers=CANDIDATE_COLUMNS, label="Fallback candidates of π_B", wrap=True,
                              interactive=False),
    )


def render(store: ModelStore, examples: list[Example]) -> dict:
    """Lay the tab out and wire it; returns the settings the Compare tab shares."""
    example, settings, u_help = _settings(store, examples)
    with gr.Row():
        run_button = gr.Button("Run", variant="primary")
        stop_button = gr.Button("Stop", variant="stop")
    view, replay_file = _run_view()
    export_dir = Path(tempfile.mkdtemp(prefix="gsi-exports-"))
    example.change(partial(pick_example, examples), example, settings.problem, queue=False, show_progress="hidden",
                   api_visibility="private")
    run_event = run_button.click(partial(run, store, view, export_dir), in_order(settings), in_order(view),
                                 api_name="run", concurrency_limit=1, concurrency_id="models")
    reward = store.preset.reward.name
    gr.on([settings.threshold.change, settings.beta.change],
          lambda u, b: threshold_help(reward, store.reward_scale, u, b), [settings.threshold, settings.beta], u_help,
          queue=False, show_progress="hidden", api_visibility="private")
    stop_button.click(lambda: STOPPED, None, view.status, cancels=[run_event], queue=False, api_visibility="private")
    replay_file.upload(partial(replay, view, export_dir), replay_file, in_order(view), api_name="replay")
    return {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings) if f.name != "method"}
