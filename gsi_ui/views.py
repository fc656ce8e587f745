"""HTML and table views of a run, shared by the live explorer, the inspector and a replayed export."""

from __future__ import annotations

import html

from gsi_core.events import StepEvent

from .state import RunState

_BADGES = {
    "accepted": '<span class="gsi-badge gsi-small">π_S draft ✓</span>',
    "fallback": '<span class="gsi-badge gsi-big">π_B fallback</span>',
}


def solution_html(state: RunState) -> str:
    """The growing solution, each step marked by where it came from."""
    if not state.steps:
        return '<div class="gsi-solution gsi-empty">The solution appears here step by step.</div>'
    parts = []
    for step in state.steps:
        badge = _BADGES.get(step.decision) or f'<span class="gsi-badge gsi-{step.source}">π_{step.source[0].upper()}</span>'
        parts.append(f'<div class="gsi-step">{badge}<span class="gsi-num">{step.index + 1}</span>'
                     f"{html.escape(step.text.strip())}</div>")
    return '<div class="gsi-solution">' + "".join(parts) + "</div>"


def status_line(state: RunState, elapsed: float, running: bool) -> str:
    steps = state.steps
    rate = "" if state.acceptance is None else f", acceptance {state.acceptance:.0%}"
    tokens = ""
    if state.summary:
        s = state.summary
        tokens = f" · tokens π_S {s.tokens_small:,}, π_B {s.tokens_big:,} (+{s.tokens_scored_big:,} scored)"
        answer = f" · answer **{s.answer}**" if s.answer else " · no boxed answer"
        return f"**Done** ({s.stop_reason}) — {len(steps)} steps in {s.wall_time:.1f} s{rate}{answer}{tokens}"
    verb = "Running" if running else "Stopped"
    return f"**{verb}** — step {len(steps)}, {elapsed:.1f} s elapsed{rate}"


def candidate_rows(step: StepEvent, fallback: bool = False) -> list[list]:
    """Table rows: #, sampled?, r, log π_B − log π_S, r̃, weight, tokens, text, the reward's reasons."""
    candidates, chosen = (step.fallback, step.fallback_chosen) if fallback else (step.candidates, step.chosen)

    def rounded(value, digits=3):
        return None if value is None else round(value, digits)

    rows = []
    for i, c in enumerate(candidates):
        ratio = None if c.logp_big is None or c.logp_small is None else c.logp_big - c.logp_small
        rows.append([i, "◆" if i == chosen else "", rounded(c.reward), rounded(ratio, 2), rounded(c.tilted_reward),
                     rounded(c.weight), c.num_tokens, c.text.strip(), "; ".join(c.reward_reasons)])
    return rows


CANDIDATE_COLUMNS = ["#", "sampled", "r", "log π_B − log π_S", "r̃", "weight", "tokens", "text", "why r"]


def explain_step(step: StepEvent) -> str:
    """Why the step went the way it did, in one paragraph."""
    chosen = step.candidates[step.chosen]
    why = f": {'; '.join(chosen.reward_reasons)}" if chosen.reward_reasons else ""
    picked = (f"Draft #{step.chosen} was sampled (weight {chosen.weight:.2f}, "
              f"reward r = {chosen.reward if chosen.reward is not None else '–'}{why})")
    if step.decision == "n.a.":
        return f"{picked} and committed: this method has no acceptance test."
    if chosen.tilted_reward is not None:
        test = (f"its tilted reward r̃ = r + (log π_B − log π_S)/β = {chosen.tilted_reward:.3f} "
                f"{'≥' if step.decision == 'accepted' else '<'} u = {step.threshold:g}")
    else:
        test = f"its reward r = {chosen.reward:.3f} {'≥' if step.decision == 'accepted' else '<'} δ = {step.threshold:g}"
    if step.decision == "accepted":
        return f"{picked}; {test}, so it was **accepted** and π_B wrote nothing this step."
    committed = step.fallback[step.fallback_chosen]
    return (f"{picked}; {test}, so it was **rejected**. π_B drew {len(step.fallback)} steps and #{step.fallback_chosen} "
            f"(r = {committed.reward:.3f}, weight {committed.weight:.2f}) was committed.")
