"""The Tilted policy tab: exact toy worlds that answer instantly and need no models."""

from __future__ import annotations

import gradio as gr

from gsi_core.cost_model import break_even_acceptance
from gsi_core.figures import toy_curves_figure, toy_distributions_figure
from gsi_core.theory import (EXACT_METHODS, N_GRID, WORLDS, CurvePoint, curve_point, curves_against_n, expected_reward,
                              gsi_time_ratios, shifted, tilted_target)
from gsi_core.where_time_goes import GPU_SCORING_OVER_DECODING

from .time_panel import machine_costs

PRICINGS = ("this machine", "GPU-like")
TOY_STEP_TOKENS = 32  # a toy step's length in tokens, where the costs file gives no measured draft length


def explain(world, n: int, exact: dict, kl: dict, target) -> str:
    gsi = exact["gsi"]
    return (
        f"The black bars are the target π_β,B ∝ π_B·exp(β·r). Soft best-of-n on π_S can only re-weight what π_S "
        f"proposes, so it heads for π_S·exp(β·r) instead (KL {kl['sbon-small']:.3f} at n = {n}). GSI multiplies each "
        f"draft's weight by π_B/π_S — the log π_B − log π_S term — which turns π_S's proposals into draws aimed at "
        f"π_B·exp(β·r) (KL {kl['gsi']:.3f}); a draft whose tilted reward falls below u goes to π_B instead. Here GSI "
        f"accepts {gsi.acceptance:.0%} of steps and calls π_B for {gsi.big_generations:.0%} of them; soft best-of-n on "
        f"π_B reaches KL {kl['sbon-big']:.3f} but calls π_B every step. Expected reward: target "
        f"{expected_reward(target, world):.3f}, GSI {expected_reward(gsi.distribution, world):.3f}, soft best-of-n on "
        f"π_S {expected_reward(exact['sbon-small'].distribution, world):.3f}. The ablations take one piece away: "
        f"testing the raw reward instead of r̃ (KL {kl['gsi-raw-threshold']:.3f}), tilting by π_B without dividing by "
        f"π_S (KL {kl['gsi-big-tilt']:.3f}), no fallback (KL {kl['gsi-no-fallback']:.3f}). All numbers are exact "
        f"(enumeration over the n draws' counts), not sampled."
    )


def cost_side(curves: list[CurvePoint], point: CurvePoint, pricing: str) -> tuple[list[float] | None, str]:
    """GSI's expected time ÷ sbon-big's along the curves, priced on this machine's measured costs or as on a GPU,
    and a sentence on it; (None, a note) where no costs are committed."""
    costs = machine_costs()
    if costs is None:
        return None, "\n\nNo measured costs for this machine are committed, so the chart leaves out the cost side."
    if pricing not in PRICINGS:
        raise gr.Error(f"Unknown pricing {pricing!r}; choose one of {', '.join(PRICINGS)}.")
    gpu = pricing == "GPU-like"
    priced = costs.priced(GPU_SCORING_OVER_DECODING if gpu else None)
    tokens = costs.step_tokens or TOY_STEP_TOKENS
    step = costs.workload(1, 1, tokens)
    ratios = gsi_time_ratios(curves, priced, step)
    at_n = gsi_time_ratios([point], priced, step)[0]
    even = break_even_acceptance(priced, costs.workload(point.n, point.n, tokens))
    basis = (f"as on a GPU (π_B checks a token in {GPU_SCORING_OVER_DECODING:g} of its time to write one)" if gpu
             else f"on the per-token costs measured on {costs.machine}")
    breaks = ("it never breaks even, whatever it accepts" if even is None else
              "it is faster at any acceptance" if even == 0 else f"it breaks even at {even:.0%} acceptance")
    return ratios, (f"\n\n**The cost side** (dashed, right axis): GSI's expected time ÷ sbon-big's at each n, from "
                    f"the cost model {basis}, at GSI's exact acceptance, with steps of {tokens:g} tokens and "
                    f"the same measured per-token costs at every n. At n = {point.n} GSI takes **{at_n:.2f}×** sbon-big's time; {breaks}.")


def lab(world_name: str, beta: float, n: int, threshold: float, distance: float, pricing: str = PRICINGS[0]):
    """Every output of the tab for one setting of the controls."""
    if world_name not in WORLDS:
        raise gr.Error(f"Unknown world {world_name!r}.")
    world = shifted(WORLDS[world_name], float(distance))
    beta, n, threshold = float(beta), int(n), float(threshold)
    target = tilted_target(world, beta)
    curves = curves_against_n(world, beta, threshold)
    point = next((p for p in curves if p.n == n), None) or curve_point(world, beta, n, threshold)
    bars = toy_distributions_figure(world.labels, {"π_S": world.small, "π_B": world.big, "target π_β,B": target,
                                                   **{m: point.exact[m].distribution for m in EXACT_METHODS}})
    time_ratio, cost_text = cost_side(curves, point, pricing)
    curve_figure = toy_curves_figure(
        N_GRID, {m: [p.kl[m] for p in curves] for m in EXACT_METHODS},
        [p.exact["gsi"].acceptance for p in curves], [p.exact["gsi"].big_generations for p in curves],
        time_ratio, pricing)
    return bars, curve_figure, explain(world, n, point.exact, point.kl, target) + cost_text


def render() -> tuple[list, list]:
    """Build the tab; returns (controls, outputs) so the app can fill the charts when the page loads."""
    gr.Markdown("Exact toy worlds: one decision among four steps A–D with known π_S, π_B and reward. Move the "
                "sliders and every chart is recomputed exactly, instantly, without models.")
    with gr.Row():
        world = gr.Dropdown(list(WORLDS), value="draft misses a good step", label="World")
        distance = gr.Slider(0, 2, value=1, step=0.05, label="how far π_S is from π_B (0 = same, 1 = the world's, 2 = uniform)")
    with gr.Row():
        beta = gr.Slider(0.5, 50, value=20, step=0.5, label="β")
        n = gr.Slider(1, 64, value=4, step=1, label="n")
        threshold = gr.Slider(-0.5, 1.5, value=0.5, step=0.05, label="u")
        pricing = gr.Radio(list(PRICINGS), value=PRICINGS[0], label="cost side priced on")
    explanation = gr.Markdown(elem_id="gsi-lab-text")
    with gr.Row():
        bars = gr.Plot(label="Distributions", elem_id="gsi-lab-bars")
        curves = gr.Plot(label="Against n", elem_id="gsi-lab-curves")
    controls = [world, beta, n, threshold, distance, pricing]
    gr.on([c.change for c in controls], lab, controls, [bars, curves, explanation],
          api_name="tilted_policy", queue=False, show_progress="hidden")
    return controls, [bars, curves, explanation]
