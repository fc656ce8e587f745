"""Bf16 storage, fp32 compute: where a CPU computes in fp32 (AVX2 only, no native bf16) and int8 copies serve
decoding, the loaded weights serve only prefill and scoring, which are compute-bound. A checkpoint stored in bf16
then loads in bf16 (half of fp32's memory), and each linear layer upcasts its weight to fp32 as it runs: a bf16
value is exactly an fp32 one, so every product, and every log-prob, is the same as with fp32 weights, bit for bit.
See docs/memory.md."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch.nn import functional


class Bf16StoredLinear(torch.nn.Linear):
    """A linear layer whose weight is kept in bf16 and multiplied in the input's dtype."""

    @classmethod
    def from_linear(cls, linear: torch.nn.Linear) -> "Bf16StoredLinear":
        stored = cls.__new__(cls)
        torch.nn.Module.__init__(stored)
        stored.in_features, stored.out_features = linear.in_features, linear.out_features
        stored.weight = torch.nn.Parameter(linear.weight.detach().to(torch.bfloat16), requires_grad=False)
        stored.bias = linear.bias
        return stored

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bias = None if self.bias is None else self.bias.to(x.dtype)
        return functional.linear(x, self.weight.to(x.dtype), bias)


def stored_in_bf16(path: str) -> bool:
    """Whether the checkpoint at `path` (a local directory) keeps its weights in bf16, by its config."""
    config = Path(path) / "config.json"
    if not config.is_file():
        return False
    fields = json.loads(config.read_text())
    return (fields.get("dtype") or fields.get("torch_dtype")) == "bfloat16"


def compute_in_fp32(model: torch.nn.Module) -> torch.nn.Module:
    """A model loaded in bf16, made to compute in fp32: its linear layers keep bf16 weights (`Bf16StoredLinear`),
    every other parameter and buffer (embeddings, norms, biases, rotary tables) becomes fp32. In place."""
    linears = [(name, module) for name, module in model.named_modules() if type(module) is torch.nn.Linear]
    shared = {id(p) for module in model.modules() if type(module) is not torch.nn.Linear
              for p in module.parameters(recurse=False)}  # a head tied to the embedding computes in fp32 with it
    for name, linear in linears:
        if id(linear.weight) not in shared:
            parent, _, child = name.rpartition(".")
            model.get_submodule(parent).register_module(child, Bf16StoredLinear.from_linear(linear))
    stored = {id(m.weight) for m in model.modules() if isinstance(m, Bf16StoredLinear)}
    for tensor in (*model.parameters(), *model.buffers()):
        if tensor.is_floating_point() and id(tensor) not in stored:
            tensor.data = tensor.data.float()
    model.config.dtype = torch.float32
    return model
