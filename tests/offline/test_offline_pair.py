"""Smoke test on the real offline default: Qwen2.5-Coder 0.5B drafts, 1.5B verifies, the step verifier rewards.

Slow (a minute or two; the first run also joins and converts the GGUF weights). Deselect with
`-m "not offline_pair"` while iterating; CI runs it.
"""

import math

import pytest

from gsi_core import run_method
from gsi_core.config import get_preset
from gsi_core.loading import load_components
from gsi_core.offline_weights import OFFLINE_WEIGHTS

from testkit.tiny import gsm8k_rows

pytestmark = pytest.mark.offline_pair


@pytest.fixture(scope="module")
def offline():
    return load_components(get_preset("offline-cpu"))


def test_the_offline_pair_shares_one_vocabulary(offline):
    assert offline.small.vocab == offline.big.vocab  # drafted ids are scored as they are, no re-tokenizing
    assert len(offline.small.tokenizer) == len(offline.big.tokenizer) > 150_000
    assert 4e8 < offline.small.num_parameters < offline.big.num_parameters < 2e9
    assert {w.name for w in OFFLINE_WEIGHTS.values()} == {offline.small.name, offline.big.name}


def test_two_gsi_steps_on_a_gsm8k_problem(offline):
    problem = gsm8k_rows(1)[0]["question"]
    config = get_preset("offline-cpu").decoding.replace(max_steps=2, max_step_tokens=48, seed=0)
    events = list(run_method("gsi", problem, offline.small, offline.big, offline.reward, config))
    steps, summary = events[1:-1], events[-1]
    assert 1 <= len(steps) <= 2 and summary.steps == len(steps)
    for event in steps:
        assert len(event.candidates) == config.candidates("small") and event.decision in ("accepted", "fallback")
        for c in event.candidates:
            assert c.num_tokens >= 1 and c.text
            assert math.isfinite(c.logp_small) and math.isfinite(c.logp_big) and c.logp_small < 0 and c.logp_big < 0
            assert 0.0 <= c.reward <= 1.0 and c.reward_reasons[0].startswith("judge: P(Yes)")  # the default's judge
        assert event.timings.drafting > 0 and event.timings.scoring > 0
    # a real instruct model writes readable English about the problem, not byte soup
    assert any(word in summary.solution.lower() for word in ("egg", "janet", "duck", "step"))
