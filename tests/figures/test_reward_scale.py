"""The u slider's help: the loaded reward's range, and the room β·(r − u) that u leaves π_B on that scale."""

import pytest

from gsi_core.config import load_presets
from gsi_core.judge import judge_scale
from gsi_core.loading import load_reward
from gsi_core.rewards import StepTokenPRM, StepVerifier
from gsi_ui.reward_scale import threshold_help, threshold_info
from gsi_ui.runs import ModelStore

SCALE = StepVerifier.scale


def test_the_slider_info_gives_the_rewards_range_and_no_evidence_value():
    info = threshold_info(SCALE)
    assert "0.25–0.83" in info and "no evidence 0.50" in info


def test_the_help_gives_the_room_at_each_point_of_the_scale():
    text = threshold_help("step-verifier", SCALE, 0.4, 20)
    for value in (*SCALE.typical, SCALE.neutral):
        assert f"(r = {value:.2f}) {20 * (value - 0.4):+.1f}" in text
    assert SCALE.meaning in text and "`step-verifier`" in text


@pytest.mark.parametrize("threshold, beta, says", [
    (0.5, 20, "u sits at the no-evidence value"),
    (0.9, 20, "above the typical range"),
    (0.1, 20, "below the typical range"),
    (0.4, 0, "With β = 0 the reward decides nothing"),
])
def test_the_help_says_where_u_sits(threshold, beta, says):
    assert says in threshold_help("step-verifier", SCALE, threshold, beta)


def test_the_store_knows_the_scale_before_the_models_load():
    for preset in load_presets().values():
        store = ModelStore(preset)
        if preset.reward.kind == "judge":  # its model is a step model, loaded with the others
            expected = judge_scale(preset.reward.verifier)
        else:
            expected = load_reward(preset.reward).scale if preset.reward.model is None else StepTokenPRM.scale
        assert store.loader.value is None and store.reward_scale == expected
        low, high = store.reward_scale.typical
        assert low < preset.decoding.threshold < high  # every preset sets u inside its reward's range
