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


def _config(tokenizer: PreTrainedTokenizerFast, **overrides) -> Qwen2Config:
    settings = dict(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096, tie_word_embeddings=False,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )
    return Qwen2Config(**{**settings, **overrides})


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


# --- checkpoints a vLLM server on the CPU can serve: its CPU attention needs a head size of 64 -----------------


def _vllm_config(tokenizer: PreTrainedTokenizerFast, **extra) -> Qwen2Config:
    return _config(tokenizer, hidden_size=128, num_attention_heads=2, num_key_value_heads=1, head_dim=64, **extra)


def save_vllm_lm(tokenizer: PreTrainedTokenizerFast, seed: int, path: Path, step_bias: float = 0.0) -> Path:
    """A random Qwen2 causal LM with sharpened logits, saved with its tokenizer as a checkpoint both
    transformers and vLLM load. Qwen2's head has no bias, so `step_bias` is built into the weights: one hidden
    channel carries a constant (every embedding holds it, no layer writes to it), and the head reads it only
    for the tokens that end a step, so those get the same extra logit at every position."""
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(_vllm_config(tokenizer)).eval()
    with torch.no_grad():
        model.lm_head.weight.mul_(20)
        if step_bias:
            channel = 0
            model.model.embed_tokens.weight[:, channel] = 1.0
            for layer in model.model.layers:
                layer.self_attn.o_proj.weight[channel] = 0
                layer.mlp.down_proj.weight[channel] = 0
            ends = [t for t in range(len(tokenizer)) if "\n\n" in tokenizer.decode([t])] + [tokenizer.eos_token_id]
            model.lm_head.weight[:, channel] = 0
            # After the final RMSNorm the channel holds 1 / rms(embedding), about 13 here: divide it out.
            scale = float(model.model.norm(model.model.embed_tokens.weight[:1])[0, channel])
            model.lm_head.weight[ends, channel] = step_bias / scale
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


class TinyProcessRewardModel(torch.nn.Module):
    """The Qwen2ForProcessRewardModel layout vLLM serves (Qwen2.5-Math-PRM): a Qwen2 body and a two-layer
    head giving [negative, positive] logits per token. Also the torch reference the tests compare with."""

    def __init__(self, config: Qwen2Config):
        super().__init__()
        from transformers import Qwen2Model

        self.model = Qwen2Model(config)
        self.score = torch.nn.Sequential(torch.nn.Linear(config.hidden_size, config.hidden_size), torch.nn.ReLU(),
                                         torch.nn.Linear(config.hidden_size, 2))

    @torch.inference_mode()
    def positive_probabilities(self, input_ids: list[int]) -> torch.Tensor:
        hidden = self.model(input_ids=torch.tensor([input_ids])).last_hidden_state[0]
        return torch.softmax(self.score(hidden), dim=-1)[:, 1]


def save_vllm_prm(tokenizer: PreTrainedTokenizerFast, seed: int, path: Path) -> TinyProcessRewardModel:
    from safetensors.torch import save_file

    torch.manual_seed(seed)
    config = _vllm_config(tokenizer, num_labels=2)
    config.architectures = ["Qwen2ForProcessRewardModel"]
    prm = TinyProcessRewardModel(config).eval()
    path.mkdir(parents=True, exist_ok=True)
    config.save_pretrained(path)
    save_file({name: tensor.contiguous() for name, tensor in prm.state_dict().items()}, path / "model.safetensors")
    tokenizer.save_pretrained(path)
    return prm
