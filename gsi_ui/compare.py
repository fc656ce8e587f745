"""The Compare tab: GSI and its baselines on the same problem and seed, side by side."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import gradio as gr

from gsi_core.config import ConfigError
from gsi_core.costs import estimated_flops
from gsi_core.events import RunStarted, RunSummary, StepEvent
from gsi_core.report import report_text, saved_run_report, saved_runs
from gsi_core.figures import accuracy_latency_figure, comparison_figure, frontier_figure, frontier_summary
from gsi_core.frontier_report import frontier_report, frontier_text, is_frontier
from gsi_core.grading import Grader
from gsi_core.methods import DEFAULT_METHODS, METHODS, REFERENCE_METHOD
from gsi_core.run import Run

from .runs import Example, ModelStore, check_problem, make_config

COLUMNS = ["method", "wall s", "drafting s", "reward s", "scoring s", "fallback s", "tokens π_S", "tokens π_B",
           "est. TFLOPs", "acceptance", "answer", "matches gold"]


def result_row(start: RunStarted, summary: RunSummary, example: Example | None, grader: Grader) -> list:
    t = summary.timings
    rate = summary.acceptance_rate
    matches = "–" if example is None else ("yes" if grader.grade(summary.answer, example.gold, example.dataset) else "no")
    return [summary.method, round(summary.wall_time, 2), round(t.drafting, 2), round(t.reward, 3), round(t.scoring, 2),
            round(t.fallback, 2), summary.tokens_small, summary.tokens_big + summary.tokens_scored_big,
            round(estimated_flops(start, summary)["total"] / 1e12, 2), "–" if rate is None else f"{rate:.0%}",
            summary.answer or "–", matches]


def headline(summaries: dict[str, RunSummary]) -> str:
    """The paper's headline number: GSI's wall time relative to soft best-of-n with π_B."""
    if "gsi" in summaries and REFERENCE_METHOD in summaries:
        ratio = summaries["gsi"].wall_time / summaries[REFERENCE_METHOD].wall_time
        return f"## GSI took **{ratio:.2f}×** the wall time of soft best-of-n with π_B on this problem"
    return f"Run both `gsi` and `{REFERENCE_METHOD}` to see the latency ratio (the paper's headline)."


def render(store: ModelStore, examples: list[Example], controls: dict) -> None:
    """A race: each method is its own run (one GPU call on ZeroGPU); its row and bars appear when it finishes,
    a progress line names the method and step in flight, and Stop ends it between steps, keeping finished rows."""
    grader = Grader()
    methods = gr.CheckboxGroup(list(METHODS), value=list(DEFAULT_METHODS), label="Methods (same problem, seed and settings)")
    with gr.Row():
        compare_button = gr.Button("Compare", variant="primary")
        stop_button = gr.Button("Stop", variant="stop")
    progress = gr.Markdown(elem_id="gsi-compare-progress")
    ratio = gr.Markdown()
    table = gr.Dataframe(headers=COLUMNS, label="Results", interactive=False)
    figure = gr.Plot(label="Wall time by stage")
    gr.Markdown("Compute is estimated as 2 × parameters × tokens each model processed (drafted, and for π_B also "
                "scored); prompt prefill, the same for every method, is left out. *matches gold* grades the answer "
                "with math-verify (letters for MMLU) when the problem is one of the examples.")

    def compare(selected, problem, n_small, n_big, beta, threshold, temperature, seed, max_steps, step_delimiter=None):
        try:
            problem = check_problem(problem)
            config = make_config(store.preset.decoding, n_small, n_big, beta, threshold, temperature, seed, max_steps,
                                 step_delimiter)
            if not selected:
                raise ConfigError("Pick at least one method to compare.")
        except ConfigError as error:
            raise gr.Error(str(error)) from None
        example = next((e for e in examples if e.question == problem), None)
        for loading in store.loader.waiting():  # outside the GPU calls
            yield f"Loading {store.preset.name}: {loading}", "", [], None
        rows, summaries, chart = [], {}, None
        for number, name in enumerate(selected, start=1):
            in_flight = f"**Running {name}** ({number} of {len(selected)})"
            yield f"{in_flight} — starting…", headline(summaries), rows, chart
            run = Run()
            for event in store.run(name, problem, config):
                run = run.add(event)
                if isinstance(event, StepEvent):
                    yield f"{in_flight} — step {event.index + 1} done", headline(summaries), rows, chart
            if run.summary is not None:
                summaries[name] = run.summary
                rows = rows + [result_row(run.start, run.summary, example, grader)]
                chart = comparison_figure(list(summaries.values()))
            else:
                rows = rows + [[name] + ["–"] * (len(COLUMNS) - 2) + ["stopped at the GPU time limit"]]
        yield f"**Done** — {len(summaries)} of {len(selected)} methods finished.", headline(summaries), rows, chart

    inputs = [methods] + [controls[k] for k in ("problem", "n_small", "n_big", "beta", "threshold", "temperature",
                                                "seed", "max_steps", "step_delimiter")]
    compare_event = compare_button.click(compare, inputs, [progress, ratio, table, figure], api_name="compare",
                                         concurrency_limit=1, concurrency_id="models")
    stop_button.click(lambda: "**Stopped** — the comparison ended between steps; finished methods stay below.", None,
                      progress, cancels=[compare_event], queue=False, api_visibility="private")


def saved_run_view(name: str | None, roots: Sequence[Path] = ()) -> tuple[str, object]:
    """The label and summary table (Markdown) and the accuracy-vs-latency chart of a saved run found under
    `roots` or the repository's committed runs; for a frontier, its table and frontier chart."""
    runs = saved_runs(roots)
    if not name or name not in runs:
        return "No saved run by that name: write one with `python -m gsi_core eval … --out DIR`.", None
    if is_frontier(runs[name]):
        return frontier_view(runs[name])
    label, summaries, differences = saved_run_report(runs[name])
    if not summaries:
        return f"**{label}**\n\nNo finished (problem, method) pairs yet.", None
    return f"**{label}**\n\n{report_text(summaries, differences)}", accuracy_latency_figure(summaries, label)


def frontier_view(path: Path) -> tuple[str, object]:
    """A saved frontier: its label, the chart in words and its table (Markdown), and the frontier chart."""
    label, entries = frontier_report(path)
    if not entries:
        return f"**{label}**\n\nNo GSI point has finished runs yet.", None
    return (f"**{label}**\n\n{frontier_summary(entries)}\n\n{frontier_text(entries)}",
            frontier_figure(entries, label))


def render_saved_runs(roots: Sequence[Path] = ()) -> None:
    """Results of `python -m gsi_core eval` saved on disk (under `roots`, then the committed ones), each labelled
    with where and when it was measured."""
    runs = list(saved_runs(roots))
    with gr.Accordion("Saved benchmark runs (python -m gsi_core eval, or a frontier)", open=False):
        with gr.Row():
            choice = gr.Dropdown(runs, value=runs[0] if runs else None, label="Run", interactive=True, scale=4,
                                 allow_custom_value=True)  # runs saved after start-up are found by name
            refresh = gr.Button("Rescan", scale=1)
        text, figure = saved_run_view(runs[0] if runs else None, roots)
        summary = gr.Markdown(text)
        chart = gr.Plot(figure, label="Accuracy against latency (a frontier: against time ÷ sbon-big's)")
    choice.change(lambda name: saved_run_view(name, roots), choice, [summary, chart], api_name="saved_run", queue=False)
    refresh.click(lambda: gr.Dropdown(choices=list(saved_runs(roots))), None, choice, queue=False)
