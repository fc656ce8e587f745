"""Causal LMs as step models: draft n candidate steps in one batch, and score given steps in one forward.

Temperature. Both models' log-probabilities are those of the temperature-T distributions
softmax(logits / T): the distribution π_S is actually sampled from, and the same transform applied to π_B
when it scores the drafts (and when it samples its fallback steps). No top-k/top-p truncation is applied, so
log π_B − log π_S compares the two distributions the algorithm really uses.

KV cache. Each model keeps the cache of the last prefix it saw (prompt + committed steps). A request whose
prefix extends it computes the new tokens only, and the n candidates start from views of it (no copy), so a step
costs in proportion to the step, not to the whole solution. No token is computed twice: the keys and values a
batched forward computed past the prefix (a row's drafted tokens, or the candidates it scored) are kept per row
until the prefix moves, and the committed step's row is reused, so only the step's last token (never forwarded
while it was sampled or scored) is computed when the prefix grows by it. A model that never saw the committed
step (π_S after π_B's fallback) computes it. `tokens_forwarded` counts, per kind, what prefix forwards computed.

Int8 decoding (optional, CPU): decode-sized forwards can run on an int8 copy of the model (`gsi_core.int8`);
prefill and scoring keep the loaded weights. A committed draft keeps the K/V its int8 forwards computed: later
steps attend to those, as the drafting did.
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Sequence

import torch
from transformers import DynamicCache, PreTrainedModel, PreTrainedTokenizerBase

# Prompt, Draft, StepModel and STEP_END live in the torch-free vocabulary; importable from here as before.
from .vocabulary import STEP_END, Draft, Prompt, StepModel  # noqa: F401
# The int8 decoder's parts live in int8.py; importable from here as before.
from .int8 import DECODE_DTYPE, Int8Linear, cache_in_dtype, int8_decoder, int8_kernel_available  # noqa: F401

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


@dataclass
class _KeptRow:
    """One row of a batched forward past the cached prefix: the ids it covers (prefix + the row's tokens whose
    K/V it computed) and, per layer, those tokens' keys and values (None when kept K/V is switched off)."""

    ids: tuple[int, ...]
    layers: list[tuple[torch.Tensor, torch.Tensor]] | None


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    length = 0
    for x, y in zip(a, b):
        if x != y:
            break
        length += 1
    return length


def _log_softmax(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    return torch.log_softmax(logits.float() / temperature, dim=-1)


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
        """`int8_decode`: decode-sized forwards run on an `int8_decoder` copy (see the module's docstring); CPU
        only, refused for a model elsewhere."""
        if int8_decode and model.device.type != "cpu":
            raise ValueError(f"int8_decode runs on CPUs only (torch's int8 weight kernel is a CPU kernel); this model "
                             f"is on {model.device}: leave int8_decode off there")
        eos = model.generation_config.eos_token_id if model.generation_config else None
        super().__init__(tokenizer, name or getattr(model, "name_or_path", None) or type(model).__name__, eos)
        self.model = model.eval()
        self.num_parameters = sum(p.numel() for p in model.parameters())
        # The model that computes one new token per row; `model` itself unless int8 decoding is on.
        self.decoder = int8_decoder(model) if int8_decode else self.model
        self._lock = threading.Lock()
        self._prefix: _PrefixState | None = None
        self._rows: list[_KeptRow] = []  # rows computed past `_prefix` since it was set
        # Off: every committed step is computed again by the prefix forward (the engine before K/V was kept).
        self.keep_computed = True
        # Tokens the prefix forwards computed: "prefix" all of them, "recomputed" those this model had computed
        # before (in a row past the same prefix) and computed again.
        self.tokens_forwarded: Counter[str] = Counter()

    @property
    def device(self) -> torch.device:
        return self.model.device

    # --- the cached prefix ---------------------------------------------------------------------------------
    def forget_prefix(self) -> None:
        """Drop the cached prefix, so the next call computes its whole prefix (what a cold step costs)."""
        with self._lock:
            self._prefix, self._rows = None, []

    def _advance(self, ids: tuple[int, ...]) -> _PrefixState:
        """Bring the cached prefix to `ids`, computing only the tokens the cache (or a kept row) does not hold.

        A prefix that does not extend the cached one (a new problem or run) starts a fresh cache rather than
        cropping the old one: the prompt is short, and a replay then repeats the same float arithmetic, so the
        same seed gives bit-identical events."""
        state = self._prefix
        if state is not None and state.ids == ids:
            return state
        seen = 0  # how far a row computed past the cached prefix agrees with `ids`
        if state is not None and len(state.ids) < len(ids) and ids[: len(state.ids)] == state.ids:
            cache, done = state.cache, len(state.ids)
            seen = done + max((_common_prefix(ids[done:], r.ids[done:]) for r in self._rows), default=0)
            kept = max((r for r in self._rows if r.layers is not None and len(r.ids) < len(ids)
                        and ids[: len(r.ids)] == r.ids), key=lambda r: len(r.ids), default=None)
            if kept is not None:
                cache, done = self._grown(cache, kept), len(kept.ids)
        else:
            cache, done = DynamicCache(config=self.model.config), 0
        self.tokens_forwarded.update(prefix=len(ids) - done, recomputed=max(0, seen - done))
        out = self.model(input_ids=torch.tensor([ids[done:]], device=self.device), past_key_values=cache,
                         use_cache=True, logits_to_keep=1)
        self._prefix, self._rows = _PrefixState(ids, out.past_key_values, out.logits[0, -1].float()), []
        return self._prefix

    @staticmethod
    def _grown(cache: DynamicCache, kept: _KeptRow) -> DynamicCache:
        """The prefix cache extended in place by a kept row's K/V (in the cache's dtype)."""
        for layer, (keys, values) in zip(cache.layers, kept.layers):
            layer.keys = torch.cat([layer.keys, keys.to(layer.keys.dtype)], dim=-2)
            layer.values = torch.cat([layer.values, values.to(layer.values.dtype)], dim=-2)
        return cache

    def _keep_row(self, cache: DynamicCache, row: int, ids: tuple[int, ...]) -> None:
        """Remember that batch row `row` of `cache` computed `ids` (the prefix + its tokens), with a copy of the
        K/V past the prefix when keeping is on: rows leave a batch as they finish, so it is taken before."""
        start = len(self._prefix.ids)
        layers = None
        if self.keep_computed and len(ids) > start:
            end = len(ids)
            layers = [(layer.keys[row : row + 1, :, start:end].clone(), layer.values[row : row + 1, :, start:end].clone())
                      for layer in cache.layers]
        self._rows.append(_KeptRow(ids, layers))

    @staticmethod
    def _expanded(cache: DynamicCache, rows: int) -> DynamicCache:
        """`rows` rows of the cache for a batch, as views of the prefix's tensors (no copy): a DynamicCache grows
        by concatenation into new tensors and drops rows by indexing, so the prefix's own are never written."""
        expanded = copy.copy(cache)
        expanded.layers = [copy.copy(layer) for layer in cache.layers]
        for layer in expanded.layers:
            if layer.is_initialized:
                layer.keys = layer.keys.expand(rows, -1, -1, -1)
                layer.values = layer.values.expand(rows, -1, -1, -1)
        return expanded

    def _for_decoder(self, cache: DynamicCache) -> DynamicCache:
        """The cache in the decoder's dtype (the int8 decoder attends in bf16), converted in place."""
        return cache_in_dtype(cache, self.decoder.dtype)

    def _sample(
        self, cache: DynamicCache, logits: torch.Tensor, *, temperature: float, max_tokens: int, seed: int,
        stop: Callable[[str, str], bool], stop_reason: str,
        attention: torch.Tensor | None = None, positions: torch.Tensor | None = None, keep_rows: bool = False,
    ) -> list[Draft]:
        """Sample one continuation per row of `logits` (the next-token logits after `cache`) on the decoder.
        A row ends at EOS, when `stop(text so far, last token's text)` holds (finish reason `stop_reason`), or
        after `max_tokens` tokens; finished rows leave the batch, so the others run cheaper. `attention` and
        `positions` ([rows, cache length] and [rows], for right-padded rows) are carried along when given.
        `keep_rows`: each row's K/V is kept as it finishes (`_keep_row`), for `cache` = the cached prefix's rows."""
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
            for k in sorted(set(range(len(active))) - set(still)) if keep_rows else ():
                self._keep_row(cache, k, self._prefix.ids + tuple(tokens[active[k]][:-1]))
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
        self, prompt: Prompt, steps: Sequence[Draft], n: int, *, temperature: float, max_tokens: int, seed: int,
        step_end: str = STEP_END,
    ) -> list[Draft]:
        """Sample n steps in one batch; each stops after the first token that completes `step_end` (a blank
        line, or a line break), at EOS, or after `max_tokens` tokens. Finished rows leave the batch, so the
        others run cheaper."""
        with self._lock:
            state = self._advance(self.prefix_ids(prompt, steps))
            logits = state.next_logits.unsqueeze(0).expand(n, -1)
            # A blank line may span two tokens: look at the characters before this token's text too.
            reach = len(step_end) - 1
            return self._sample(self._expanded(state.cache, n), logits, temperature=temperature,
                                max_tokens=max_tokens, seed=seed, stop_reason="step", keep_rows=True,
                                stop=lambda text, piece: step_end in text[max(0, len(text) - len(piece) - reach):])

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
                    self._keep_row(cache, r, state.ids + tuple(seq[:-1]))
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
