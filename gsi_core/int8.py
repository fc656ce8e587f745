"""Int8 decoding (optional, CPU). Decode-sized forwards (one new token for each of a few rows: drafting, π_B's
fallback, rollouts) read every weight once per token, so they are bound by memory traffic. `int8_decoder` builds a
second copy of the model for them: every linear layer (the output head too) as per-output-channel int8 weights,
everything else bf16, activations bf16. Prefill and scoring keep the loaded weights. The drafting model is then:
the loaded model for the prefix (its K/V rounded to bf16) and the first token, the int8 copy for every later
token; the log-probs a draft carries are those of exactly that distribution, the one its tokens were sampled from.
"""

from __future__ import annotations

import copy
import functools

import torch
from transformers import DynamicCache, PreTrainedModel

DECODE_DTYPE = torch.bfloat16  # the int8 decoder's activations, norms and embeddings
_int8_kernel = getattr(torch.ops.aten, "_weight_int8pack_mm", None)


@functools.cache
def int8_kernel_available() -> bool:
    """Whether torch's private CPU kernel `_weight_int8pack_mm` runs here and agrees with the plain product.

    A private op, used because no maintained route is faster on these CPUs: torchao 0.18's int8 weight-only
    tensor converts the int8 weight to the activation dtype at every call (measured here: slower than plain
    bf16 weights). It may be missing or refuse a dtype in another torch release; then the plain product runs."""
    if _int8_kernel is None:
        return False
    generator = torch.Generator().manual_seed(0)  # leaves torch's global random state alone
    x = torch.randn(3, 64, generator=generator).to(DECODE_DTYPE)
    weight = torch.randint(-127, 128, (40, 64), generator=generator, dtype=torch.int8)
    scale = (torch.rand(40, generator=generator) / 100).to(DECODE_DTYPE)
    try:
        fast = _int8_kernel(x, weight, scale)
    except (RuntimeError, NotImplementedError):
        return False
    return bool(torch.allclose(fast.float(), _int8_product(x, weight, scale).float(), rtol=2e-2, atol=1e-2))


def _int8_product(x: torch.Tensor, weight: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return (x @ weight.to(x.dtype).t()) * scale


def int8_weight_matmul(x: torch.Tensor, weight: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """x @ (scale · weight)ᵀ for a 2-D `x`, int8 `weight` [out, in] and per-row `scale` [out]: the one place
    the private kernel is called, with the same product through a dequantized weight where it is unavailable."""
    if int8_kernel_available():
        return _int8_kernel(x, weight, scale)
    return _int8_product(x, weight, scale)


class Int8Linear(torch.nn.Module):
    """A linear layer with symmetric per-output-channel int8 weights, for decode-sized inputs."""

    ROWS_AT_ONCE = 4096  # quantized a block of rows at a time: a float copy of a whole output head is ~1 GB

    def __init__(self, linear: torch.nn.Linear):
        super().__init__()
        weight = linear.weight.detach()
        scale = weight.abs().amax(dim=1).float().clamp(min=1e-12) / 127
        quantized = torch.empty(weight.shape, dtype=torch.int8, device=weight.device)
        for start in range(0, weight.shape[0], self.ROWS_AT_ONCE):
            rows = slice(start, start + self.ROWS_AT_ONCE)
            quantized[rows] = torch.round(weight[rows].float() / scale[rows, None]).to(torch.int8)
        self.register_buffer("weight", quantized)
        self.register_buffer("scale", scale.to(DECODE_DTYPE))
        self.register_buffer("bias", None if linear.bias is None else linear.bias.detach().to(DECODE_DTYPE))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = int8_weight_matmul(x.reshape(-1, x.shape[-1]), self.weight, self.scale)
        if self.bias is not None:
            out = out + self.bias
        return out.reshape(*x.shape[:-1], out.shape[-1])


def cache_in_dtype(cache: DynamicCache, dtype: torch.dtype) -> DynamicCache:
    """A K/V cache converted in place to the dtype of the decoder that will attend to it."""
    for layer in cache.layers:
        if layer.is_initialized and layer.keys.dtype != dtype:
            layer.keys, layer.values, layer.dtype = layer.keys.to(dtype), layer.values.to(dtype), dtype
    return cache


def int8_decoder(model: PreTrainedModel) -> PreTrainedModel:
    """A copy of `model` for decode-sized forwards: linear layers int8 (`Int8Linear`), other parameters bf16.
    Built parameter by parameter, so it never holds a second full-precision copy (the weights of a linear
    layer that nothing else shares are left out of the copy and quantized straight from the original)."""
    linears = {name: module for name, module in model.named_modules() if isinstance(module, torch.nn.Linear)}
    shared = {id(p) for module in model.modules() if not isinstance(module, torch.nn.Linear)
              for p in module.parameters(recurse=False)}
    memo: dict[int, torch.nn.Parameter] = {}
    for module in model.modules():
        for parameter in module.parameters(recurse=False):
            if isinstance(module, torch.nn.Linear) and id(parameter) not in shared:
                memo[id(parameter)] = torch.nn.Parameter(torch.empty(0), requires_grad=False)
            else:
                memo[id(parameter)] = torch.nn.Parameter(parameter.detach().to(DECODE_DTYPE), requires_grad=False)
    decoder = copy.deepcopy(model, memo)
    for name, linear in linears.items():
        parent, _, child = name.rpartition(".")
        setattr(decoder.get_submodule(parent), child, Int8Linear(linear))
    return decoder.eval()
