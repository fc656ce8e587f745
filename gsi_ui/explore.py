"""The Explore tab: run a method and watch it step by step; inspect any step; export and replay a run."""

from __future__ import annotations

import tempfile
import time
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
r̃ = r + (1/β)·log(π_B/π_S) reaches u; otherwise π_B writes the step itself, by soft best-of-n.
"""


def _render(state: RunState, started: float, running: bool, export_dir: Path | None = None, clear_pick: bool = False):
    """All Explore outputs for the run so far. The inspector's list grows with every step and keeps the step a
    visitor picked; a new run (no steps yet) or a replay clears the pick."""
    steps = state.steps
    clear = {"value": None} if clear_pick or not steps else {}
    beta = beta_of(state.start)
    return (
        solution_html(state),
        candidates_figure(steps[-1], beta) if steps else None,
        timeline_figure(state.events),
        latency_figure(state.events),
        status_line(state, time.perf_counter() - started, running),
        state,
        str(state.save(export_dir)) if export_dir else gr.skip(),
        gr.update(choices=state.step_choices(), **clear),
        candidates_summary(steps[-1], beta) if steps else "",
        timeline_summary(state.events),
        latency_summary(state.events),
    )


def render(store: ModelStore, examples: list[Example]) -> dict:
    """Build the tab's layout and wiring; returns the components other tabs share."""
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
    with gr.Row():
        run_button = gr.Button("Run", variant="primary")
        stop_button = gr.Button("Stop", variant="stop")
    status = gr.Markdown("Pick a problem and press Run.", elem_id="gsi-status")
    state = gr.State(RunState())
    with gr.Row():
        with gr.Column(scale=1):
            solution = gr.HTML(solution_html(RunState()), elem_id="gsi-solution")
        with gr.Column(scale=1):
            step_plot = gr.Plot(label="Candidates of the latest step", elem_id="gsi-step-plot")
            step_summary = gr.Markdown(elem_classes="gsi-chart-summary")
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
        inspect_text = gr.Markdown()
        token_view = gr.HTML(elem_id="gsi-token-view")
        inspect_plot = gr.Plot(label="The step's drafts")
        inspect_summary = gr.Markdown(elem_classes="gsi-chart-summary")
        drafts_table = gr.Dataframe(headers=CANDIDATE_COLUMNS, label="Drafts of π_S", wrap=True, interactive=False)
        fallback_table = gr.Dataframe(headers=CANDIDATE_COLUMNS, label="Fallback candidates of π_B", wrap=True,
                                      interactive=False)
    with gr.Accordion("Export / replay", open=False):
        export_file = gr.File(label="This run's events (JSON lines)", interactive=False)
        replay_file = gr.File(label="Replay an exported run", file_types=[".jsonl"], type="filepath")

    export_dir = Path(tempfile.mkdtemp(prefix="gsi-exports-"))
    outputs = [solution, step_plot, timeline_plot, latency_plot, status, state, export_file, step_choice,
               step_summary, timeline_text, latency_text]

    def pick_example(label):
        chosen = next((e for e in examples if e.label == label), None)
        return chosen.question if chosen else gr.skip()

    def run(problem, method, n_small, n_big, beta, threshold, temperature, seed, max_steps, step_delimiter=None):
        try:
            problem = check_problem(problem)
            config = make_config(defaults, n_small, n_big, beta, threshold, temperature, seed, max_steps,
                                 step_delimiter)
        except ConfigError as error:
            raise gr.Error(str(error)) from None
        started, current = time.perf_counter(), RunState()
        for loading in store.loader.waiting():  # outside the GPU call; a run pressed during a warm start waits
            yield (gr.skip(),) * 4 + (f"Loading {store.preset.name}: {loading}",) + (gr.skip(),) * (len(outputs) - 5)
        for event in store.run(method, problem, config):
            current = current.add(event)
            done = current.summary is not None
            yield _render(current, started, running=not done, export_dir=export_dir if done else None)
        if current.summary is None:
            yield (gr.skip(),) * 4 + (f"**Stopped at the GPU time limit** after {len(current.steps)} steps: one call "
                                      f"here runs at most {HELD_SECONDS_LIMIT} s; lower n_small, n_big or the step cap.",) + (gr.skip(),) * 3

    def inspect(state: RunState, index):
        step = next((s for s in state.steps if s.index == index), None)
        if step is None:
            return "Run a problem, then pick a step here.", "", None, "", [], []
        beta = beta_of(state.start)
        return (explain_step(step, beta), token_view_html(step), candidates_figure(step, beta),
                candidates_summary(step, beta), candidate_rows(step), candidate_rows(step, fallback=True))

    def replay(path):
        if not path:
            return (gr.skip(),) * len(outputs)
        try:
            replayed = RunState.from_jsonl(Path(path).read_text())
        except (ValueError, UnicodeDecodeError) as error:
            raise gr.Error(f"Could not replay that file: {error}") from None
        return _render(replayed, time.perf_counter(), running=False, export_dir=export_dir, clear_pick=True)

    example.change(pick_example, example, problem, queue=False, show_progress="hidden", api_visibility="private")
    run_event = run_button.click(run, [problem, method, n_small, n_big, beta, threshold, temperature, seed, max_steps,
                                       step_delimiter], outputs,
                                 api_name="run", concurrency_limit=1, concurrency_id="models")
    gr.on([threshold.change, beta.change], lambda u, b: threshold_help(reward, store.reward_scale, u, b),
          [threshold, beta], u_help, queue=False, show_progress="hidden", api_visibility="private")
    stop_button.click(lambda: "**Stopped** — the run ended between steps; its steps so far stay below.", None, status,
                      cancels=[run_event], queue=False, api_visibility="private")
    step_choice.change(inspect, [state, step_choice],
                       [inspect_text, token_view, inspect_plot, inspect_summary, drafts_table, fallback_table],
                       api_name="inspect", queue=False)
    replay_file.upload(replay, replay_file, outputs, api_name="replay")
    return {"problem": problem, "n_small": n_small, "n_big": n_big, "beta": beta, "threshold": threshold, "temperature": temperature,
            "seed": seed, "max_steps": max_steps, "step_delimiter": step_delimiter}
