"""Tiny, locally built tokenizers and transformers models: real code paths, seconds to build, no downloads."""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
from gsi_core.data import BENCHMARKS_DIR
from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM, Qwen2ForTokenClassification

REPO = Path(__file__).resolve().parents[1]
# Tests run on the CPU; GSI_TEST_DEVICE=cuda runs the same tiny models on a GPU.
DEVICE = torch.device(os.environ.get("GSI_TEST_DEVICE", "cpu"))
BENCHMARKS = BENCHMARKS_DIR
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<extra_0>"]
CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def gsm8k_rows(limit: int | None = None) -> list[dict]:
    rows = []
    with open(BENCHMARKS / "gsm8k.jsonl") as f:
        for line in f:
            rows.append(json.loads(line))
            if limit and len(rows) >= limit:
                break
    return rows


def corpus(offset: int, count: int) -> list[str]:
    """GSM8K questions and solutions, solution lines separated by blank lines as our steps are."""
    texts = []
    for row in gsm8k_rows(offset + count)[offset:]:
        texts.append(row["question"])
        texts.append("\n\n".join(row["answer"].split("\n")) + " \\boxed{" + row["answer"].split("####")[-1].strip() + "}")
    return texts


def build_tokenizer(vocab_size: int, offset: int = 0) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer trained on a GSM8K slice, with ChatML special tokens and chat template."""
    tokenizer = Tokenizer(models.BPE())
    # Like Qwen's, keep a blank line together so "\n\n" can become one token.
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(r"\n\n"), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False),
    ])
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=SPECIALS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tokenizer.train_from_iterator(corpus(offset, 200), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, eos_token="<|im_end|>", pad_token="<|endoftext|>",
        additional_special_tokens=["<|im_start|>", "<extra_0>"],
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def _config(tokenizer: PreTrainedTokenizerFast, **extra) -> Qwen2Config:
    return Qwen2Config(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096, tie_word_embeddings=False,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, **extra,
    )


def build_long_lm(tokenizer: PreTrainedTokenizerFast, seed: int) -> Qwen2ForCausalLM:
    """A random model with sharp logits and EOS made unlikely: its steps mostly run to the token cap, so a run
    lasts until its step cap (for tests that stop a run midway). Saved and loaded like any checkpoint."""
    model = build_lm(tokenizer, seed)
    with torch.no_grad():
        model.lm_head.weight.mul_(50)
        model.lm_head.weight[tokenizer.eos_token_id] = 0
    return model


def build_lm(tokenizer: PreTrainedTokenizerFast, seed: int, step_bias: float = 0.0) -> Qwen2ForCausalLM:
    """A random 2-layer Qwen2 causal LM in float32. `step_bias` > 0 adds a bias toward tokens that end a step
    (those holding a blank line, and EOS) so drafts end naturally rather than at the token cap; such a model
    lives in memory only (the bias is not part of the Qwen2 checkpoint format)."""
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(_config(tokenizer)).eval()
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    if step_bias:
        head = torch.nn.Linear(model.config.hidden_size, len(tokenizer), bias=True)
        head.weight.data.copy_(model.lm_head.weight.data * 20)
        head.bias.data.zero_()
        for token_id in range(len(tokenizer)):
            if "\n\n" in tokenizer.decode([token_id]):
                head.bias.data[token_id] = step_bias
        head.bias.data[tokenizer.eos_token_id] = step_bias - 2.0
        model.lm_head = head
    return model.to(DEVICE)


def build_prm(tokenizer: PreTrainedTokenizerFast, seed: int) -> Qwen2ForTokenClassification:
    """A random model with the Qwen2.5-Math-PRM head shape: two logits (negative, positive) per token."""
    torch.manual_seed(seed)
    return Qwen2ForTokenClassification(_config(tokenizer, num_labels=2)).eval().to(DEVICE)
