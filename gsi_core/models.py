"""Causal LMs as step models: draft n candidate steps in one batch, and score given steps in one forward.

Temperature. Both models' log-probabilities are those of the temperature-T distributions
softmax(logits / T): the distribution π_S is actually sampled from, and the same transform applied to π_B
when it scores the drafts (and when it samples its fallback steps). No top-k/top-p truncation is applied, so
log π_B − log π_S compares the two distributions the algorithm really uses.

KV cache. Each model keeps the cache of the last prefix it saw (prompt + committed steps). A request whose
prefix extends it computes the new tokens only, and the n candidates start from copies of it, so a step
costs in proportion to the step, not to the whole solution.

Int8 decoding (optional, CPU). Decode-sized forwards (one new token for each of a few rows: drafting, π_B's
fallback, rollouts) read every weight once per token, so they are bound by memory traffic. `int8_decoder` builds a
second copy of the model for them: every linear layer (the output head too) as per-output-channel int8 weights,
everything else bf16, activations bf16. Prefill and scoring keep the loaded weights. The drafting model is then:
the loaded model for the prefix (its K/V rounded to bf16) and the first token, the int8 copy for every later
token; the log-probs a draft carries are those of exactly that distribution, the one its tokens were sampled from.
"""

from __future__ import annotations

import copy
import hashlib
import json
import functools
import threading
from dataclasses import dataclass
from typing import Callable, Sequence

import torch
from transformers import DynamicCache, PreTrainedModel, PreTrainedTokenizerBase

# Prompt, Draft, StepModel and STEP_END live in the torch-free vocabulary; importable from here as before.
from .vocabulary import STEP_END, Draft, Prompt, StepModel  # noqa: F401

# Upper bound on logits held at once while scoring (rows × tokens × vocab), to keep n=16 × long steps in memory.
_SCORING_LOGITS_BUDGET = 64_000_000


def vocab_fingerprint(tokenizer: PreTrainedTokenizerBase) -> str:
    """Identifies a vocabulary: two models with the same fingerprint can exchange token ids directly."""
    items = sorted(tokenizer.get_vocab().items())
    return hashlib.sha1(json.dumps(items, ensure_ascii=False).encode()).hexdigest()[:16]


@dataclass
class _PrefixState:
    ids: tuple[int, ...]
    cache: DynamicCache  # covers every id in `ids`
    next_logits: torch.Tensor  # [vocab] logits for the token after `ids`


def _log_softmax(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    return torch.log_softmax(logits.float() / temperature, dim=-1)


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


class TokenizedStepModel:
    """What every backend shares: the chat prompt's token ids, a step's ids in this vocabulary, and the decoded
    piece of a token. The in-process and the vLLM backend derive from it, so both send a model the same ids."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase, name: str, extra_eos: int | Sequence[int] | None = None):
        """`extra_eos`: the generation config's EOS id or ids (one int, a list, or None), besides the tokenizer's."""
        self.tokenizer = tokenizer
        self.name = name
        self.vocab = vocab_fingerprint(tokenizer)
        eos = [extra_eos] if isinstance(extra_eos, int) else list(extra_eos or [])
        if tokenizer.eos_token_id is not None:
            eos.append(tokenizer.eos_token_id)
        self.eos_ids = frozenset(eos)
        self._prompt_ids: dict[Prompt, tuple[int, ...]] = {}
        self._piece_text: dict[int, str] = {}

    def prompt_ids(self, prompt: Prompt) -> tuple[int, ...]:
        if prompt not in self._prompt_ids:
            messages = [{"role": "system", "content": prompt.system}, {"role": "user", "content": prompt.problem}]
            text = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            # Only the current problem's ids are kept: a run asks for them at every step, other problems rarely.
            self._prompt_ids = {prompt: tuple(self.tokenizer.encode(text, add_special_tokens=False))}
        return self._prompt_ids[prompt]

    def step_ids(self, step: Draft) -> tuple[int, ...]:
        """The step's ids in this model's vocabulary: as drafted when shared, else its text re-tokenized."""
        if step.vocab == self.vocab:
            return step.token_ids
        return tuple(self.tokenizer.encode(step.text, add_special_tokens=False))

    def prefix_ids(self, prompt: Prompt, steps: Sequence[Draft]) -> tuple[int, ...]:
        ids = list(self.prompt_ids(prompt))
        for step in steps:
            ids.extend(self.step_ids(step))
        return tuple(ids)

    def _piece(self, token_id: int) -> str:
        if token_id not in self._piece_text:
            self._piece_text[token_id] = self.tokenizer.decode([token_id])
        return self._piece_text[token_id]

    def token_texts(self, token_ids: Sequence[int], text: str) -> tuple[str, ...]:
        """The text each token adds to the decoded step `text`. Usually each token's own piece; where those do not
        join to the text (a character split over tokens, a tokenizer that merges spaces), a character belongs to
        the token that completes it."""
        special = set(self.tokenizer.all_special_ids)
        pieces = tuple("" if t in special else self._piece(t) for t in token_ids)
        if "".join(pieces) == text:
            return pieces
        pieces, shown = [], 0
        for end in range(1, len(token_ids) + 1):
            decoded = self.tokenizer.decode(token_ids[:end], skip_special_tokens=True)
            if decoded.endswith("\ufffd") and end < len(token_ids):
                pieces.append("")
                continue
            pieces.append(decoded[shown:])
            shown = len(decoded)
        return tuple(pieces)

    def _draft(self, token_ids: Sequence[int], token_logprobs: Sequence[float], finish_reason: str) -> Draft:
        text = self.tokenizer.decode(token_ids, skip_special_tokens=True)
        return Draft(text=text, token_ids=tuple(token_ids), vocab=self.vocab, logprob=float(sum(token_logprobs)),
                     finish_reason=finish_reason, token_logprobs=tuple(token_logprobs),
                     token_texts=self.token_texts(token_ids, text))

    def logprobs(
        self, prompt: Prompt, steps: Sequence[Draft], candidates: Sequence[Draft], *, temperature: float
    ) -> list[float]:
        """log π(candidate | prefix) of each candidate: the sum of its `token_logprobs`."""
        return [float(sum(values)) for values in self.token_logprobs(prompt, steps, candidates, temperature=temperature)]


class TransformersStepModel(TokenizedStepModel):
    """A transformers causal LM behind the `StepModel` calls."""

    def __init__(self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, name: str | None = None,
                 int8_decode: bool = False):
        """`int8_decode`: decode-sized forwards run on an `int8_decoder` copy (see the module's docstring)."""
        eos = model.generation_config.eos_token_id if model.generation_config else None
        super().__init__(tokenizer, name or getattr(model, "name_or_path", None) or type(model).__name__, eos)
        self.model = model.eval()
        self.num_parameters = sum(p.numel() for p in model.parameters())
        # The model that computes one new token per row; `model` itself unless int8 decoding is on.
        self.decoder = int8_decoder(model) if int8_decode else self.model
        self._lock = threading.Lock()
        self._prefix: _PrefixState | None = None

    @property
    def device(self) -> torch.device:
        return self.model.device

    # --- the cached prefix ---------------------------------------------------------------------------------
    def forget_prefix(self) -> None:
        """Drop the cached prefix, so the next call computes its whole prefix (what a cold step costs)."""
        with self._lock:
            self._prefix = None

    def _advance(self, ids: tuple[int, ...]) -> _PrefixState:
        """Bring the cached prefix to `ids`, computing only the tokens the cache does not already hold.

        A prefix that does not extend the cached one (a new problem or run) starts a fresh cache rather than
        cropping the old one: the prompt is short, and a replay then repeats the same float arithmetic, so the
        same seed gives bit-identical events."""
        state = self._prefix
        if state is not None and state.ids == ids:
            return state
        if state is not None and len(state.ids) < len(ids) and ids[: len(state.ids)] == state.ids:
            cache, new = state.cache, ids[len(state.ids):]
        else:
            cache, new = DynamicCache(config=self.model.config), ids
        out = self.model(input_ids=torch.tensor([new], device=self.device), past_key_values=cache,
                         use_cache=True, logits_to_keep=1)
        self._prefix = _PrefixState(ids, out.past_key_values, out.logits[0, -1].float())
        return self._prefix

    @staticmethod
    def _expanded(cache: DynamicCache, rows: int) -> DynamicCache:
        copied = copy.deepcopy(cache)
        if rows > 1:
            copied.batch_repeat_interleave(rows)
        return copied

    def _for_decoder(self, cache: DynamicCache) -> DynamicCache:
        """The cache in the decoder's dtype (the int8 decoder attends in bf16), converted in place."""
        return cache_in_dtype(cache, self.decoder.dtype)

    def _sample(
        self, cache: DynamicCache, logits: torch.Tensor, *, temperature: float, max_tokens: int, seed: int,
        stop: Callable[[str, str], bool], stop_reason: str,
        attention: torch.Tensor | None = None, positions: torch.Tensor | None = None,
    ) -> list[Draft]:
        """Sample one continuation per row of `logits` (the next-token logits after `cache`) on the decoder.
        A row ends at EOS, when `stop(text so far, last token's text)` holds (finish reason `stop_reason`), or
        after `max_tokens` tokens; finished rows leave the batch, so the others run cheaper. `attention` and
        `positions` ([rows, cache length] and [rows], for right-padded rows) are carried along when given."""
        rows = logits.shape[0]
        cache = self._for_decoder(cache)
        generator = torch.Generator(device=self.device).manual_seed(seed)
        tokens: list[list[int]] = [[] for _ in range(rows)]
        token_logprobs: list[list[float]] = [[] for _ in range(rows)]
        text = [""] * rows
        finish = ["length"] * rows
        active = list(range(rows))
        while True:
            logp = _log_softmax(logits, temperature)
            chosen = torch.multinomial(logp.exp(), 1, generator=generator).squeeze(1)
            chosen_logp = logp.gather(1, chosen[:, None]).squeeze(1).tolist()
            still = []
            for k, (row, token) in enumerate(zip(active, chosen.tolist())):
                tokens[row].append(token)
                token_logprobs[row].append(chosen_logp[k])
                piece = self._piece(token)
                text[row] += piece
                if token in self.eos_ids:
                    finish[row] = "eos"
                elif stop(text[row], piece):
                    finish[row] = stop_reason
                elif len(tokens[row]) < max_tokens:
                    still.append(k)
            if not still:
                break
            if len(still) < len(active):
                keep = torch.tensor(still, device=self.device)
                cache.batch_select_indices(keep)
                chosen = chosen[keep]
                if attention is not None:
                    attention, positions = attention[keep], positions[keep]
            active = [active[k] for k in still]
            extra = {}
            if attention is not None:
                attention = torch.cat([attention, attention.new_ones((len(active), 1))], dim=1)
                extra = {"attention_mask": attention, "position_ids": positions[:, None]}
                positions = positions + 1
            out = self.decoder(input_ids=chosen[:, None], past_key_values=cache, use_cache=True, **extra)
            cache, logits = out.past_key_values, out.logits[:, -1]
        return [self._draft(ids, lps, reason) for ids, lps, reason in zip(tokens, token_logprobs, finish)]

    # --- the two calls -------------------------------------------------------------------------------------
    @torch.inference_mode()
    def draft(
        self, prompt: Prompt, steps: Sequence[Draft], n: int, *, temperature: float, max_tokens: int, seed: int
    ) -> list[Draft]:
        """Sample n steps in one batch; each stops after the first token that completes a blank line, at EOS,
        or after `max_tokens` tokens. Finished rows leave the batch, so the others run cheaper."""
        with self._lock:
            state = self._advance(self.prefix_ids(prompt, steps))
            logits = state.next_logits.unsqueeze(0).expand(n, -1)
            # A blank line may span two tokens: look at the last character before this token's text too.
            return self._sample(self._expanded(state.cache, n), logits, temperature=temperature,
                                max_tokens=max_tokens, seed=seed, stop_reason="step",
                                stop=lambda text, piece: STEP_END in text[-len(piece) - 1:])

    @torch.inference_mode()
    def token_logprobs(
        self, prompt: Prompt, steps: Sequence[Draft], candidates: Sequence[Draft], *, temperature: float
    ) -> list[tuple[float, ...]]:
        """log π(token | prefix, earlier tokens) for each token of each candidate, all candidates in one batched
        forward (split into row chunks only when the logits would not fit the memory budget)."""
        with self._lock:
            state = self._advance(self.prefix_ids(prompt, steps))
            sequences = [self.step_ids(c) for c in candidates]
            first = _log_softmax(state.next_logits, temperature)
            values: list[tuple[float, ...]] = [(float(first[s[0]]),) if s else () for s in sequences]
            width = max((len(s) for s in sequences), default=0) - 1  # the last token's logits are not needed
            if width <= 0:
                return values
            vocab = state.next_logits.shape[-1]
            rows_per_chunk = max(1, _SCORING_LOGITS_BUDGET // (width * vocab))
            for start in range(0, len(sequences), rows_per_chunk):
                chunk = sequences[start : start + rows_per_chunk]
                # Right padding needs no mask: under causal attention real tokens never see the pads after them.
                inputs = torch.zeros((len(chunk), width), dtype=torch.long, device=self.device)
                targets = torch.zeros_like(inputs)
                for r, seq in enumerate(chunk):
                    inputs[r, : len(seq) - 1] = torch.tensor(seq[:-1])
                    targets[r, : len(seq) - 1] = torch.tensor(seq[1:])
                cache = self._expanded(state.cache, len(chunk))
                logits = self.model(input_ids=inputs, past_key_values=cache, use_cache=True).logits
                logp = _log_softmax(logits, temperature).gather(-1, targets[..., None]).squeeze(-1).tolist()
                for r, seq in enumerate(chunk):
                    values[start + r] += tuple(logp[r][: len(seq) - 1])
            return values

    @torch.inference_mode()
    def complete(
        self, prompt: Prompt, steps: Sequence[Draft], continuations: Sequence[Draft], k: int, *,
        temperature: float, max_tokens: int, seed: int, stop: Callable[[str], bool] = lambda text: False,
    ) -> list[list[Draft]]:
        """k sampled completions of each continuation of the prefix, to the end of the solution, all
        `len(continuations)·k` rows in one batch: what labels a step Math-Shepherd style (the share of its
        completions that reach the gold answer). A row ends at EOS, when `stop(text so far)` holds (a complete
        boxed answer, say) or after `max_tokens` tokens.

        The prefix is computed once; the continuations, of different lengths, follow it right-padded, and the
        pads are masked out (attention mask and explicit positions), so each row sees exactly prefix + its
        continuation."""
        with self._lock:
            prefix = self.prefix_ids(prompt, steps)
            state = self._advance(prefix)
            sequences = [self.step_ids(c) for c in continuations for _ in range(k)]
            rows, width = len(sequences), max((len(s) for s in sequences), default=0)
            cache = self._expanded(state.cache, rows)
            attention = torch.ones((rows, len(prefix) + width), dtype=torch.long, device=self.device)
            logits = state.next_logits.unsqueeze(0).repeat(rows, 1)
            if width:
                inputs = torch.zeros((rows, width), dtype=torch.long, device=self.device)
                for r, seq in enumerate(sequences):
                    inputs[r, : len(seq)] = torch.tensor(seq, dtype=torch.long)
                    attention[r, len(prefix) + len(seq):] = 0
                positions = torch.arange(len(prefix), len(prefix) + width, device=self.device).expand(rows, -1)
                hidden = self.model.get_decoder()(input_ids=inputs, attention_mask=attention, position_ids=positions,
                                                  past_key_values=cache, use_cache=True)
                cache = hidden.past_key_values
                ends = [len(seq) - 1 for seq in sequences]
                grown = [r for r, end in enumerate(ends) if end >= 0]
                last = hidden.last_hidden_state[grown, [ends[r] for r in grown]]
                logits[grown] = self.model.get_output_embeddings()(last).float()
            next_position = torch.tensor([len(prefix) + len(s) for s in sequences], device=self.device)
            drafts = self._sample(cache, logits, temperature=temperature, max_tokens=max_tokens, seed=seed,
                                  stop=lambda text, piece: stop(text), stop_reason="stop",
                                  attention=attention, positions=next_position)
        return [drafts[i * k : (i + 1) * k] for i in range(len(continuations))]

    @torch.inference_mode()
    def next_token_logits(
        self, prompt: Prompt, steps: Sequence[Draft], continuations: Sequence[Sequence[int]], tokens: Sequence[int]
    ) -> torch.Tensor:
        """[rows, len(tokens)] float32 logits of `tokens` as the token after prefix + each continuation (ids in
        this vocabulary, at least one each), all rows in one batched forward from the cached prefix: only the
        continuations' tokens are computed, and the cached prefix is left as it was (what a judge reward reads its
        answer from). The logits come from the final hidden state in float32: in bf16, two answers' logits tie
        where they differ by less than bf16 resolves. Right padding needs no mask under causal attention."""
        if any(not ids for ids in continuations):
            raise ValueError("every continuation needs at least one token")
        with self._lock:
            state = self._advance(self.prefix_ids(prompt, steps))
            rows, width = len(continuations), max((len(ids) for ids in continuations), default=0)
            if not rows:
                return torch.empty((0, len(tokens)))
            inputs = torch.zeros((rows, width), dtype=torch.long, device=self.device)
            for r, ids in enumerate(continuations):
                inputs[r, : len(ids)] = torch.tensor(list(ids), dtype=torch.long)
            hidden = self.model.get_decoder()(input_ids=inputs, past_key_values=self._expanded(state.cache, rows),
                                              use_cache=True).last_hidden_state
            last = hidden[torch.arange(rows), [len(ids) - 1 for ids in continuations]].float()
            head = self.model.get_output_embeddings()
            chosen = torch.tensor(list(tokens), device=self.device)
            bias = None if head.bias is None else head.bias[chosen].float()
            return torch.nn.functional.linear(last, head.weight[chosen].float(), bias).cpu()
