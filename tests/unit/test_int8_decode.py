"""Int8 decoding: drafted log-probs are those of the weights that drafted, close to the full-precision model,
deterministic under a seed, and the same with the plain product where the int8 kernel is unavailable."""

import pytest
import torch
from transformers import Qwen2ForCausalLM

from gsi_core import int8, models
from gsi_core.int8 import DECODE_DTYPE, Int8Linear, int8_decoder
from gsi_core.models import Prompt, TransformersStepModel

from testkit.tiny import _config

PROMPT = Prompt("Natalia sold clips to 48 of her friends in April. How many clips did she sell?")
T = 0.7


@pytest.fixture
def fast(small):
    return TransformersStepModel(small.model, small.tokenizer, name="tiny-small-int8", int8_decode=True)


def draft(model, n=8, seed=0, max_tokens=20):
    return model.draft(PROMPT, [], n, temperature=T, max_tokens=max_tokens, seed=seed)


def rescore_on_decoder(model: TransformersStepModel, token_ids: tuple[int, ...]) -> tuple[list[float], float]:
    """Each token's log-prob as the drafting model gives it, from one teacher-forced forward (not token by token):
    the first from the prefix's logits, the rest from the decoder on the bf16 prefix cache. Also the largest
    |logit| the decoder produced."""
    state = model._advance(model.prefix_ids(PROMPT, []))
    values = [float(models._log_softmax(state.next_logits, T)[token_ids[0]])]
    cache = model._for_decoder(model._expanded(state.cache, 1))
    with torch.inference_mode():
        out = model.decoder(input_ids=torch.tensor([token_ids[:-1]]), past_key_values=cache, use_cache=True)
    logits = out.logits[0]
    logp = models._log_softmax(logits, T).gather(1, torch.tensor(token_ids[1:])[:, None]).squeeze(1)
    return values + logp.tolist(), float(logits.float().abs().max())


def bf16_step(value: float) -> float:
    """The spacing of bf16 numbers near `value` (8 significant bits)."""
    return 2.0 ** (torch.tensor(value).abs().log2().floor().item() - 7)


def test_drafted_logprobs_equal_a_rescore_by_the_same_weights(fast):
    """The tolerance: the decoder's logits are bf16, so the same tokens computed in another batch shape (one
    teacher-forced forward here, one token at a time when drafting) may land on a neighbouring bf16 value; a
    logit moved by one bf16 step δ moves a log-prob by at most 2δ/T (the token's own logit and the log-sum-exp)."""
    checked = 0
    for seed in range(3):
        for d in draft(fast, seed=seed):
            if len(d.token_ids) < 2:
                continue
            rescored, largest = rescore_on_decoder(fast, d.token_ids)
            tolerance = 2 * bf16_step(largest) / T
            assert d.token_logprobs[0] == pytest.approx(rescored[0], abs=1e-5)  # the loaded model's prefix logits
            assert d.token_logprobs == pytest.approx(rescored, abs=tolerance)
            checked += 1
    assert checked >= 10


def test_int8_drafts_stay_close_to_the_full_precision_model(fast, small):
    """Against the loaded float32 weights scoring the same tokens: the int8 weights (relative rounding ≤ 1/254
    per weight) and bf16 activations move the tiny model's log-probs by at most 0.11 nats per token here (its
    logits reach ±15, where a bf16 step is 0.0625); 0.3 per token and 0.05 on average leave room for other
    seeds, while a wrong scale or a transposed weight moves them by nats."""
    drafts = [d for seed in range(3) for d in draft(fast, seed=seed)]
    reference = small.token_logprobs(PROMPT, [], drafts, temperature=T)
    differences = [abs(a - b) for d, ref in zip(drafts, reference) for a, b in zip(d.token_logprobs, ref)]
    assert max(differences) <= 0.3 and sum(differences) / len(differences) <= 0.05
    assert max(differences) > 0  # the int8 copy really drafted


def test_int8_drafting_and_rollouts_are_deterministic_under_a_seed(fast):
    first, again, other = draft(fast, seed=4), draft(fast, seed=4), draft(fast, seed=5)
    assert [(d.token_ids, d.token_logprobs) for d in first] == [(d.token_ids, d.token_logprobs) for d in again]
    assert [d.token_ids for d in first] != [d.token_ids for d in other]
    rollouts = [fast.complete(PROMPT, [], first[:2], 2, temperature=T, max_tokens=10, seed=3) for _ in range(2)]
    first_rollouts, again_rollouts = ([[d.token_logprobs for d in row] for row in r] for r in rollouts)
    assert first_rollouts == again_rollouts


def test_the_plain_product_stands_in_when_the_kernel_is_unavailable(fast, monkeypatch):
    x = torch.randn(5, 64, dtype=DECODE_DTYPE)
    layer = Int8Linear(torch.nn.Linear(64, 48))
    with_kernel = layer(x)

    def missing(*args):
        raise RuntimeError("no int8 kernel for this CPU")

    monkeypatch.setattr(int8, "_int8_kernel", missing)
    int8.int8_kernel_available.cache_clear()
    try:
        assert not int8.int8_kernel_available()
        without = layer(x)
        assert without.dtype == with_kernel.dtype and without.shape == with_kernel.shape
        assert without.float() == pytest.approx(with_kernel.float(), abs=2 * bf16_step(float(with_kernel.abs().max())))
        for d in draft(fast, seed=1):  # drafting runs, and its log-probs are still its own weights'
            if len(d.token_ids) >= 2:
                rescored, largest = rescore_on_decoder(fast, d.token_ids)
                assert d.token_logprobs == pytest.approx(rescored, abs=2 * bf16_step(largest) / T)
    finally:
        int8.int8_kernel_available.cache_clear()


def test_the_decoder_holds_int8_linears_and_bf16_rest_and_leaves_the_model_alone(tokenizer):
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(_config(tokenizer, tie_word_embeddings=True)).eval()
    before = {name: p.clone() for name, p in model.state_dict().items()}
    decoder = int8_decoder(model)
    assert isinstance(decoder.lm_head, Int8Linear) and decoder.lm_head.weight.dtype == torch.int8  # tied head too
    assert decoder.model.embed_tokens.weight.dtype == DECODE_DTYPE
    assert all(p.dtype == DECODE_DTYPE for p in decoder.parameters())
    assert not any(isinstance(m, torch.nn.Linear) for m in decoder.modules())
    assert all(torch.equal(before[name], p) and p.dtype == torch.float32 for name, p in model.state_dict().items())
    assert model.lm_head.weight is model.model.embed_tokens.weight  # still tied
