"""The Compare tab: GSI and its baselines on the same problem and seed, side by side."""

from __future__ import annotations

import gradio as gr

from gsi_core.config import ConfigError
from gsi_core.costs import estimated_flops
from gsi_core.events import RunStarted, RunSummary
from gsi_core.evaluation import saved_run_report, saved_runs, summary_table
from gsi_core.figures import accuracy_latency_figure, comparison_figure
from gsi_core.grading import Grader
from gsi_core.methods import DEFAULT_METHODS, METHODS, REFERENCE_METHOD, run_method
from gsi_core.run import Run

from .runs import Example, ModelStore, check_problem, make_config, on_gpu

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
    grader = Grader()
    methods = gr.CheckboxGroup(list(METHODS), value=list(DEFAULT_METHODS), label="Methods (same problem, seed and settings)")
    compare_button = gr.Button("Compare", variant="primary")
    ratio = gr.Markdown()
    table = gr.Dataframe(headers=COLUMNS, label="Results", interactive=False)
    figure = gr.Plot(label="Wall time by stage")
    gr.Markdown("Compute is estimated as 2 × parameters × tokens each model processed (drafted, and for π_B also "
                "scored); prompt prefill, the same for every method, is left out. *matches gold* grades the answer "
                "with math-verify (letters for MMLU) when the problem is one of the examples.")

    @on_gpu
    def compare(selected, problem, n, beta, threshold, temperature, seed, max_steps):
        try:
            problem = check_problem(problem)
            config = make_config(store.preset.decoding, n, beta, threshold, temperature, seed, max_steps)
            if not selected:
                raise ConfigError("Pick at least one method to compare.")
        except ConfigError as error:
            raise gr.Error(str(error)) from None
        example = next((e for e in examples if e.question == problem), None)
        parts = store.get()
        rows, summaries = [], {}
        for name in selected:
            yield f"Running {name}…", rows, gr.skip()
            run = Run.of(run_method(name, problem, parts.small, parts.big, parts.reward, config))
            summaries[name] = run.summary
            rows = rows + [result_row(run.start, run.summary, example, grader)]
            yield headline(summaries), rows, comparison_figure(list(summaries.values()))

    inputs = [methods] + [controls[k] for k in ("problem", "n", "beta", "threshold", "temperature", "seed", "max_steps")]
    compare_button.click(compare, inputs, [ratio, table, figure], api_name="compare", concurrency_limit=1,
                         concurrency_id="models")


def saved_run_view(name: str | None) -> tuple[str, object]:
    """The label and summary table (Markdown) and the accuracy-vs-latency chart of a saved run."""
    runs = saved_runs()
    if not name or name not in runs:
        return "No saved run by that name: write one with `python -m gsi_core eval … --out DIR`.", None
    label, summaries = saved_run_report(runs[name])
    if not summaries:
        return f"**{label}**\n\nNo finished (problem, method) pairs yet.", None
    return f"**{label}**\n\n{summary_table(summaries)}", accuracy_latency_figure(summaries, label)


def render_saved_runs() -> None:
    """Results of `python -m gsi_core eval` saved on disk, each labelled with where and when it was measured."""
    runs = list(saved_runs())
    with gr.Accordion("Saved benchmark runs (python -m gsi_core eval)", open=False):
        with gr.Row():
            choice = gr.Dropdown(runs, value=runs[0] if runs else None, label="Run", interactive=True, scale=4,
                                 allow_custom_value=True)  # runs saved after start-up are found by name
            refresh = gr.Button("Rescan", scale=1)
        text, figure = saved_run_view(runs[0] if runs else None)
        summary = gr.Markdown(text)
        chart = gr.Plot(figure, label="Accuracy against latency")
    choice.change(saved_run_view, choice, [summary, chart], api_name="saved_run", queue=False)
    refresh.click(lambda: gr.Dropdown(choices=list(saved_runs())), None, choice, queue=False)
