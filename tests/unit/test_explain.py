"""Each step's decision in the reward's terms: the two sides of GSI's test on real tiny runs, and the wording of
every case on steps built with the engine's own rules."""

import dataclasses

import pytest

from gsi_core import run_method
from gsi_core.events import Candidate, RunStarted, StageTimes, StepEvent, from_dict, to_dict
from gsi_core.explain import beta_of, draft_terms, explain_decision
from gsi_core.run import Run
from gsi_core.selection import RewardThreshold, TiltedRewardThreshold, tilted_reward


@pytest.mark.parametrize("threshold", [0.5, -5.0])
def test_a_real_runs_decisions_are_the_sign_of_the_two_sides_sum(small, big, verifier, config, threshold):
    """β(r − u) + (log π_B − log π_S) ≥ 0 exactly where the engine kept the draft, and equals β(r̃ − u) as
    the engine computed r̃; the explanation names the verdict and the margin."""
    run = Run.of(run_method("gsi", "What is 12 + 30?", small, big, verifier, config.replace(threshold=threshold)))
    beta = beta_of(run.start)
    assert beta == config.beta
    # the tiny pair's log-ratios lie within ±100 nats: u = −5 leaves room to keep drafts, u = ½ none
    assert ("accepted" if threshold < 0 else "fallback") in {s.decision for s in run.steps}
    for step in run.steps:
        chosen = step.candidates[step.chosen]
        terms = draft_terms(chosen, step.threshold, beta)
        assert terms.room == pytest.approx(beta * (chosen.reward - threshold))
        assert terms.margin == pytest.approx(beta * (chosen.tilted_reward - threshold))
        assert (terms.margin >= 0) == (step.decision == "accepted")
        explanation = explain_decision(step, beta)
        assert explanation.verdict == ("accepted" if step.decision == "accepted" else "rejected")
        by = f"{'clearing' if terms.margin >= 0 else 'missing'} the bar by {abs(terms.margin):.2f} nats"
        assert by in explanation.reason
        assert f"{abs(terms.view):.2f} nats {'more' if terms.view > 0 else 'less'} likely" in explanation.reason


def test_a_real_run_at_u_equal_to_the_flat_reward_is_decided_by_pi_b(small, big, verifier, config):
    """The offline default's case: r = u = ½, so π_B's view of the draft alone decides, and the text says so."""
    run = Run.of(run_method("gsi", "What is 12 + 30?", small, big, verifier, config.replace(threshold=0.5)))
    at_u = [s for s in run.steps if s.candidates[s.chosen].reward == 0.5]
    assert at_u, "the step verifier gave no sampled draft its neutral ½"
    for step in at_u:
        reason = explain_decision(step, beta_of(run.start)).reason
        assert reason.startswith("the reward gave no room (r = 0.5, u = 0.5)")
        assert ("π_B's objection decided it" if step.decision == "fallback" else "π_B's support decided it") in reason


def hand_step(reward, view, threshold=0.5, beta=20.0, rule=TiltedRewardThreshold, method="gsi", scored=True):
    """A one-draft step whose r̃ and decision come from the engine's own arithmetic and acceptance rule."""
    logp_small = -4.0
    logp_big = logp_small + view if scored else None
    tilted = tilted_reward(reward, logp_big, logp_small, beta) if scored else None
    acceptance = rule(threshold)
    candidate = Candidate(text="x = 1", num_tokens=3, source="small", finish_reason="step", logp_small=logp_small,
                          logp_big=logp_big, reward=reward, tilted_reward=tilted, weight=1.0)
    accepted = acceptance.accepts(reward, tilted)
    fallback = () if accepted else (dataclasses.replace(candidate, source="big", logp_small=None, tilted_reward=None),)
    return StepEvent(index=0, method=method, candidates=(candidate,), chosen=0,
                     decision="accepted" if accepted else "fallback", text="x = 1",
                     source="small" if accepted else "big",
                     timings=StageTimes(), fallback=fallback, fallback_chosen=None if accepted else 0,
                     threshold=threshold, threshold_on=acceptance.tests)


def test_the_issues_example_reads_as_a_sentence():
    assert explain_decision(hand_step(0.5, -1.3), 20.0).sentence == (
        "Rejected: the reward gave no room (r = 0.5, u = 0.5), and π_B found the draft 1.30 nats less likely than "
        "π_S did — π_B's objection decided it, missing the bar by 1.30 nats.")


@pytest.mark.parametrize("reward, view, verdict, decider, margin", [
    (0.6, 0.5, "accepted", "both were for it", 2.5),
    (0.4, -1.0, "rejected", "both were against it", 3.0),
    (0.6, -1.3, "accepted", "the reward's room outweighed π_B's objection", 0.7),
    (0.55, -1.3, "rejected", "π_B's objection outweighed the reward's room", 0.3),
    (0.45, 1.3, "accepted", "π_B's support outweighed the reward's shortfall", 0.3),
    (0.4, 1.3, "rejected", "the reward's shortfall outweighed π_B's support", 0.7),
    (0.6, 0.0, "accepted", "the reward's room decided it", 2.0),
    (0.5, 0.8, "accepted", "π_B's support decided it", 0.8),
])
def test_each_side_and_each_disagreement_is_named(reward, view, verdict, decider, margin):
    explanation = explain_decision(hand_step(reward, view), 20.0)
    assert explanation.verdict == verdict
    assert explanation.reason.endswith(f"— {decider}, {'clearing' if verdict == 'accepted' else 'missing'} the bar "
                                       f"by {margin:.2f} nats")
    room = 20 * (reward - 0.5)
    if room:
        side = f"gave {room:+.2f} nats of room" if room > 0 else f"fell {-room:.2f} nats short"
        assert explanation.reason.startswith(f"the reward {side}")
        assert f"β(r − u) = 20·({reward:.3g} − 0.5)" in explanation.reason


def test_a_dead_heat_keeps_the_draft():
    explanation = explain_decision(hand_step(0.5, 0.0), 20.0)
    assert explanation.verdict == "accepted" and "exactly as likely" in explanation.reason
    assert explanation.reason.endswith("r̃ = u, which keeps the draft")


def test_rsd_and_the_raw_threshold_ablation_test_r_alone():
    rsd = explain_decision(hand_step(0.8, 0.0, threshold=0.7, rule=RewardThreshold, method="rsd", scored=False), 20.0)
    assert rsd.sentence == ("Accepted: rsd tests the raw reward alone: r = 0.8 ≥ δ = 0.7, clearing it by 0.1; "
                            "log π_B − log π_S plays no role (π_B did not score the drafts).")
    raw = explain_decision(hand_step(0.4, 2.0, rule=RewardThreshold, method="gsi-raw-threshold"), 20.0)
    assert raw.verdict == "rejected" and "r = 0.4 < u = 0.5, missing it by 0.1" in raw.reason
    assert "(log π_B − log π_S = +2.00 nats) only steered which draft was sampled" in raw.reason
    assert "room" not in raw.reason
    level = explain_decision(hand_step(0.5, -3.0, rule=RewardThreshold, method="gsi-raw-threshold"), 20.0)
    assert level.verdict == "accepted" and "r = u = 0.5, which passes" in level.reason


def test_methods_without_a_test_say_so(small, big, verifier, config):
    single = Run.of(run_method("sbon-small", "What is 12 + 30?", small, big, verifier, config.replace(max_steps=1)))
    assert explain_decision(single.steps[0], config.beta).sentence == (
        "Committed: sbon-small has no acceptance test, so nothing weighed the reward against π_B's view.")
    kept = dataclasses.replace(hand_step(0.5, -1.0), method="gsi-no-fallback", decision="accepted", threshold=None,
                               threshold_on=None, fallback=(), fallback_chosen=None)
    assert explain_decision(kept, 20.0).sentence == (
        "Kept: gsi-no-fallback keeps every sampled draft; there is no threshold to meet.")


def test_old_exports_and_edge_settings():
    step = hand_step(0.5, -1.3)
    saved = to_dict(step)
    del saved["threshold_on"]  # saved before steps recorded what was tested: r̃, wherever it was computed
    assert explain_decision(from_dict(saved), 20.0) == explain_decision(step, 20.0)
    no_beta = explain_decision(step, beta_of(None))
    assert no_beta.verdict == "rejected" and "r̃ = 0.435 < u = 0.5; this export lacks β" in no_beta.reason
    unscored = dataclasses.replace(step, candidates=(dataclasses.replace(step.candidates[0], logp_big=None),))
    assert "lacks π_B's or π_S's log-prob" in explain_decision(unscored, 20.0).reason
    assert draft_terms(unscored.candidates[0], 0.5, 20.0) is None
    always = explain_decision(hand_step(0.0, -50.0, threshold=float("-inf")), 20.0)
    assert always.sentence == "Accepted: u = -inf keeps every draft, whatever the reward and π_B say."
    flat = explain_decision(hand_step(0.9, -0.2, beta=0.0), 0.0)
    assert flat.verdict == "rejected" and flat.reason.startswith("the reward counts for nothing at β = 0")
    assert "π_B's objection decided it" in flat.reason
    agreeing = explain_decision(hand_step(0.9, 0.0, beta=0.0), 0.0)  # r̃ = r when the models agree at β = 0
    assert agreeing.verdict == "accepted" and agreeing.reason.endswith("r ≥ u decided it after all")


def test_beta_is_read_from_the_runs_start_event():
    start = RunStarted(method="gsi", problem="p", config={"beta": 7}, small_model="s", big_model="b",
                       reward_model="r", small_params=1, big_params=2)
    assert beta_of(start) == 7.0
    assert beta_of(dataclasses.replace(start, config={})) is None and beta_of(None) is None
