"""predict_run_seconds against the engine itself: the tokens it prices are the tokens the models forwarded."""

import dataclasses

import pytest

from gsi_core import run_method
from gsi_core.cost_model import (JUDGE_SUFFIX_TOKENS, TokenCosts, Workload, gsi_step_seconds, predict_run_seconds,
                                 sbon_big_step_seconds)
from gsi_core.judge import JudgeReward
from gsi_core.models import TransformersStepModel
from gsi_core.run import Run
from gsi_core.vocabulary import Prompt
from testkit.tiny import build_lm, build_tokenizer

PROBLEM = "Weng earns $12 an hour for babysitting. Yesterday, she just did 50 minutes of babysitting. How much did she earn?"
NOTHING = TokenCosts(small_decode=0.0, big_decode=0.0, big_scoring=0.0)


def priced(**costs) -> TokenCosts:
    return dataclasses.replace(NOTHING, **costs)


CASES = [("gsi", -1e9), ("gsi", 1e9), ("rsd", None), ("sbon-big", None), ("sbon-small", None)]


@pytest.mark.parametrize("name, threshold", CASES)
@pytest.mark.parametrize("keep", [True, False])
def test_prefix_tokens_priced_are_those_each_model_forwarded(name, threshold, keep, small, big, verifier, config):
    if threshold is not None:
        config = config.replace(threshold=threshold)
    for model in (small, big):
        model.keep_computed = keep
    run = Run.of(run_method(name, PROBLEM, small, big, verifier, config))
    prompt = len(small.prompt_ids(Prompt(PROBLEM, config.system_prompt)))
    for role, model in (("small", small), ("big", big)):
        predicted = predict_run_seconds(run, priced(**{f"{role}_commit": 1.0}), prompt_tokens=prompt, recomputes=not keep)
        assert predicted["total"] == model.tokens_forwarded["prefix"], role


@pytest.mark.parametrize("name, threshold", CASES)
def test_a_judge_is_priced_as_the_forwards_it_makes_on_its_model(name, threshold, config, monkeypatch):
    tokenizer = build_tokenizer(vocab_size=400)
    tokenizer.add_tokens(["Yes", "No"])  # the judge reads them as tokens of their own, as in Qwen's vocabulary
    small, big = (TransformersStepModel(build_lm(tokenizer, seed=seed, step_bias=4.0), tokenizer, name=name)
                  for seed, name in ((1, "tiny-small"), (2, "tiny-big")))
    judge = JudgeReward(big, verifier="none", label="judge-big")
    judged = []  # rows × width of every judge forward
    forward = big.next_token_logits
    monkeypatch.setattr(big, "next_token_logits", lambda prompt, steps, rows, tokens: (
        judged.append(len(rows) * max(map(len, rows))), forward(prompt, steps, rows, tokens))[1])
    if threshold is not None:
        config = config.replace(threshold=threshold)
    run = Run.of(run_method(name, PROBLEM, small, big, judge, config))
    assert judged, "the judge was never asked"
    prompt = len(big.prompt_ids(Prompt(PROBLEM, config.system_prompt)))
    suffix = {"prompt_tokens": prompt, "judge_suffix_tokens": len(judge.suffix)}
    prefix = predict_run_seconds(run, priced(big_commit=1.0), **suffix)
    assert prefix["total"] == big.tokens_forwarded["prefix"]  # π_B's prefix forwards, the judge's among them
    checked = predict_run_seconds(run, priced(big_scoring=1.0), **suffix)
    assert checked["reward"] + checked["fallback"] == sum(judged)


def test_decoding_is_priced_per_iteration_over_the_rows_still_writing(small, big, verifier, config):
    run = Run.of(run_method("gsi", PROBLEM, small, big, verifier, config.replace(threshold=1e9)))
    per_row_token = predict_run_seconds(run, priced(small_decode=1.0, big_decode=1.0))
    assert per_row_token["drafting"] == run.summary.tokens_small and per_row_token["fallback"] == run.summary.tokens_big
    # a one-row iteration costing as much as a whole batch's: each iteration is priced as a full batch
    flat = predict_run_seconds(run, priced(small_decode=1.0, small_decode_single=config.n))
    iterations = sum(max(c.num_tokens for c in step.candidates) for step in run.steps)
    assert flat["drafting"] == pytest.approx(config.n * iterations)
    scoring = predict_run_seconds(run, priced(big_scoring=1.0, big_commit_step=0.5))
    widths = [max(c.num_tokens for c in step.candidates) - 1 for step in run.steps]
    assert scoring["scoring"] == pytest.approx(sum(config.n * w + 0.5 for w in widths if w > 0)
                                               + 0.5 * len(run.steps))  # and one prefix forward a step
    assert scoring["total"] == pytest.approx(sum(v for k, v in scoring.items() if k != "total"))


def test_the_step_formulas_price_what_a_kept_cache_saves():
    costs = TokenCosts(small_decode=0.01, big_decode=0.03, big_scoring=0.01, reward=0.001, small_commit=0.002,
                       big_commit=0.006, small_commit_step=0.02, big_commit_step=0.06)
    kept, recomputing = Workload(4, 4, 40.0), Workload(4, 4, 40.0, 1.0, 1.0)
    for acceptance in (0.0, 0.5, 1.0):
        saved = gsi_step_seconds(costs, recomputing, acceptance) - gsi_step_seconds(costs, kept, acceptance)
        assert saved == pytest.approx(39 * (acceptance * costs.small_commit + costs.big_commit))
    assert sbon_big_step_seconds(costs, recomputing) - sbon_big_step_seconds(costs, kept) == pytest.approx(39 * 0.006)


def test_a_judge_adds_its_batched_forward_over_the_candidates_and_its_question_to_each_steps_rewards():
    costs = TokenCosts(small_decode=0.01, big_decode=0.03, big_scoring=0.01, reward=0.001, big_commit_step=0.06)
    plain, judged = Workload(4, 2, 40.0), Workload(4, 2, 40.0, judge="big")
    judge = {n: costs.scoring_call_seconds(n * (40.0 + JUDGE_SUFFIX_TOKENS)) for n in (2, 4)}
    assert sbon_big_step_seconds(costs, judged) - sbon_big_step_seconds(costs, plain) == pytest.approx(judge[2])
    for acceptance in (0.0, 0.5, 1.0):
        added = gsi_step_seconds(costs, judged, acceptance) - gsi_step_seconds(costs, plain, acceptance)
        assert added == pytest.approx(judge[4] + (1 - acceptance) * judge[2])
