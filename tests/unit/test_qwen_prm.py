"""The paper's PRM (Qwen2.5-Math-PRM) from transformers' own Qwen2 code: a tiny checkpoint in its exact layout loads
with no remote code, holds the saved weights, and scores steps through the same `ProcessRewardModel` path."""

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from gsi_core.config import ConfigError
from gsi_core.loading import load_reward
from gsi_core.qwen_prm import Qwen2ForProcessRewardModel
from gsi_core.rewards import ProcessRewardModel

from testkit.tiny import build_lm, save_vllm_prm

QUESTION = "Natalia sold 48 clips in April and half as many in May. How many clips did she sell?"
STEPS = ["In May she sold 48 / 2 = 24 clips.", "In total 48 + 24 = 72 clips. \\boxed{72}"]
REMOTE_CODE = "raise RuntimeError('the repository code ran')\n"


@pytest.fixture
def checkpoint(tmp_path, tokenizer):
    """A tiny Qwen2ForProcessRewardModel checkpoint as the hub ships the real one: config, safetensors named
    `model.*` / `score.0.*` / `score.2.*`, tokenizer, and repository code for `AutoConfig` and `AutoModel`, which
    must never run."""
    reference = save_vllm_prm(tokenizer, seed=5, path=tmp_path)
    for module in ("configuration_qwen2_rm", "modeling_qwen2_rm"):
        (tmp_path / f"{module}.py").write_text(REMOTE_CODE)
    config = json.loads((tmp_path / "config.json").read_text())
    config["auto_map"] = {"AutoConfig": "configuration_qwen2_rm.Qwen2RMConfig",
                          "AutoModel": "modeling_qwen2_rm.Qwen2ForProcessRewardModel"}
    (tmp_path / "config.json").write_text(json.dumps(config))
    return tmp_path, reference


def model_card_rewards(reference, tokenizer, steps):
    """The model card's recipe on the reference module, with the checkpoint's tokenizer: steps joined by
    <extra_0> in the chat format, the positive class's probability at each <extra_0>."""
    messages = [
        {"role": "system", "content": "Please reason step by step, and put your final answer within \\boxed{}."},
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": "<extra_0>".join(steps) + "<extra_0>"},
    ]
    ids = tokenizer.encode(tokenizer.apply_chat_template(messages, tokenize=False), add_special_tokens=False)
    positive = reference.positive_probabilities(ids)
    return positive[torch.tensor(ids) == tokenizer.convert_tokens_to_ids("<extra_0>")].tolist()


def test_the_checkpoint_layout_is_the_papers(checkpoint):
    path, _ = checkpoint
    names = set(load_file(path / "model.safetensors"))
    assert json.loads((path / "config.json").read_text())["architectures"] == ["Qwen2ForProcessRewardModel"]
    assert {"score.0.weight", "score.0.bias", "score.2.weight", "score.2.bias"} <= names
    assert all(name.startswith(("model.", "score.")) for name in names)


@pytest.mark.parametrize("trust_remote_code", [False, True])
def test_it_loads_with_no_remote_code_and_scores_steps_as_the_model_card_does(checkpoint, trust_remote_code):
    path, reference = checkpoint
    prm = load_reward({"kind": "prm", "model": str(path), "dtype": "float32", "trust_remote_code": trust_remote_code})
    assert isinstance(prm, ProcessRewardModel) and type(prm.model) is Qwen2ForProcessRewardModel
    loaded = prm.model.state_dict()
    assert all(torch.equal(loaded[name], tensor) for name, tensor in reference.state_dict().items())
    rewards = prm.score(QUESTION, STEPS)
    assert rewards == pytest.approx(model_card_rewards(reference, prm.tokenizer, STEPS), abs=1e-5)
    assert len(set(rewards)) == 2 and all(0 < r < 1 for r in rewards)
    scored = prm.score_candidates(QUESTION, STEPS[:1], [STEPS[1], "  "])
    assert [s.reward for s in scored] == pytest.approx([rewards[1], 0.0], abs=1e-5)


def test_a_checkpoint_without_the_score_head_fails_to_load(checkpoint):
    path, _ = checkpoint
    weights = load_file(path / "model.safetensors")
    save_file({k: v for k, v in weights.items() if not k.startswith("score.")}, path / "model.safetensors")
    with pytest.raises(OSError, match="not a Qwen2ForProcessRewardModel checkpoint.*score"):
        load_reward({"kind": "prm", "model": str(path)})


def test_another_architecture_needs_an_explicit_opt_in_for_its_repository_code(tmp_path, tokenizer):
    build_lm(tokenizer, seed=1).save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    with pytest.raises(ConfigError, match="Qwen2ForCausalLM; set trust_remote_code: true"):
        load_reward({"kind": "prm", "model": str(tmp_path)})
