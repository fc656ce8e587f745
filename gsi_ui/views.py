"""HTML and table views of a run, shared by the live explorer, the inspector and a replayed export."""

from __future__ import annotations

import html

from gsi_core.events import StepEvent
from gsi_core.explain import explain_decision

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


def explain_step(step: StepEvent, beta: float | None) -> str:
    """Why the step went the way it did, in one paragraph: the sampled draft, then the decision in the reward's
    terms (`explain_decision`), then what π_B wrote where it took over."""
    chosen = step.candidates[step.chosen]
    why = f": {'; '.join(chosen.reward_reasons)}" if chosen.reward_reasons else ""
    picked = (f"Draft #{step.chosen} was sampled (weight {chosen.weight:.2f}, "
              f"reward r = {chosen.reward if chosen.reward is not None else '–'}{why})")
    explanation = explain_decision(step, beta)
    text = f"{picked} and **{explanation.verdict}**: {explanation.reason}."
    if step.decision != "fallback":
        return text
    committed = step.fallback[step.fallback_chosen]
    return (f"{text} π_B drew {len(step.fallback)} steps and #{step.fallback_chosen} "
            f"(r = {committed.reward:.3f}, weight {committed.weight:.2f}) was committed.")


# --- the token view: where π_B disagrees with π_S -----------------------------------------------------------

SHADE_LIMIT = 3.0  # nats of |log π_B − log π_S| at which a token's shade is full
_LESS_LIKELY = (202, 0, 32)  # π_B gives the token less probability than π_S did
_MORE_LIKELY = (5, 113, 176)  # π_B gives it more
_STRONGEST = 0.55  # the full shade's share of colour over white, which keeps the view's dark text readable on it


def token_shade(difference: float) -> str:
    """The background of a token: white at 0, red where π_B finds it less likely, blue where more likely."""
    colour = _LESS_LIKELY if difference < 0 else _MORE_LIKELY
    share = _STRONGEST * min(abs(difference) / SHADE_LIMIT, 1.0)
    return "#" + "".join(f"{round(255 - share * (255 - c)):02x}" for c in colour)


def _token_legend() -> str:
    stops = [-SHADE_LIMIT, -SHADE_LIMIT / 2, 0.0, SHADE_LIMIT / 2, SHADE_LIMIT]
    swatches = "".join(f'<span class="gsi-token" style="background:{token_shade(d)}">{f"{d:+g}" if d else "0"}</span>'
                       for d in stops)
    return (f'<div class="gsi-token-legend">log π_B − log π_S per token: π_B less likely {swatches} π_B more '
            f"likely (full shade at ±{SHADE_LIMIT:g} nats; hover a token, or open its table)</div>")


def _differences(candidate) -> list[float] | None:
    if candidate.token_logprobs_small is None or candidate.token_logprobs_big is None:
        return None
    return [b - s for s, b in zip(candidate.token_logprobs_small, candidate.token_logprobs_big)]


def _token_spans(candidate, differences: list[float]) -> str:
    spans = []
    for piece, small, big, difference in zip(candidate.token_texts, candidate.token_logprobs_small,
                                             candidate.token_logprobs_big, differences):
        title = f"{piece!r}: log π_S {small:.4f}, log π_B {big:.4f}, difference {difference:+.4f}"
        spans.append(f'<span class="gsi-token" style="background:{token_shade(difference)}" '
                     f'title="{html.escape(title)}">{html.escape(piece)}</span>')
    return "".join(spans)


def _token_table(candidate, differences: list[float]) -> str:
    rows = "".join(f"<tr><td>{html.escape(repr(piece))}</td><td>{small:.4f}</td><td>{big:.4f}</td>"
                   f"<td>{difference:+.4f}</td></tr>"
                   for piece, small, big, difference in zip(candidate.token_texts, candidate.token_logprobs_small,
                                                            candidate.token_logprobs_big, differences))
    return ("<details><summary>per-token numbers</summary><table class=\"gsi-token-table\"><tr><th>token</th>"
            f"<th>log π_S</th><th>log π_B</th><th>difference</th></tr>{rows}</table></details>")


def _draft_html(label: str, candidate, sampled: bool) -> str:
    differences = _differences(candidate)
    facts = [f"r = {candidate.reward:.3f}" if candidate.reward is not None else None,
             f"log π_B − log π_S = {candidate.logp_big - candidate.logp_small:+.2f}"
             if candidate.logp_big is not None and candidate.logp_small is not None else None,
             f"r̃ = {candidate.tilted_reward:.3f}" if candidate.tilted_reward is not None else None]
    head = f"<b>{label}{' ◆ sampled' if sampled else ''}</b> " + " · ".join(f for f in facts if f)
    if differences is None:
        body = (f'<div class="gsi-tokens">{html.escape(candidate.text)}</div>'
                '<div class="gsi-note">No per-token log-probs for this step (π_B did not score it token by token).</div>')
    else:
        worst = min(range(len(differences)), key=differences.__getitem__)
        objection = (f"π_B objects most to {html.escape(repr(candidate.token_texts[worst]))} ({differences[worst]:+.2f})."
                     if differences[worst] < 0 else "π_B finds every token at least as likely as π_S did.")
        body = (f'<div class="gsi-tokens">{_token_spans(candidate, differences)}</div>'
                f'<div class="gsi-note">{objection}</div>' + _token_table(candidate, differences))
    reasons = candidate.reward_reasons
    if reasons:
        body += ('<ul class="gsi-reasons" aria-label="reward reasons">'
                 + "".join(f"<li>{html.escape(reason)}</li>" for reason in reasons) + "</ul>")
    return f'<div class="gsi-draft"><div class="gsi-draft-head">{head}</div>{body}</div>'


def token_view_html(step: StepEvent) -> str:
    """Every draft of the step as its text, each token shaded by log π_B − log π_S, with the reward's reasons
    where it gives any; π_B's fallback candidates too where both models' values exist."""
    drafts = [_draft_html(f"π_S draft #{i}", c, i == step.chosen) for i, c in enumerate(step.candidates)]
    fallback = [_draft_html(f"π_B candidate #{i}", c, i == step.fallback_chosen)
                for i, c in enumerate(step.fallback) if _differences(c) is not None]
    return f'<div class="gsi-token-view">{_token_legend()}{"".join(drafts + fallback)}</div>'
