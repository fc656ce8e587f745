"""The vLLM backend against real vLLM servers: the same log-probs and rewards as the in-process backend and a
torch reference, stop and seed handling, concurrency, clear errors, and GSI end to end through the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest
import torch

from gsi_core.config import DecodingConfig
from gsi_core.loading import ModelSpec, load_reward, load_step_model
from gsi_core.models import STEP_END, Draft, Prompt
from gsi_core.vllm_backend import VLLMClient, VLLMError, VLLMStepModel
from gsi_core.methods import run_method
from testkit.tiny import REPO

pytestmark = pytest.mark.vllm
PROMPT = Prompt("Natalia sold clips to 48 of her friends in April, and then she sold half as many in May. How many?")


def remote(servers, role):
    server = servers[role]
    return load_step_model(ModelSpec.from_config({"model": server.model, "backend": "vllm", "url": server.url}))


def local(checkpoints, role):
    return load_step_model(ModelSpec.from_config({"model": str(checkpoints[role]), "dtype": "float32"}))


@pytest.fixture(scope="module")
def pair(servers, checkpoints):
    return {role: (remote(servers, role), local(checkpoints, role)) for role in ("small", "big")}


def test_drafts_carry_the_tempered_logprob_the_in_process_model_gives_their_tokens(pair):
    vllm_model, torch_model = pair["small"]
    drafts = vllm_model.draft(PROMPT, [], 16, temperature=0.7, max_tokens=40, seed=5)
    assert len(drafts) == 16 and len({d.token_ids for d in drafts}) > 1
    expected = torch_model.token_logprobs(PROMPT, [], drafts, temperature=0.7)
    for draft, values in zip(drafts, expected):
        assert draft.logprob == pytest.approx(sum(values), abs=1e-4)
        assert draft.token_logprobs == pytest.approx(values, abs=1e-4)
        assert draft.vocab == torch_model.vocab  # the same tokenizer: ids pass between backends unchanged


@pytest.mark.parametrize("step_end", [STEP_END, "\n"])
def test_stop_at_the_step_delimiter_eos_or_the_token_cap_with_text_decoded_from_the_ids(pair, vllm_tokenizer,
                                                                                         step_end):
    vllm_model, _ = pair["small"]
    drafts = [d for seed in (1, 2) for d in vllm_model.draft(PROMPT, [], 16, temperature=1.0, max_tokens=12, seed=seed,
                                                             step_end=step_end)]
    reasons = Counter(d.finish_reason for d in drafts)
    assert reasons["step"] > 0 and reasons["length"] + reasons["eos"] > 0, reasons
    for d in drafts:
        assert d.text == vllm_tokenizer.decode(list(d.token_ids), skip_special_tokens=True)
        assert step_end not in vllm_tokenizer.decode(list(d.token_ids[:-1]))  # nothing after the step's end
        if d.finish_reason == "step":
            assert step_end in vllm_tokenizer.decode(list(d.token_ids))
        elif d.finish_reason == "eos":
            assert d.token_ids[-1] == vllm_tokenizer.eos_token_id
        else:
            assert len(d.token_ids) == 12


@pytest.mark.parametrize("temperature", [0.7, 1.0, 1.3])
def test_scores_equal_the_in_process_backend(pair, temperature):
    """After committed steps (a cached prefix in both backends), π_B's log-probs of π_S's drafts, at T = 1
    (prompt log-probs) and at other temperatures (per-position requests)."""
    small, _ = pair["small"]
    vllm_big, torch_big = pair["big"]
    committed = small.draft(PROMPT, [], 1, temperature=0.7, max_tokens=20, seed=0)
    drafts = small.draft(PROMPT, committed, 8, temperature=0.7, max_tokens=30, seed=3)
    drafts.append(drafts[0])  # a repeated candidate is scored once and reported twice
    got = vllm_big.logprobs(PROMPT, committed, drafts, temperature=temperature)
    expected = torch_big.logprobs(PROMPT, committed, drafts, temperature=temperature)
    assert got == pytest.approx(expected, abs=1e-4)
    assert got[-1] == got[0]
    per_token = vllm_big.token_logprobs(PROMPT, committed, drafts, temperature=temperature)
    for values, want in zip(per_token, torch_big.token_logprobs(PROMPT, committed, drafts, temperature=temperature)):
        assert values == pytest.approx(want, abs=1e-4)


def test_more_distinct_tokens_than_one_request_may_ask_for(pair, vllm_tokenizer):
    """vLLM takes at most 128 token ids per request: a step using more is split across requests."""
    vllm_big, torch_big = pair["big"]
    ids = tuple(range(10, 210))
    step = Draft(vllm_tokenizer.decode(list(ids)), ids, vllm_big.vocab, 0.0, "length")
    got = vllm_big.logprobs(PROMPT, [], [step], temperature=0.7)
    assert got == pytest.approx(torch_big.logprobs(PROMPT, [], [step], temperature=0.7), abs=1e-3)


def test_the_same_seed_gives_the_same_drafts_and_another_seed_others(pair):
    vllm_model, _ = pair["small"]
    first = vllm_model.draft(PROMPT, [], 6, temperature=0.7, max_tokens=30, seed=11)
    assert vllm_model.draft(PROMPT, [], 6, temperature=0.7, max_tokens=30, seed=11) == first
    assert vllm_model.draft(PROMPT, [], 6, temperature=0.7, max_tokens=30, seed=12) != first


def test_concurrent_requests_get_the_answers_they_get_alone(pair):
    vllm_model, _ = pair["small"]
    alone = {seed: vllm_model.draft(PROMPT, [], 4, temperature=0.7, max_tokens=20, seed=seed) for seed in range(4)}
    together: dict[int, list[Draft]] = {}
    threads = [threading.Thread(target=lambda s=seed: together.__setitem__(
        s, vllm_model.draft(PROMPT, [], 4, temperature=0.7, max_tokens=20, seed=s))) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert together == alone


def test_prm_rewards_equal_a_torch_reference(servers, checkpoints):
    path, reference = checkpoints["prm"]
    prm = load_reward({"kind": "prm", "backend": "vllm", "url": servers["prm"].url, "model": str(path)})
    question, steps = "What is 48 + 24?", ["48 / 2 = 24\n\n", "  \n\n", "48 + 24 = 72\n\n"]
    kept = [s.strip() for s in steps if s.strip()]
    ids = prm.tokenizer.encode(prm._conversation(question, kept), add_special_tokens=False)
    positions = [i for i, t in enumerate(ids) if t == prm.step_token_id]
    expected = reference.positive_probabilities(ids)[positions].tolist()
    rewards = prm.score(question, steps)
    assert rewards[1] == 0.0  # an empty step is not sent and gets no reward
    assert [rewards[0], rewards[2]] == pytest.approx(expected, abs=1e-4)
    candidates = prm.score_candidates(question, steps[:1], ["48 + 24 = 72", "", "72"])
    assert candidates[0].reward == pytest.approx(expected[1], abs=1e-4) and candidates[1].reward == 0.0
    assert all(c.reasons == () for c in candidates)


def test_a_raw_logprob_server_is_refused_with_the_flag_to_add(servers):
    model = remote(servers, "raw")
    with pytest.raises(VLLMError, match="--logprobs-mode processed_logprobs"):
        model.draft(PROMPT, [], 2, temperature=0.7, max_tokens=5, seed=0)


def test_errors_name_the_server_and_the_cause(servers, pair, vllm_tokenizer):
    with pytest.raises(VLLMError, match="cannot reach vLLM at http://127.0.0.1:9 .*is the server running"):
        VLLMClient("http://127.0.0.1:9", timeout=5).served_models()
    with pytest.raises(VLLMError, match="serves .* not 'no-such-model'"):
        load_step_model(ModelSpec.from_config({"model": "no-such-model", "backend": "vllm", "url": servers["small"].url}))
    vllm_model, _ = pair["small"]
    long_prompt = Prompt("12 + 30 = 42. " * 400)
    with pytest.raises(VLLMError, match=r"HTTP 400"):
        vllm_model.draft(long_prompt, [], 2, temperature=0.7, max_tokens=5, seed=0)
    slow = VLLMStepModel(VLLMClient(servers["small"].url, timeout=0.001), servers["small"].model, vllm_tokenizer)
    started = time.monotonic()
    with pytest.raises(VLLMError, match="did not answer .* within 0.001 s"):
        slow.draft(PROMPT, [], 16, temperature=0.7, max_tokens=40, seed=0)
    assert time.monotonic() - started < 10
    assert vllm_model.draft(PROMPT, [], 2, temperature=0.7, max_tokens=5, seed=0)  # the server still serves


class Recording:
    """A step model that passes calls through and keeps every scoring call with its answer."""

    def __init__(self, model):
        self.model, self.scored = model, []
        self.name, self.num_parameters = model.name, model.num_parameters

    def draft(self, *args, **kwargs):
        return self.model.draft(*args, **kwargs)

    def token_logprobs(self, prompt, steps, candidates, *, temperature):
        result = self.model.token_logprobs(prompt, steps, candidates, temperature=temperature)
        self.scored.append((prompt, list(steps), list(candidates), temperature, result))
        return result


def test_gsi_runs_on_vllm_and_pi_b_scores_as_in_process(servers, pair):
    """GSI end to end on vLLM models and the vLLM PRM; every π_B scoring call it made, redone in-process on
    the same prefix and drafts, agrees."""
    (vllm_small, _), (vllm_big, torch_big) = pair["small"], pair["big"]
    big = Recording(vllm_big)
    reward = load_reward({"kind": "prm", "backend": "vllm", "url": servers["prm"].url, "model": servers["prm"].model})
    config = DecodingConfig(n=4, max_steps=3, max_step_tokens=16, seed=3, temperature=0.7)
    events = list(run_method("gsi", PROMPT.problem, vllm_small, big, reward, config))
    steps = [e for e in events if e.type == "step"]
    assert steps and events[-1].type == "summary"
    assert all(0.0 <= c.reward <= 1.0 for step in steps for c in step.candidates)
    assert big.scored
    for prompt, prefix, candidates, temperature, result in big.scored:
        expected = torch_big.token_logprobs(prompt, prefix, candidates, temperature=temperature)
        assert [len(values) for values in result] == [len(values) for values in expected]
        for got, want in zip(result, expected):
            assert got == pytest.approx(want, abs=1e-4)


def test_cli_run_with_backend_flags(servers, tmp_path):
    command = [sys.executable, "-m", "gsi_core", "run", "--method", "gsi", "--preset", "paper", "--backend", "vllm",
               "--small-url", servers["small"].url, "--small-model", servers["small"].model,
               "--big-url", servers["big"].url, "--big-model", servers["big"].model,
               "--reward-url", servers["prm"].url, "--reward-model", servers["prm"].model,
               "--problem", PROMPT.problem, "--n", "3", "--max-steps", "2", "--max-step-tokens", "12"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=REPO)
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert events[0]["small_model"] == servers["small"].model and events[-1]["type"] == "summary"
    assert any(e["type"] == "step" for e in events)


def test_the_app_runs_gsi_on_a_vllm_preset(servers, tmp_path):
    """The explorer with a preset whose three models are vLLM servers, through its public API."""
    from gradio_client import Client

    from support import launch

    presets = tmp_path / "presets.yaml"
    spec = lambda role: f"{{model: {servers[role].model}, backend: vllm, url: '{servers[role].url}'}}"  # noqa: E731
    presets.write_text(
        "presets:\n  tiny-vllm:\n    description: tiny models on vLLM servers\n"
        f"    small: {spec('small')}\n    big: {spec('big')}\n"
        f"    reward: {{kind: prm, model: {servers['prm'].model}, backend: vllm, url: '{servers['prm'].url}'}}\n"
        "    decoding: {n: 3, max_steps: 2, max_step_tokens: 12}\n")
    demo = launch("tiny-vllm", str(presets))
    try:
        client = Client(demo.local_url, verbose=False)
        result = client.predict(PROMPT.problem, "gsi", 3, 3, 20, 0.5, 0.7, 0, 2, api_name="/run")
        assert result[4].startswith("**Done**")
        with open(result[5]) as lines:
            events = [json.loads(line) for line in lines]
        assert events[0]["big_model"] == servers["big"].model and events[-1]["type"] == "summary"
    finally:
        demo.close()
