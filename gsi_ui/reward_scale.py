"""What u means for the loaded reward: its range beside the u slider, and the room β·(r − u) it leaves π_B."""

from __future__ import annotations

from gsi_core.vocabulary import RewardScale


def threshold_info(scale: RewardScale) -> str:
    """The u slider's one-line help: the reward's typical range and its no-evidence value."""
    low, high = scale.typical
    return (f"GSI keeps a draft when r̃ = r + (log π_B − log π_S)/β ≥ u. This reward: most drafts score "
            f"{low:.2f}–{high:.2f}, a step with no evidence {scale.neutral:.2f}.")


def threshold_help(reward: str, scale: RewardScale, threshold: float, beta: float) -> str:
    """What u decides on this reward's scale, in nats of log π_B − log π_S a draft may lose and still be kept."""
    low, high = scale.typical
    rooms = [(label, value, scale.room(value, threshold, beta))
             for label, value in (("the low end", low), ("no evidence", scale.neutral), ("the high end", high))]
    spans = ", ".join(f"{label} (r = {value:.2f}) {room:+.1f}" for label, value, room in rooms)
    text = (f"**u on the scale of `{reward}`** — r is {scale.meaning}. A draft is kept when β·(r − u) + "
            f"log π_B − log π_S ≥ 0; at u = {threshold:g} and β = {beta:g}, the room β·(r − u) is, in nats: "
            f"{spans}.")
    if beta == 0:
        return text + " With β = 0 the reward decides nothing: a draft is kept when π_B rates it above π_S."
    if abs(threshold - scale.neutral) < 0.005:
        return text + " u sits at the no-evidence value: for such steps the reward decides nothing, π_B alone does."
    if threshold > high:
        return text + " u is above the typical range: most drafts are kept only where π_B rates them well above π_S."
    if threshold < low:
        return text + " u is below the typical range: most drafts are kept unless π_B rates them far below π_S."
    return text
