"""Int8 decoding is for CPUs: a preset that asks for it is ignored, with a message, where its model loads on a GPU,
and a step model built by hand on another device refuses it. The CPU side of what tests/gpu checks on CUDA."""

import pytest
import torch
from transformers import Qwen2ForCausalLM

from gsi_core.config import ModelSpec
from gsi_core.loading import int8_decode_applies
from gsi_core.models import TransformersStepModel

from testkit.tiny import _config


@pytest.mark.parametrize("device", ["cuda", "cuda:1", "mps"])
def test_a_preset_asking_for_int8_decoding_is_ignored_off_the_cpu_with_a_message(capsys, device):
    spec = ModelSpec(model="offline:qwen2.5-coder-0.5b-instruct-q4_k_m", int8_decode=True)
    assert not int8_decode_applies(spec, torch.device(device))
    message = capsys.readouterr().err
    assert f"qwen2.5-coder-0.5b-instruct-q4_k_m: int8_decode ignored on {device}: it runs on CPUs only" in message
    assert "decoding uses the loaded" in message


def test_on_the_cpu_it_applies_and_nothing_is_said(capsys):
    assert int8_decode_applies(ModelSpec(model="m", int8_decode=True), torch.device("cpu"))
    assert not int8_decode_applies(ModelSpec(model="m"), torch.device("cpu"))
    assert not int8_decode_applies(ModelSpec(model="m"), torch.device("cuda"))
    assert capsys.readouterr().err == ""


def test_a_step_model_off_the_cpu_refuses_int8_decoding(tokenizer):
    with torch.device("meta"):  # a model that lives off the CPU, with no weights and no accelerator
        model = Qwen2ForCausalLM(_config(tokenizer))
    with pytest.raises(ValueError, match="int8_decode runs on CPUs only .* this model is on meta"):
        TransformersStepModel(model, tokenizer, int8_decode=True)
    assert TransformersStepModel(model, tokenizer).decoder is model  # without it, the model decodes itself
