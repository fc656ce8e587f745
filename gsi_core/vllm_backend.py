"""π_S, π_B and a PRM served by vLLM's OpenAI-compatible server, behind the same calls as the in-process backend.

The engine needs log-probabilities of the temperature-T distributions softmax(logits / T), exactly as the
in-process backend computes them (gsi_core/models.py). vLLM gives them as follows:

- Drafting (`/v1/completions`, `logprobs: 0`): a sampled token's log-prob is tempered only when the server
  runs with `--logprobs-mode processed_logprobs`; by default it is the raw (T = 1) one. Every request also
  sets top-p 1, top-k off and no penalties, so the model's generation_config.json (Qwen's has top-p 0.8,
  top-k 20 and a repetition penalty) cannot change what is sampled or what the log-prob describes. The
  first call checks the server's log-prob mode and refuses a raw one with the flag to add.
- Scoring given steps: `prompt_logprobs` are always raw (T = 1) and make vLLM bypass its prefix cache, so
  they are used only at T = 1. At any other T each candidate's position j becomes its own one-token
  prompt (prefix + the step's first j tokens) asking, through `logprob_token_ids`, for the processed log-prob
  of the step's token j. Prompts shared by candidates are sent once, and they all share the prefix, which
  vLLM's prefix cache holds. That is exact: log softmax(logits / T) as vLLM's sampler computes it.
- The PRM (`--runner pooling`, `POST /pooling`, `task: token_classify`) returns [p_neg, p_pos] at each step
  token; its input is built by `StepTokenPRM` exactly as for the in-process PRM, and sent as token ids.

Token ids are the truth: a step's text is decoded from the ids vLLM returns (a stop string can end inside a
token), so text and ids always agree and π_B scores exactly the tokens π_S drew.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from typing import Any, Sequence

from .models import TokenizedStepModel
from .rewards import StepTokenPRM
from .vocabulary import STEP_END, Draft, Prompt

# vLLM's limit on `logprob_token_ids` per request (vllm.sampling_params.MAX_LOGPROB_TOKEN_IDS).
_MAX_TOKEN_IDS_PER_REQUEST = 128
# Sampling settings that must not come from the served model's generation_config.json.
_PLAIN_SAMPLING = {"top_p": 1.0, "top_k": 0, "min_p": 0.0, "repetition_penalty": 1.0,
                   "presence_penalty": 0.0, "frequency_penalty": 0.0}
PROCESSED_LOGPROBS_FLAG = "--logprobs-mode processed_logprobs"


class VLLMError(RuntimeError):
    """A vLLM server could not be reached or refused a request; the message says which server and why."""


class VLLMClient:
    """JSON over HTTP to one vLLM server, with a timeout on every request and errors that name the server."""

    def __init__(self, url: str, timeout: float = 600.0):
        self.url = url.rstrip("/")
        self.timeout = timeout

    def request(self, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.load(response)
        except urllib.error.HTTPError as error:
            raise VLLMError(f"vLLM at {self.url} refused {path} (HTTP {error.code}): {_error_message(error)}") from None
        except urllib.error.URLError as error:
            if not isinstance(error.reason, TimeoutError):  # a timeout while connecting comes wrapped
                raise VLLMError(f"cannot reach vLLM at {self.url} ({error.reason}); is the server running?") from None
        except TimeoutError:
            pass
        raise VLLMError(f"vLLM at {self.url} did not answer {path} within {self.timeout:g} s")

    def served_models(self) -> list[str]:
        return [entry["id"] for entry in self.request("/v1/models")["data"]]

    def check_serves(self, model: str) -> None:
        served = self.served_models()
        if model not in served:
            raise VLLMError(f"vLLM at {self.url} serves {served}, not {model!r}; name the served model "
                            "(`model:` in the preset, or the server's --served-model-name)")


def _error_message(error: urllib.error.HTTPError) -> str:
    text = error.read().decode(errors="replace")
    try:
        body = json.loads(text)
    except ValueError:
        return text.strip()[:500]
    detail = body.get("error", body) if isinstance(body, dict) else body
    return str(detail.get("message", detail) if isinstance(detail, dict) else detail)[:500]


class VLLMStepModel(TokenizedStepModel):
    """A causal LM on a vLLM server. The tokenizer is loaded locally: it builds the chat prompt the same way
    the in-process backend does, and tells whether π_S and π_B share token ids."""

    def __init__(self, client: VLLMClient, model: str, tokenizer: Any, *, name: str | None = None,
                 num_parameters: int = 0, eos_ids: int | Sequence[int] | None = None):
        super().__init__(tokenizer, name or model, eos_ids)
        self.client, self.served_name, self.num_parameters = client, model, num_parameters
        self._mode_checked = False
        self._lock = threading.Lock()

    def _completions(self, prompt: Any, **settings: Any) -> list[dict[str, Any]]:
        """The choices in request order (prompt by prompt, then sample by sample)."""
        body = {"model": self.served_name, "prompt": prompt, **_PLAIN_SAMPLING, **settings}
        return sorted(self.client.request("/v1/completions", body)["choices"], key=lambda c: c["index"])

    def check_logprobs_mode(self, prompt_ids: Sequence[int]) -> None:
        """Refuse a server that reports raw log-probs: the top token's log-prob at T = 0.5 equals the one at
        T = 1 only when the server does not apply the temperature to what it reports."""
        with self._lock:
            if self._mode_checked:
                return
            top = []
            for temperature in (0.5, 1.0):
                choice = self._completions(list(prompt_ids), max_tokens=1, temperature=temperature, logprobs=1,
                                           return_tokens_as_token_ids=True)[0]
                top.append(max(choice["logprobs"]["top_logprobs"][0].values()))
            if top[1] > -1e-6:
                return  # a certain next token looks the same at every T: decide on a later prefix
            if abs(top[0] - top[1]) < 1e-6:
                raise VLLMError(f"vLLM at {self.client.url} reports raw log-probs; GSI needs the tempered ones. "
                                f"Start the server with {PROCESSED_LOGPROBS_FLAG}")
            self._mode_checked = True

    def draft(
        self, prompt: Prompt, steps: Sequence[Draft], n: int, *, temperature: float, max_tokens: int, seed: int,
        step_end: str = STEP_END,
    ) -> list[Draft]:
        prefix = list(self.prefix_ids(prompt, steps))
        self.check_logprobs_mode(prefix)
        choices = self._completions(
            prefix, n=n, temperature=temperature, max_tokens=max_tokens, seed=seed, stop=[step_end],
            include_stop_str_in_output=True, stop_token_ids=sorted(self.eos_ids), skip_special_tokens=False,
            logprobs=0, return_token_ids=True,
        )
        drafts = []
        for choice in choices:
            ids = choice["token_ids"]
            drafts.append(self._draft(ids, choice["logprobs"]["token_logprobs"], self._finish_reason(ids, step_end)))
        return drafts

    def _finish_reason(self, ids: Sequence[int], step_end: str) -> str:
        if ids and ids[-1] in self.eos_ids:
            return "eos"
        return "step" if step_end in self.tokenizer.decode(ids) else "length"

    def token_logprobs(
        self, prompt: Prompt, steps: Sequence[Draft], candidates: Sequence[Draft], *, temperature: float
    ) -> list[tuple[float, ...]]:
        prefix = tuple(self.prefix_ids(prompt, steps))
        sequences = [self.step_ids(c) for c in candidates]
        if temperature == 1.0:
            return self._prompt_logprobs(prefix, sequences)
        self.check_logprobs_mode(prefix)
        return self._position_logprobs(prefix, sequences, temperature)

    def _prompt_logprobs(self, prefix: tuple[int, ...], sequences: list[tuple[int, ...]]) -> list[tuple[float, ...]]:
        """At T = 1 the raw prompt log-probs are the tempered ones: one batched request, one prompt per step."""
        wanted = [s for s in dict.fromkeys(sequences) if s]
        values: dict[tuple[int, ...], tuple[float, ...]] = {(): ()}
        if wanted:
            choices = self._completions([list(prefix + s) for s in wanted], max_tokens=1, temperature=1.0,
                                        prompt_logprobs=0)
            for sequence, choice in zip(wanted, choices):
                rows = choice["prompt_logprobs"][len(prefix):]
                values[sequence] = tuple(float(row[str(token)]["logprob"]) for row, token in zip(rows, sequence))
        return [values[s] for s in sequences]

    def _position_logprobs(self, prefix: tuple[int, ...], sequences: list[tuple[int, ...]],
                           temperature: float) -> list[tuple[float, ...]]:
        """Each (prefix + step[:j], step[j]) pair as a one-token request for that token's processed log-prob."""
        positions = list(dict.fromkeys((s[:j], s[j]) for s in sequences for j in range(len(s))))
        logprob: dict[tuple[tuple[int, ...], int], float] = {}
        for chunk in _chunks_by_token_count(positions, _MAX_TOKEN_IDS_PER_REQUEST):
            token_ids = sorted({token for _, token in chunk})
            choices = self._completions(
                [list(prefix + head) for head, _ in chunk], max_tokens=1, temperature=temperature, logprobs=0,
                logprob_token_ids=token_ids, return_tokens_as_token_ids=True,
            )
            for (head, token), choice in zip(chunk, choices):
                logprob[head, token] = choice["logprobs"]["top_logprobs"][0][f"token_id:{token}"]
        return [tuple(float(logprob[s[:j], s[j]]) for j in range(len(s))) for s in sequences]


def _chunks_by_token_count(positions: list[tuple[Any, int]], limit: int) -> list[list[tuple[Any, int]]]:
    """Split (prompt, token) pairs into runs whose distinct tokens number at most `limit`."""
    chunks: list[list[tuple[Any, int]]] = [[]]
    tokens: set[int] = set()
    for head, token in positions:
        if token not in tokens and len(tokens) == limit:
            chunks.append([])
            tokens = set()
        chunks[-1].append((head, token))
        tokens.add(token)
    return [c for c in chunks if c]


class VLLMProcessRewardModel(StepTokenPRM):
    """A Qwen2.5-Math-PRM-style model on a vLLM server started with `--runner pooling`. vLLM's step pooling
    returns one [p_neg, p_pos] row per step token: the server's step tag must be this tokenizer's step token
    (vLLM's default is 151651, Qwen's <extra_0>; else `--pooler-config '{"step_tag_id": ID}'`)."""

    def __init__(self, client: VLLMClient, model: str, tokenizer: Any, *, step_token: str = "<extra_0>",
                 positive_label: int = 1, name: str | None = None):
        super().__init__(tokenizer, name=name or model, step_token=step_token)
        self.client, self.served_name, self.positive_label = client, model, positive_label

    def _step_probabilities(self, texts: list[str]) -> list[list[float]]:
        inputs = [self.tokenizer.encode(text, add_special_tokens=False) for text in texts]
        body = {"model": self.served_name, "input": inputs, "task": "token_classify"}
        rows = sorted(self.client.request("/pooling", body)["data"], key=lambda r: r["index"])
        results = []
        for ids, row in zip(inputs, rows):
            expected = ids.count(self.step_token_id)
            if len(row["data"]) != expected:
                raise VLLMError(
                    f"the PRM at {self.client.url} returned {len(row['data'])} step rows for {expected} step "
                    f"tokens; start it with --pooler-config '{{\"step_tag_id\": {self.step_token_id}}}'")
            results.append([probabilities[self.positive_label] for probabilities in row["data"]])
        return results
