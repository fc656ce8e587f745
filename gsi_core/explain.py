"""Each step's decision in the reward's terms, for the inspector and the candidates chart.

GSI keeps the sampled draft when r̃ = r + (1/β)·(log π_B − log π_S) ≥ u, that is when
β(r − u) + (log π_B − log π_S) ≥ 0: the room the reward gives and what π_B thinks of the draft, both in nats.
Set side by side, they show which of the two decided a step and by how much.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from .events import Candidate, RunStarted, StepEvent

TIE = 1e-9  # nats below which a side counts as neither for nor against (float noise from r̃'s division by β)


@dataclass(frozen=True)
class DecisionTerms:
    """A draft's two sides of GSI's test, in nats: `room` = β(r − u) and `view` = log π_B − log π_S."""

    reward: float
    threshold: float
    beta: float
    room: float
    view: float

    @property
    def margin(self) -> float:
        """β(r̃ − u): the draft is kept when this is ≥ 0."""
        return self.room + self.view


@dataclass(frozen=True)
class Explanation:
    """`verdict` ("accepted", "rejected", "committed" or "kept") and `reason`, why, with no closing full stop."""

    verdict: str
    reason: str

    @property
    def sentence(self) -> str:
        return f"{self.verdict.capitalize()}: {self.reason}."


def beta_of(start: RunStarted | None) -> float | None:
    """The run's β from its start event's config (None with no start event, or a config without β)."""
    config: Mapping[str, Any] = start.config if start is not None else {}
    beta = config.get("beta")
    return float(beta) if isinstance(beta, (int, float)) and not isinstance(beta, bool) else None


def draft_terms(candidate: Candidate, threshold: float | None, beta: float | None) -> DecisionTerms | None:
    """A draft's room and view against u, or None where a number is missing (RSD's drafts have no π_B
    log-prob; an old export may lack one) or u is infinite (then no room is finite)."""
    values = (candidate.reward, candidate.logp_big, candidate.logp_small, threshold, beta)
    if any(v is None for v in values) or math.isinf(threshold):
        return None
    room = beta * (candidate.reward - threshold)
    return DecisionTerms(candidate.reward, threshold, beta, room, candidate.logp_big - candidate.logp_small)


def _sign(value: float) -> int:
    return 0 if abs(value) <= TIE else (1 if value > 0 else -1)


def _number(value: float) -> str:
    """A reward or threshold as the formulas show it: 3 significant digits, a negative one in parentheses."""
    return f"({value:.3g})" if value < 0 else f"{value:.3g}"


def _reward_side(terms: DecisionTerms) -> str:
    values = f"r = {terms.reward:.3g}, u = {terms.threshold:.3g}"
    if terms.beta == 0:
        return f"the reward counts for nothing at β = 0 ({values})"
    if _sign(terms.room) == 0:
        return f"the reward gave no room ({values})"
    direction = f"gave {terms.room:+.2f} nats of room" if terms.room > 0 else f"fell {-terms.room:.2f} nats short"
    formula = f"β(r − u) = {terms.beta:g}·({_number(terms.reward)} − {_number(terms.threshold)})"
    return f"the reward {direction} ({formula})"


def _model_side(terms: DecisionTerms) -> str:
    if _sign(terms.view) == 0:
        return "π_B found the draft exactly as likely as π_S did"
    more_or_less = "more" if terms.view > 0 else "less"
    return f"π_B found the draft {abs(terms.view):.2f} nats {more_or_less} likely than π_S did"


def _decider(terms: DecisionTerms, accepted: bool) -> str:
    """Which side carried the verdict, and the margin by which the draft cleared or missed the bar."""
    names = {("room", 1): "the reward's room", ("room", -1): "the reward's shortfall",
             ("view", 1): "π_B's support", ("view", -1): "π_B's objection"}
    signs = {"room": _sign(terms.room), "view": _sign(terms.view)}
    side = 1 if accepted else -1
    winners = [name for name, sign in signs.items() if sign == side]
    losers = [name for name, sign in signs.items() if sign == -side]
    by = f"{'clearing' if accepted else 'missing'} the bar by {abs(terms.margin):.2f} nats"
    if len(winners) == 2:
        return f"both were {'for' if accepted else 'against'} it, {by}"
    if winners and losers:
        return f"{names[winners[0], side]} outweighed {names[losers[0], -side]}, {by}"
    if winners:
        return f"{names[winners[0], side]} decided it, {by}"
    if not losers and terms.beta == 0:  # r̃ = r when the models agree at β = 0, so r against u decides
        return f"so r̃ = r, and r {'≥' if accepted else '<'} u decided it after all"
    if not losers:
        return "the two sum to exactly 0, so r̃ = u, which keeps the draft"
    return f"it lies on the bar up to rounding (β(r − u) + log π_B − log π_S = {terms.margin:+.1e} nats)"


def _raw_reward_test(step: StepEvent, accepted: bool) -> str:
    """RSD and the raw-threshold ablation hold r alone against their threshold."""
    chosen, name = step.candidates[step.chosen], "δ" if step.method == "rsd" else "u"
    if chosen.reward is None:
        return f"{step.method} tests the raw reward r against {name} = {step.threshold:g}, and this export lacks r"
    gap = chosen.reward - step.threshold
    test = f"{step.method} tests the raw reward alone: " + (
        f"r = {name} = {chosen.reward:.3g}, which passes" if gap == 0 else
        f"r = {chosen.reward:.3g} {'≥' if accepted else '<'} {name} = {step.threshold:g}, "
        f"{'clearing' if accepted else 'missing'} it by {abs(gap):.3g}")
    if chosen.logp_big is None or chosen.logp_small is None:
        return f"{test}; log π_B − log π_S plays no role (π_B did not score the drafts)"
    view = chosen.logp_big - chosen.logp_small
    return (f"{test}; π_B's view of the draft (log π_B − log π_S = {view:+.2f} nats) only steered which draft was "
            "sampled and plays no role in the test")


def _missing(step: StepEvent, beta: float | None) -> str:
    """A tilted test whose two sides cannot be told apart from what the events hold."""
    chosen = step.candidates[step.chosen]
    lacks = ("β (no run config gives it)" if beta is None
             else "r" if chosen.reward is None else "π_B's or π_S's log-prob")
    side = "≥" if step.decision == "accepted" else "<"
    tested = "" if chosen.tilted_reward is None else f"r̃ = {chosen.tilted_reward:.3g} {side} u = {step.threshold:g}; "
    return f"{tested}this export lacks {lacks}, so the reward's room and π_B's view cannot be set apart"


def explain_decision(step: StepEvent, beta: float | None) -> Explanation:
    """Why the sampled draft was kept or replaced, in the reward's terms; `beta` is the run's (`beta_of`)."""
    if step.decision == "n.a.":
        return Explanation("committed", f"{step.method} has no acceptance test, so nothing weighed the reward "
                                        "against π_B's view")
    if step.threshold is None:
        return Explanation("kept", f"{step.method} keeps every sampled draft; there is no threshold to meet")
    accepted = step.decision == "accepted"
    verdict = "accepted" if accepted else "rejected"
    if not step.tests_tilted_reward:
        return Explanation(verdict, _raw_reward_test(step, accepted))
    if math.isinf(step.threshold):
        return Explanation(verdict, f"u = {step.threshold:g} {'keeps' if step.threshold < 0 else 'rejects'} every "
                                    "draft, whatever the reward and π_B say")
    terms = draft_terms(step.candidates[step.chosen], step.threshold, beta)
    if terms is None:
        return Explanation(verdict, _missing(step, beta))
    return Explanation(verdict, f"{_reward_side(terms)}, and {_model_side(terms)} — {_decider(terms, accepted)}")


__all__ = ["DecisionTerms", "Explanation", "beta_of", "draft_terms", "explain_decision"]
