"""Bf16 storage with fp32 compute (what an AVX2-only CPU loads with int8 decoding on): from a bf16 checkpoint it
holds the linear weights in half of fp32's memory and drafts and scores exactly as the fp32 weights do."""

import torch
from transformers import AutoModelForCausalLM

from gsi_core.bf16_storage import Bf16StoredLinear
from gsi_core.config import ModelSpec
from gsi_core.loading import load_step_model
from gsi_core.models import TransformersStepModel
from gsi_core.vocabulary import Prompt

from testkit.tiny import build_lm

QUESTION = "Natalia sold 48 clips in April and half as many in May. How many clips did she sell?"
PROMPT = Prompt(QUESTION)


def bf16_checkpoint(tokenizer, path):
    model = build_lm(tokenizer, seed=1).to(torch.bfloat16)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return str(path)


def linear_bytes(model) -> int:
    return sum(m.weight.numel() * m.weight.element_size() for m in model.modules() if isinstance(m, torch.nn.Linear))


def test_fp32_with_int8_decoding_stores_the_linear_weights_in_bf16_and_computes_the_same(tokenizer, tmp_path):
    path = bf16_checkpoint(tokenizer, tmp_path / "bf16")
    stored = load_step_model(ModelSpec(model=path, dtype="float32", int8_decode=True))
    plain = TransformersStepModel(AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval(),
                                  stored.tokenizer, int8_decode=True)  # the tokenizer as saved, as both load it
    linears = [m for m in stored.model.modules() if isinstance(m, torch.nn.Linear)]
    assert linears and all(isinstance(m, Bf16StoredLinear) and m.weight.dtype == torch.bfloat16 for m in linears)
    assert stored.model.dtype == torch.float32 and stored.model.model.norm.weight.dtype == torch.float32
    assert linear_bytes(stored.model) * 2 == linear_bytes(plain.model)
    ids = torch.tensor([tokenizer.encode(QUESTION)])
    with torch.no_grad():
        assert torch.equal(stored.model(input_ids=ids).logits, plain.model(input_ids=ids).logits)
    # drafting (the loaded weights' prefill and first token, then the int8 copy) and scoring: the same, bit for bit
    drafts = stored.draft(PROMPT, [], 4, temperature=0.7, max_tokens=12, seed=3)
    assert drafts == plain.draft(PROMPT, [], 4, temperature=0.7, max_tokens=12, seed=3)
    assert stored.logprobs(PROMPT, [], drafts, temperature=0.7) == plain.logprobs(PROMPT, [], drafts, temperature=0.7)


def test_without_int8_decoding_or_from_an_fp32_checkpoint_the_weights_load_as_asked(tokenizer, tmp_path):
    bf16 = bf16_checkpoint(tokenizer, tmp_path / "bf16")
    fp32 = tmp_path / "fp32"
    build_lm(tokenizer, seed=1).save_pretrained(fp32)
    tokenizer.save_pretrained(fp32)
    for spec in (ModelSpec(model=bf16, dtype="float32"), ModelSpec(model=str(fp32), dtype="float32", int8_decode=True)):
        model = load_step_model(spec).model
        assert not any(isinstance(m, Bf16StoredLinear) for m in model.modules())
        assert {p.dtype for p in model.parameters()} == {torch.float32}
