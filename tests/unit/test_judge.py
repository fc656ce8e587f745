"""The judge reward on tiny models: P(Yes) read from the right tokens, the cached prefix reused, the verifier's cap,
refusals with a clear message, and its spec."""

import statistics
from pathlib import Path

import pytest
import torch

from gsi_core.config import ConfigError, DecodingConfig, Preset, ModelSpec, RewardSpec
from gsi_core.evaluation import RunDirectory, reward_settings
from gsi_core.events import StepEvent
from gsi_core.judge import DEFAULT_QUESTION, MEASURED_RANGE, JudgeReward, odds_product
from gsi_core.loading import load_components, load_reward, reward_scale
from gsi_core.methods import run_method
from gsi_core.models import TransformersStepModel
from gsi_core.rewards import CalibratedVerifier
from gsi_core.vocabulary import Prompt

from testkit.tiny import build_lm, build_tokenizer

FRONTIER = Path(__file__).parents[2] / "assets" / "frontier" / "gsm8k-offline-cpu"
QUESTION = "Tom has 3 boxes of 12 pens. He gives away 5 pens. How many pens does he have left?"


@pytest.fixture(scope="module")
def judge_tokenizer():
    """The tiny tokenizer with "Yes" and "No" as tokens of their own, as in Qwen's vocabulary."""
    tokenizer = build_tokenizer(vocab_size=400)
    tokenizer.add_tokens(["Yes", "No"])
    return tokenizer


@pytest.fixture
def judged(judge_tokenizer):
    return TransformersStepModel(build_lm(judge_tokenizer, seed=2, step_bias=4.0), judge_tokenizer, name="tiny-judge")


def drafted(model, n=3, steps=1):
    """A prefix of `steps` drafted steps and n drafts after it, of differing lengths."""
    prompt, previous = Prompt(QUESTION), []
    for index in range(steps):
        previous.append(model.draft(prompt, previous, 1, temperature=1.0, max_tokens=10, seed=index)[0])
    drafts = model.draft(prompt, previous, n, temperature=1.0, max_tokens=10, seed=99)
    assert len({len(d.token_ids) for d in drafts}) > 1, "the test needs rows of different lengths"
    return prompt, previous, drafts


def direct_p_yes(model, prompt, previous, draft, suffix, yes, no):
    """P(Yes) ÷ (P(Yes) + P(No)) from one plain forward of the whole text, no cache."""
    ids = [*model.prefix_ids(prompt, previous), *model.step_ids(draft), *suffix]
    with torch.inference_mode():
        logits = model.model(input_ids=torch.tensor([ids], device=model.device)).logits[0, -1].float()
    p = torch.softmax(logits, dim=-1)
    return float(p[yes] / (p[yes] + p[no]))


def test_p_yes_is_read_at_each_rows_last_token_as_a_full_forward_reads_it(judged):
    prompt, previous, drafts = drafted(judged)
    judge = JudgeReward(judged, verifier="none")
    assert judged.tokenizer.convert_ids_to_tokens([judge.yes, judge.no]) == ["Yes", "No"]
    suffix = judged.tokenizer.decode(judge.suffix)
    assert suffix.startswith("<|im_end|>") and DEFAULT_QUESTION in suffix and suffix.endswith("<|im_start|>assistant\n")
    scored = judge.score_drafts(prompt, previous, drafts)
    expected = [direct_p_yes(judged, prompt, previous, d, judge.suffix, judge.yes, judge.no) for d in drafts]
    assert [s.reward for s in scored] == pytest.approx(expected, abs=1e-4)
    assert len({round(s.reward, 6) for s in scored}) == len(drafts)  # the drafts are told apart
    assert all(s.reasons[0].startswith("judge: P(Yes)") for s in scored)


class ForwardedTokens:
    """Counts the token positions every forward of the model's decoder computes, per call."""

    def __init__(self, model: TransformersStepModel):
        self.calls: list[tuple[int, int]] = []
        self.handle = model.model.get_decoder().register_forward_pre_hook(self.record, with_kwargs=True)

    def record(self, module, args, kwargs):
        self.calls.append(tuple((kwargs.get("input_ids") if kwargs.get("input_ids") is not None else args[0]).shape))


def test_the_judge_forwards_only_the_drafts_and_the_question_and_leaves_the_prefix_cached(judged):
    prompt, previous, drafts = drafted(judged, steps=2)
    judge = JudgeReward(judged, verifier="none")
    judged.token_logprobs(prompt, previous, drafts, temperature=1.0)  # π_B scores the drafts: its prefix is cached
    counter = ForwardedTokens(judged)
    try:
        judge.score_drafts(prompt, previous, drafts)
        judged.token_logprobs(prompt, previous, drafts, temperature=1.0)
    finally:
        counter.handle.remove()
    widest = max(len(d.token_ids) for d in drafts)
    # one batched forward of n rows of draft + question, then the scoring's own rows: no prefix recomputed
    assert counter.calls == [(len(drafts), widest + len(judge.suffix)), (len(drafts), widest - 1)]


def test_a_false_claim_caps_the_judges_reward_and_the_calibrated_verifiers_odds_multiply(judged):
    steps = ["He has 3 * 12 = 38 pens.\n\n", "He has 3 * 12 = 36 pens.\n\n", ""]
    plain = JudgeReward(judged, verifier="none").score_candidates(QUESTION, [], steps)
    capped = JudgeReward(judged, verifier="step-verifier").score_candidates(QUESTION, [], steps)
    assert capped[0].reward == min(plain[0].reward, 0.25) and "3 * 12 = 38 ✗" in capped[0].reasons
    assert capped[1].reward == plain[1].reward and "3 * 12 = 36 ✓" in capped[1].reasons
    assert capped[2].reward == 0.0 and "empty step" in capped[2].reasons
    calibrated = CalibratedVerifier().score_candidates(QUESTION, [], steps)
    combined = JudgeReward(judged).score_candidates(QUESTION, [], steps)  # the default
    for judge, verifier, both in zip(plain, calibrated, combined):  # odds multiply
        assert both.reward / (1 - both.reward) == pytest.approx(
            judge.reward / (1 - judge.reward) * verifier.reward / (1 - verifier.reward), rel=1e-6)
        assert both.reasons == (*judge.reasons, *verifier.reasons)


def test_a_gsi_run_with_the_judge_on_pi_b_books_its_time_to_the_reward_stage(judged, judge_tokenizer):
    small = TransformersStepModel(build_lm(judge_tokenizer, seed=1, step_bias=4.0), judge_tokenizer, name="tiny-small")
    reward = load_reward({"kind": "judge"}, {"small": small, "big": judged})
    assert reward.model is judged and reward.name == "judge-big"
    config = DecodingConfig(n=4, max_steps=3, max_step_tokens=12, seed=7)
    steps = [e for e in run_method("gsi", QUESTION, small, judged, reward, config) if isinstance(e, StepEvent)]
    assert steps and all(e.timings.reward > 0 for e in steps)
    rewards = [c.reward for e in steps for c in e.candidates]
    assert all(0 <= r <= 1 for r in rewards) and len(set(rewards)) > 1
    assert all(c.reward_reasons[0].startswith("judge: P(Yes)") for e in steps for c in e.candidates)


def test_a_vocabulary_without_yes_and_no_tokens_is_refused_at_load(tokenizer, big):
    assert len(tokenizer.encode("Yes", add_special_tokens=False)) > 1
    with pytest.raises(ConfigError, match=r"needs 'Yes' and 'No' as single tokens, but 'tiny-big' encodes 'Yes'"):
        load_reward({"kind": "judge"}, {"big": big})
    with pytest.raises(ConfigError, match="asks the loaded π_S: load the models first"):
        load_reward({"kind": "judge", "judge": "small"}, {"big": big})


def test_judge_specs_parse_round_trip_and_refuse_bad_settings():
    assert RewardSpec.from_config("judge") == RewardSpec("judge")
    assert RewardSpec.from_config("judge").to_config() == {"kind": "judge", "judge": "big"}
    spec = RewardSpec.from_config({"kind": "judge", "judge": "small", "question": "Right?", "verifier": "none"})
    assert (spec.judge, spec.question, spec.verifier) == ("small", "Right?", "none")
    assert RewardSpec.from_config(spec.to_config()) == spec
    assert RewardSpec.from_config("step-verifier").to_config() == {"kind": "step-verifier"}
    for bad, message in (({"judge": "prm"}, "one of the loaded models"),
                         ({"verifier": True}, "one of calibrated-verifier, step-verifier, none"),
                         ({"question": " "}, "non-empty"), ({"model": "x"}, "takes judge, question and verifier")):
        with pytest.raises(ConfigError, match=message):
            RewardSpec.from_config({"kind": "judge", **bad})


def test_a_preset_judging_with_pi_b_loads_no_second_copy(tmp_path, judge_tokenizer):
    path = tmp_path / "judged"
    build_lm(judge_tokenizer, seed=2).save_pretrained(path)
    judge_tokenizer.save_pretrained(path)
    preset = Preset("tiny-judge", ModelSpec(str(path)), ModelSpec(str(path)), RewardSpec("judge"))
    parts = load_components(preset)
    assert parts.reward.model is parts.big and parts.reward.model is not parts.small


def test_the_default_judges_scale_is_the_range_its_drafts_span_on_the_offline_pair(judged):
    """The u slider's help quotes this range, so it is recomputed from the committed frontier's judge runs."""
    rewards, default = [], reward_settings(RewardSpec("judge"))
    for directory in map(RunDirectory, FRONTIER.glob("*/*")):
        if (directory.info() or {}).get("settings", {}).get("reward") != default:
            continue
        for run in directory.saved_events().values():
            rewards += [c.reward for step in run.steps for c in (*step.candidates, *step.fallback)]
    assert len(rewards) > 2000
    percentiles = statistics.quantiles(rewards, n=20)
    assert (percentiles[0], percentiles[-1]) == pytest.approx(MEASURED_RANGE, abs=0.02)
    scale = JudgeReward(judged).scale
    assert scale == reward_scale(RewardSpec("judge")) and scale.typical == MEASURED_RANGE
    assert scale.neutral == pytest.approx(odds_product(0.5, CalibratedVerifier().scale.neutral))  # a coin-flip judge
    assert JudgeReward(judged, verifier="none").scale.typical == (0.0, 1.0)  # no measured range: a probability's
