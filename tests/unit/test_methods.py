"""Every decoding method end to end on tiny transformers models, plus the stop rules on scripted models."""

import dataclasses
import json
import math

import numpy as np
import pytest

from gsi_core import METHODS, run_method
from gsi_core.config import ConfigError, DecodingConfig
from gsi_core.events import RunStarted, RunSummary, StepEvent, from_json, to_dict, to_json
from gsi_core.models import Draft
from gsi_core.selection import softmax
from gsi_core.theory import ToyWorld, toy_parts

PROBLEM = "Weng earns $12 an hour for babysitting. Yesterday, she just did 50 minutes of babysitting. How much did she earn?"


def run(name, small, big, verifier, config, problem=PROBLEM):
    return list(run_method(name, problem, small, big, verifier, config))


def without_times(events):
    """Events as plain data with the wall-clock fields removed (they differ run to run)."""
    plain = []
    for event in events:
        data = to_dict(event)
        data.pop("timings", None)
        data.pop("wall_time", None)
        plain.append(data)
    return plain


@pytest.mark.parametrize("name", list(METHODS))
def test_every_method_streams_a_complete_run(name, small, big, verifier, config):
    events = run(name, small, big, verifier, config)
    start, steps, summary = events[0], events[1:-1], events[-1]
    assert isinstance(start, RunStarted) and start.method == name and start.problem == PROBLEM
    assert start.small_params == small.num_parameters and start.config["n"] == config.n
    assert isinstance(summary, RunSummary) and all(isinstance(e, StepEvent) for e in steps)
    assert 1 <= len(steps) <= config.max_steps and summary.steps == len(steps)
    assert [e.index for e in steps] == list(range(len(steps)))
    assert summary.solution == "".join(e.text for e in steps)
    for event in steps:
        assert event.method == name and event.text == event.committed.text
        n = 1 if name.startswith("sample") else config.n  # n_small = n_big = n here
        assert len(event.candidates) == n
        assert sum(c.weight for c in event.candidates) == pytest.approx(1.0)
        assert all(c.tilted_reward is None for c in event.candidates) or name.startswith("gsi")
        assert all((c.reward is None) == name.startswith("sample") for c in event.candidates)
        previous = [s.text for s in steps[: event.index]]
        for group in (event.candidates, event.fallback):  # each group of drafts was scored together, with reasons
            if group and group[0].reward is not None:
                expected = verifier.score_candidates(PROBLEM, previous, [c.text for c in group])
                assert [c.reward_reasons for c in group] == [e.reasons for e in expected]
                assert all(c.reward_reasons for c in group)
            else:
                assert all(c.reward_reasons == () for c in group)
        assert event.timings.total > 0
    json.loads(to_json(summary))  # serialisable
    assert [from_json(to_json(e)) for e in events] == events  # and back, exactly


def test_an_export_saved_before_rewards_gave_reasons_replays(small, big, verifier, config):
    events = run("gsi", small, big, verifier, config)
    for event in events[1:-1]:
        old = to_dict(event)
        for c in (*old["candidates"], *old["fallback"]):
            del c["reward_reasons"]
        replayed = from_json(json.dumps(old))
        assert replayed == dataclasses.replace(
            event, candidates=tuple(dataclasses.replace(c, reward_reasons=()) for c in event.candidates),
            fallback=tuple(dataclasses.replace(c, reward_reasons=()) for c in event.fallback))
        assert json.loads(to_json(event))["candidates"][0]["reward_reasons"] == list(event.candidates[0].reward_reasons)


def test_gsi_arithmetic_and_decisions_match_the_events(small, big, verifier, config):
    events = run("gsi", small, big, verifier, config)
    for event in events[1:-1]:
        c = event.candidates
        r = np.array([x.reward for x in c])
        ls, lb = np.array([x.logp_small for x in c]), np.array([x.logp_big for x in c])
        np.testing.assert_allclose([x.weight for x in c], softmax(config.beta * r + lb - ls), rtol=1e-9)
        np.testing.assert_allclose([x.tilted_reward for x in c], r + (lb - ls) / config.beta, rtol=1e-9)
        chosen = c[event.chosen]
        assert event.threshold == config.threshold
        assert event.decision == ("accepted" if chosen.tilted_reward >= config.threshold else "fallback")
        if event.decision == "fallback":
            assert len(event.fallback) == config.n and event.source == "big"
            assert all(f.source == "big" and f.logp_big is not None for f in event.fallback)
            np.testing.assert_allclose([f.weight for f in event.fallback],
                                       softmax(config.beta * np.array([f.reward for f in event.fallback])))
            assert event.text == event.fallback[event.fallback_chosen].text
        else:
            assert event.fallback == () and event.fallback_chosen is None and event.text == chosen.text


def test_gsi_threshold_extremes(small, big, verifier, config):
    always = run("gsi", small, big, verifier, config.replace(threshold=-math.inf))[-1]
    assert always.fallbacks == 0 and always.accepted == always.steps and always.tokens_big == 0
    never = run("gsi", small, big, verifier, config.replace(threshold=math.inf))[-1]
    assert never.accepted == 0 and never.fallbacks == never.steps and never.tokens_big > 0


def test_rsd_accepts_on_the_raw_reward(small, big, verifier, config):
    events = run("rsd", small, big, verifier, config.replace(rsd_threshold=0.5))
    for event in events[1:-1]:
        chosen = event.candidates[event.chosen]
        assert event.threshold == 0.5 and chosen.logp_big is None
        assert event.decision == ("accepted" if chosen.reward >= 0.5 else "fallback")


def test_best_of_n_picks_the_highest_reward(small, big, verifier, config):
    for event in run("bon-big", small, big, verifier, config)[1:-1]:
        rewards = [c.reward for c in event.candidates]
        assert event.chosen == rewards.index(max(rewards)) and event.candidates[event.chosen].weight == 1.0
        assert all(c.source == "big" for c in event.candidates)


def test_token_counts_add_up(small, big, verifier, config):
    events = run("gsi", small, big, verifier, config)
    steps, summary = events[1:-1], events[-1]
    drafted = sum(c.num_tokens for e in steps for c in e.candidates)
    assert summary.tokens_small == drafted and summary.tokens_scored_big == drafted
    assert summary.tokens_big == sum(c.num_tokens for e in steps for c in e.fallback)
    assert summary.accepted + summary.fallbacks == summary.steps


@pytest.mark.parametrize("name", ["gsi", "rsd", "sbon-small", "sample-big"])
def test_same_seed_same_events(name, small, big, verifier, config):
    first = without_times(run(name, small, big, verifier, config))
    again = without_times(run(name, small, big, verifier, config))
    other = without_times(run(name, small, big, verifier, config.replace(seed=config.seed + 1)))
    assert first == again and first != other


def test_empty_problem_and_unknown_method_are_refused_before_any_work(small, big, verifier, config):
    with pytest.raises(ValueError, match="the problem is empty"):
        run_method("gsi", "   ", small, big, verifier, config)
    with pytest.raises(ConfigError, match="unknown method 'gsj'; choose one of: gsi"):
        run_method("gsj", PROBLEM, small, big, verifier, config)


# --- stop rules, on scripted models ------------------------------------------------------------------------


@dataclasses.dataclass
class ScriptedModel:
    """Writes step k of a fixed script after k committed steps, and gives each draft a log-prob from its text."""

    script: list[str]
    name: str = "scripted"
    num_parameters: int = 1
    vocab: str = "scripted"

    def _draft(self, text, finish="step"):
        return Draft(text=text, token_ids=tuple(range(len(text.split()))), vocab=self.vocab,
                     logprob=-float(len(text)), finish_reason=finish)

    def draft(self, prompt, steps, n, *, temperature, max_tokens, seed, step_end):
        assert prompt.problem == PROBLEM
        text = self.script[len(steps)]
        finish = "eos" if text.endswith("<eos>") else "step"
        return [self._draft(text.removesuffix("<eos>"), finish) for _ in range(n)]

    def token_logprobs(self, prompt, steps, candidates, *, temperature):
        return [(-float(len(c.text)),) for c in candidates]


@pytest.mark.parametrize(
    "script, stop_reason, steps, answer",
    [
        (["12 / 60 = 0.2\n\n", "0.2 * 50 = 10\n\n", "So \\boxed{10}.\n\n", "never\n\n"], "answer", 3, "10"),
        (["12 / 60 = 0.2\n\n", "She earned 10 dollars.<eos>", "never\n\n"], "eos", 2, None),
        (["a\n\n", "b\n\n", "c\n\n", "d\n\n", "e\n\n", "f\n\n"], "max_steps", 4, None),
    ],
)
def test_runs_stop_at_an_answer_eos_or_the_step_cap(script, stop_reason, steps, answer, verifier, config):
    model = ScriptedModel(script)
    summary = list(run_method("gsi", PROBLEM, model, model, verifier, config))[-1]
    assert (summary.stop_reason, summary.steps, summary.answer) == (stop_reason, steps, answer)


def test_gsi_events_carry_per_token_logprobs_of_both_models_that_add_up_to_the_sums(small, big, verifier, config):
    events = run("gsi", small, big, verifier, config)
    steps = [e for e in events if isinstance(e, StepEvent)]
    for step in steps:
        for c in step.candidates:
            assert len(c.token_texts) == len(c.token_logprobs_small) == len(c.token_logprobs_big) == c.num_tokens
            assert "".join(c.token_texts) == c.text
            tolerance = 5e-5 * c.num_tokens + 1e-9  # each value is rounded to 4 digits
            assert sum(c.token_logprobs_small) == pytest.approx(c.logp_small, abs=tolerance)
            assert sum(c.token_logprobs_big) == pytest.approx(c.logp_big, abs=tolerance)
            assert all(round(v, 4) == v for v in c.token_logprobs_small + c.token_logprobs_big)
        # π_B's fallback drafts were not scored by π_S: no per-token values
        assert all(c.token_logprobs_small is None for c in step.fallback)
    # an export written before the per-token keys existed still loads, with None in their place
    old = [{k: v for k, v in to_dict(e).items()} for e in events]
    for data in old:
        for c in data.get("candidates", []) + data.get("fallback", []):
            for key in ("token_texts", "token_logprobs_small", "token_logprobs_big"):
                del c[key]
    replayed = [from_json(json.dumps(data)) for data in old]
    assert all(c.token_logprobs_big is None for e in replayed[1:-1] for c in e.candidates)
    assert [e.candidates[0].logp_big for e in replayed[1:-1]] == [e.candidates[0].logp_big for e in steps]


def test_methods_without_pi_b_scoring_carry_no_per_token_values(small, big, verifier, config):
    for name in ("rsd", "sbon-small"):
        steps = [e for e in run(name, small, big, verifier, config) if isinstance(e, StepEvent)]
        assert all(c.token_logprobs_small is c.token_logprobs_big is c.token_texts is None
                   for s in steps for c in s.candidates + s.fallback)


# --- n for each model, and the reward floor -------------------------------------------------------------------


@pytest.mark.parametrize("name, drafts, fallbacks", [("gsi", 2, 3), ("rsd", 2, 3), ("sbon-small", 2, 0),
                                                     ("sbon-big", 3, 0), ("bon-big", 3, 0)])
def test_n_small_counts_the_drafts_and_n_big_the_big_models_candidates(name, drafts, fallbacks, small, big, verifier,
                                                                       config):
    split = config.replace(n_small=2, n_big=3, threshold=math.inf, rsd_threshold=math.inf)  # every step falls back
    events = run(name, small, big, verifier, split)
    assert events[0].config["n_small"] == 2 and events[0].config["n_big"] == 3
    steps = events[1:-1]
    assert steps and all(len(e.candidates) == drafts and len(e.fallback) == fallbacks for e in steps)
    summary = events[-1]
    drafted = sum(c.num_tokens for e in steps for c in e.candidates)
    fallback_tokens = sum(c.num_tokens for e in steps for c in e.fallback)
    if name.endswith("-big"):
        assert (summary.tokens_small, summary.tokens_big) == (0, drafted)
    else:
        assert (summary.tokens_small, summary.tokens_big) == (drafted, fallback_tokens)


def test_n_small_and_n_big_default_to_n_and_are_checked():
    config = DecodingConfig(n=5)
    assert (config.candidates("small"), config.candidates("big")) == (5, 5)
    assert config.replace(n_big=2).candidates("big") == 2 and config.replace(n_big=2).candidates("small") == 5
    with pytest.raises(ConfigError, match="n_small must be a whole number from 1 to 128"):
        config.replace(n_small=0)
    with pytest.raises(ConfigError, match="reward_floor must be a number in \\[0, 1\\]"):
        config.replace(reward_floor=1.5)


def toy_run(name, world, **settings):
    small, big, reward = toy_parts(world)
    config = DecodingConfig(n=3, max_steps=1, **settings)
    return run_method(name, "toy", small, big, reward, config)


HOPELESS = ToyWorld("hopeless", (0.5, 0.5), (0.5, 0.5), (0.05, 0.08))
# π_S only drafts A (reward .5); π_B only drafts B (reward .05): a fallback meets the floor, a draft does not
HOPELESS_FALLBACK = ToyWorld("hopeless fallback", (1.0, 0.0), (0.0, 1.0), (0.5, 0.05))


@pytest.mark.parametrize("name", ["gsi", "rsd", "sbon-small", "sbon-big", "bon-small"])
def test_a_step_whose_best_reward_is_below_the_floor_ends_the_run_uncommitted(name):
    stopped = list(toy_run(name, HOPELESS, reward_floor=0.1))
    assert [type(e) for e in stopped] == [RunStarted, RunSummary]
    summary = stopped[-1]
    assert summary.stop_reason == "reward_floor" and summary.steps == 0 and summary.solution == ""
    assert summary.tokens_small + summary.tokens_big == 3 and summary.timings.reward > 0  # the work it did counts
    kept = list(toy_run(name, HOPELESS, reward_floor=0.08))  # the best reward, 0.08, is not below 0.08
    assert kept[-1].stop_reason == "eos" and kept[-1].steps == 1
    assert list(toy_run(name, HOPELESS))[-1].steps == 1  # no floor: never stops for it


def test_the_floor_also_applies_to_the_fallbacks_candidates():
    summary = list(toy_run("gsi", HOPELESS_FALLBACK, threshold=math.inf, reward_floor=0.1))[-1]
    assert summary.stop_reason == "reward_floor" and summary.steps == 0
    assert (summary.tokens_small, summary.tokens_big) == (3, 3) and summary.timings.fallback > 0
    accepted = list(toy_run("gsi", HOPELESS_FALLBACK, threshold=-math.inf, reward_floor=0.1))[-1]
    assert accepted.stop_reason == "eos" and accepted.solution == "Step A"


def _agree(a, b):
    """Equal, except floats within 1e-4 (relative above 1)."""
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= 1e-4 * max(1.0, abs(a))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_agree(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_agree(x, y) for x, y in zip(a, b))
    return a == b


@pytest.mark.parametrize("name, threshold", [("gsi", -1e9), ("gsi", 1e9), ("rsd", None), ("sbon-big", None),
                                             ("sbon-small", None)])
def test_kept_keys_and_values_change_no_decision_and_compute_no_token_twice(name, threshold, small, big, verifier,
                                                                          config):
    """Reusing the K/V a batched forward computed (instead of one forward of the committed step) changes the
    float rounding of later log-probs (last digits: a batched forward sums in another order), nothing else."""
    if threshold is not None:
        config = config.replace(threshold=threshold)
    kept = without_times(run(name, small, big, verifier, config))
    recomputed = {role: model.tokens_forwarded["recomputed"] for role, model in (("small", small), ("big", big))}
    for model in (small, big):
        model.forget_prefix()
        model.keep_computed = False
    again = without_times(run(name, small, big, verifier, config))
    assert _agree(kept, again) and len(kept) > 3
    assert recomputed == {"small": 0, "big": 0}
    assert small.tokens_forwarded["recomputed"] + big.tokens_forwarded["recomputed"] > 0
