"""The Explore tab's "Where the time goes": the current run's stage times and tokens, and the cost model's
prediction of GSI against sbon-big on this machine's measured costs and as on a GPU."""

from __future__ import annotations

import os

import gradio as gr

from gsi_core.figures import ratio_against_acceptance_figure
from gsi_core.where_time_goes import (DEFAULT_COSTS_PATH, GPU_SCORING_OVER_DECODING, MachineCosts, load_costs,
                                      where_time_goes_markdown)

INTRO = """
GSI pays for π_S's drafts and π_B's check of every drafted token on **every** step, and saves π_B's own writing
on the steps whose draft it keeps. So it beats soft best-of-n with π_B (sbon-big, which has π_B write every step)
only where π_B checks a token much faster than it writes one. On a GPU, checking is one parallel forward and
costs a fraction of writing; on a small CPU it costs about as much. Below: where this run's time went, and what
the cost model (per-token costs measured on this machine) predicts for GSI here and on a GPU.
"""


def machine_costs() -> MachineCosts | None:
    """This machine's measured costs: the file GSI_COSTS_FILE names, else the committed bench result."""
    return load_costs(os.environ.get("GSI_COSTS_FILE") or DEFAULT_COSTS_PATH)


def render(state: gr.State, triggers: list) -> None:
    """The panel, refreshed on each of `triggers` (fired as the run's steps arrive and on a replay) and when
    the GPU-like slider moves."""
    costs = machine_costs()
    with gr.Accordion("Where the time goes", open=True):
        gr.Markdown(INTRO)
        scoring = gr.Slider(0.01, 1.0, value=GPU_SCORING_OVER_DECODING, step=0.01,
                            label="GPU-like pricing: π_B checking a token ÷ π_B writing one (about 0.1 on a GPU)")
        text = gr.Markdown(where_time_goes_markdown((), costs), elem_id="gsi-time-text")
        plot = gr.Plot(label="Predicted GSI time ÷ sbon-big's", elem_id="gsi-time-plot")

    def update(state, scoring_over_decoding):
        events = state.events if state is not None else ()
        ratio = float(scoring_over_decoding)
        return (where_time_goes_markdown(events, costs, ratio),
                ratio_against_acceptance_figure(events, costs, ratio))

    gr.on([*triggers, scoring.change], update, [state, scoring], [text, plot], api_name="where_time_goes",
          queue=False, show_progress="hidden")
