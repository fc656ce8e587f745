"""GSI explorer: watch Guided Speculative Inference decide each reasoning step, inspect rejections, compare.

`python app.py` serves it on http://127.0.0.1:7860 with the preset from GSI_PRESET (default: `offline-cpu`
without a GPU, `paper` with one). Models load on the first run; on a Space or with GSI_PRELOAD=1 they start
loading in the background at start-up (on a ZeroGPU Space, on `cuda`, before serving).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

# first: on ZeroGPU `spaces` must be imported before torch
from gsi_ui.gpu import on_zero_gpu, zero_gpu_placement  # noqa: E402

import gradio as gr  # noqa: E402

from gsi_core.config import get_preset  # noqa: E402
from gsi_ui import compare, explore, preload, theory_tab  # noqa: E402
from gsi_ui.preload import preload_requested  # noqa: E402
from gsi_ui.runs import ModelStore, load_examples  # noqa: E402

CSS = """
.gsi-solution { font-size: 0.95rem; line-height: 1.45; max-height: 520px; overflow-y: auto; }
.gsi-step { padding: 6px 8px; border-bottom: 1px solid var(--border-color-primary); white-space: pre-wrap; }
.gsi-badge { display: inline-block; font-size: 0.75rem; font-weight: 600; padding: 1px 6px; border-radius: 8px;
             margin-right: 6px; color: #FFFFFF; }
.gsi-small { background: #2E7D32; } .gsi-big { background: #C62828; }
.gsi-num { color: var(--body-text-color-subdued); margin-right: 6px; font-variant-numeric: tabular-nums; }
.gsi-empty { color: var(--body-text-color-subdued); }
.gsi-token-view { color: #111111; background: #FFFFFF; padding: 6px; border-radius: 6px; font-size: 0.95rem; }
.gsi-token-view .gsi-note, .gsi-token-legend { color: #4A4A4A; font-size: 0.85rem; }
.gsi-draft { padding: 6px 0; border-bottom: 1px solid #DDDDDD; }
.gsi-tokens { white-space: pre-wrap; overflow-wrap: anywhere; line-height: 1.6; }
.gsi-token { border-radius: 3px; }
.gsi-token-legend .gsi-token { padding: 0 4px; margin: 0 1px; }
.gsi-token-table { display: block; overflow-x: auto; font-size: 0.8rem; }
.gsi-reasons { margin: 4px 0 0 1.2rem; font-size: 0.85rem; }
.gsi-chart-summary { font-size: 0.9rem; }
@media (max-width: 640px) { .gsi-solution { max-height: none; } }
"""


def results_dirs_from_environment() -> list[Path]:
    """The folders (`GSI_RESULTS_DIR`, `:`-separated) whose saved benchmark runs Compare offers beside the committed ones."""
    return [Path(p) for p in os.environ.get("GSI_RESULTS_DIR", "").split(os.pathsep) if p]


def build_demo(preset: str | None = None, results_dirs: Sequence[Path] | None = None) -> gr.Blocks:
    """The whole app for one preset; models load on the first run, or here on ZeroGPU: on `cuda`, at the module's
    top level (`demo = build_demo()`), outside any GPU call. Saved benchmark runs are looked for under
    `results_dirs` (default: `GSI_RESULTS_DIR`)."""
    chosen = zero_gpu_placement(get_preset(preset))
    store = ModelStore(chosen)
    if on_zero_gpu():
        store.get()
    elif preload_requested():  # a warm start: join, convert and load now, in the background
        store.loader.start()
    examples = load_examples()
    with gr.Blocks(title="GSI explorer", analytics_enabled=False) as demo:
        gr.Markdown(
            f"# Guided Speculative Inference, step by step\n"
            f"Preset **{chosen.name}** — π_S `{chosen.small.model}`, π_B `{chosen.big.model}`, "
            f"reward `{chosen.reward.name}`. {chosen.description}"
        )
        preload.render(store.loader)
        with gr.Tabs():
            with gr.Tab("Explore"):
                controls = explore.render(store, examples)
            with gr.Tab("Compare"):
                compare.render(store, examples, controls)
                compare.render_saved_runs(results_dirs_from_environment() if results_dirs is None else results_dirs)
            with gr.Tab("Tilted policy"):
                lab_controls, lab_outputs = theory_tab.render()
        demo.load(theory_tab.lab, lab_controls, lab_outputs, queue=False, show_progress="hidden")
    demo.queue(default_concurrency_limit=1, max_size=16)
    return demo


demo = build_demo()

if __name__ == "__main__":
    demo.launch(server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"), css=CSS)
