"""The transformers step model: drafting, scoring, the cached prefix and the re-tokenization path."""

import pytest
import torch

from gsi_core import models
from gsi_core.models import STEP_END, Prompt, TransformersStepModel

from testkit.tiny import build_lm

PROMPT = Prompt("Natalia sold clips to 48 of her friends in April. How many clips did she sell?")
T = 0.7


def reference_token_logprobs(model: TransformersStepModel, prefix: tuple[int, ...], step: tuple[int, ...]) -> list[float]:
    """log π(token | prefix, earlier tokens) for each token of `step`, from one plain forward, no cache."""
    ids = torch.tensor([prefix + step], device=model.device)
    with torch.inference_mode():
        logits = model.model(input_ids=ids).logits[0].float()
    logp = torch.log_softmax(logits / T, dim=-1)
    return [float(logp[len(prefix) - 1 + i, token]) for i, token in enumerate(step)]


def reference_logprob(model: TransformersStepModel, prefix: tuple[int, ...], step: tuple[int, ...]) -> float:
    """log π(step | prefix) from one plain forward over the whole sequence, no cache."""
    return sum(reference_token_logprobs(model, prefix, step))


def draft(model, steps=(), n=4, seed=0, max_tokens=12):
    return model.draft(PROMPT, list(steps), n, temperature=T, max_tokens=max_tokens, seed=seed)


def test_drafts_stop_at_the_first_blank_line_eos_or_the_cap(small):
    drafts = draft(small, n=16, max_tokens=10)
    assert len(drafts) == 16
    reasons = {d.finish_reason for d in drafts}
    assert "step" in reasons and "length" in reasons  # the tiny model does both at these settings
    for d in drafts:
        assert 1 <= len(d.token_ids) <= 10
        pieces = [small.tokenizer.decode(d.token_ids[: i + 1]) for i in range(len(d.token_ids))]
        ended = [STEP_END in p or t in small.eos_ids for p, t in zip(pieces, d.token_ids)]
        assert not any(ended[:-1]), "a draft ran past the end of its step"
        assert d.finish_reason == ("length" if not ended[-1] else "eos" if d.token_ids[-1] in small.eos_ids else "step")


def test_the_line_delimiter_ends_a_step_at_its_first_line_break(writes_lines):
    blank = [d for d in draft(writes_lines, n=16, max_tokens=24) if d.finish_reason == "step"]
    assert any("\n" in d.text.rstrip("\n") for d in blank)  # at the paper's delimiter, steps run over lines
    lines = writes_lines.draft(PROMPT, [], 16, temperature=T, max_tokens=24, seed=0, step_end="\n")
    ended = [d for d in lines if d.finish_reason == "step"]
    assert ended and any(not d.text.endswith("\n\n") for d in ended)  # some end in a single newline
    for d in lines:
        pieces = [writes_lines.tokenizer.decode(d.token_ids[: i + 1]) for i in range(len(d.token_ids))]
        assert not any("\n" in p for p in pieces[:-1]), "a draft ran past its first line break"
        assert d.finish_reason != "step" or d.text.endswith("\n")


def test_sampled_logprob_equals_a_plain_forward(small):
    prefix = small.prefix_ids(PROMPT, [])
    for d in draft(small, n=4):
        assert d.logprob == pytest.approx(reference_logprob(small, prefix, d.token_ids), abs=1e-4)


def test_scoring_equals_a_plain_forward_and_the_sampler(small, big):
    first = draft(small, seed=1)
    committed = [first[0]]
    candidates = draft(small, steps=committed, seed=2)
    scored = big.logprobs(PROMPT, committed, candidates, temperature=T)
    prefix = big.prefix_ids(PROMPT, committed)
    for value, c in zip(scored, candidates):
        assert value == pytest.approx(reference_logprob(big, prefix, c.token_ids), abs=1e-4)
    own = small.logprobs(PROMPT, committed, candidates, temperature=T)
    assert own == pytest.approx([c.logprob for c in candidates], abs=1e-4)


def test_per_token_logprobs_of_drafts_and_scoring_equal_a_plain_forward(small, big):
    committed = draft(small, seed=1)[:1]
    candidates = draft(small, steps=committed, n=6, seed=2)
    scored = big.token_logprobs(PROMPT, committed, candidates, temperature=T)
    for c, values in zip(candidates, scored):
        assert "".join(c.token_texts) == c.text and len(c.token_texts) == len(c.token_ids)
        assert c.token_logprobs == pytest.approx(
            reference_token_logprobs(small, small.prefix_ids(PROMPT, committed), c.token_ids), abs=1e-4)
        assert sum(c.token_logprobs) == pytest.approx(c.logprob, abs=1e-9)
        assert values == pytest.approx(reference_token_logprobs(big, big.prefix_ids(PROMPT, committed), c.token_ids),
                                       abs=1e-4)
    assert big.logprobs(PROMPT, committed, candidates, temperature=T) == pytest.approx([sum(v) for v in scored])


def test_token_texts_give_a_split_character_to_the_token_that_completes_it(small):
    ids = tuple(small.tokenizer.encode("Price: 5 € each", add_special_tokens=False))
    pieces = small.token_texts(ids, small.tokenizer.decode(ids))
    assert "".join(pieces) == "Price: 5 € each" and len(pieces) == len(ids)
    assert all("\ufffd" not in piece for piece in pieces)


def test_scoring_in_row_chunks_gives_the_same_numbers(big, small, monkeypatch):
    candidates = draft(small, n=6, max_tokens=12)
    whole = big.logprobs(PROMPT, [], candidates, temperature=T)
    big.forget_prefix()
    monkeypatch.setattr(models, "_SCORING_LOGITS_BUDGET", 1)  # forces one row per chunk
    assert big.logprobs(PROMPT, [], candidates, temperature=T) == pytest.approx(whole, abs=1e-4)


def test_same_seed_same_drafts_other_seed_other_drafts(small):
    a, b, c = draft(small, seed=5), draft(small, seed=5), draft(small, seed=6)
    assert [d.token_ids for d in a] == [d.token_ids for d in b]
    assert [d.token_ids for d in a] != [d.token_ids for d in c]


class ForwardRecorder:
    """Counts the tokens each forward of a model computes."""

    def __init__(self, model):
        self.lengths = []
        self._forward = model.model.forward
        model.model.forward = self

    def __call__(self, input_ids=None, **kwargs):
        self.lengths.append(input_ids.shape[-1])
        return self._forward(input_ids=input_ids, **kwargs)


def test_the_prefix_cache_makes_a_step_cost_the_step_not_the_solution(small):
    steps = []
    for seed in range(3):  # build a solution of three steps
        steps.append(draft(small, steps=steps, n=2, seed=seed)[0])
    recorder = ForwardRecorder(small)
    next_drafts = draft(small, steps=steps, n=2, seed=9, max_tokens=4)
    # the committed step was drafted here, its K/V kept: one forward of its last token, then one per decoding iteration
    assert recorder.lengths[0] == 1 and len(steps[-1].token_ids) > 1
    assert all(length == 1 for length in recorder.lengths[1:])
    # scoring at the same prefix computes only the candidates (minus their last token)
    recorder.lengths.clear()
    small.logprobs(PROMPT, steps, next_drafts, temperature=T)
    width = max(len(d.token_ids) for d in next_drafts) - 1
    assert recorder.lengths == ([width] if width > 0 else [])


def test_a_step_the_model_drafted_or_scored_is_not_computed_again_and_stays_exact(small, big):
    candidates = draft(small, n=4, seed=3)
    big.logprobs(PROMPT, [], candidates, temperature=T)
    committed = max(candidates, key=lambda d: len(d.token_ids))
    assert len(committed.token_ids) > 2
    recorders = {"small": ForwardRecorder(small), "big": ForwardRecorder(big)}
    next_drafts = draft(small, steps=[committed], n=3, seed=4)
    scored = big.token_logprobs(PROMPT, [committed], next_drafts, temperature=T)
    # π_S drafted it and π_B scored it: each forwards only its last token before the next step
    assert recorders["small"].lengths[0] == recorders["big"].lengths[0] == 1
    for model in (small, big):
        assert model.tokens_forwarded["recomputed"] == 0
    prefix = small.prefix_ids(PROMPT, [committed])
    for d, values in zip(next_drafts, scored):
        assert d.token_logprobs == pytest.approx(reference_token_logprobs(small, prefix, d.token_ids), abs=1e-4)
        assert values == pytest.approx(reference_token_logprobs(big, prefix, d.token_ids), abs=1e-4)


def test_a_step_the_model_never_saw_is_computed_and_switching_keeping_off_recomputes_its_own(small, big):
    theirs = draft(big, n=2, seed=5)[0]  # a fallback step: π_S never saw it
    draft(small, n=2, seed=5, max_tokens=1)  # π_S holds the prompt
    recorder = ForwardRecorder(small)
    draft(small, steps=[theirs], n=2, seed=6)
    assert recorder.lengths[0] == len(theirs.token_ids) and small.tokens_forwarded["recomputed"] == 0
    small.keep_computed = False
    own = draft(small, steps=[theirs], n=2, seed=7)[0]
    recorder.lengths.clear()
    draft(small, steps=[theirs, own], n=2, seed=8)
    assert recorder.lengths[0] == len(own.token_ids)  # all of it again
    assert small.tokens_forwarded["recomputed"] == len(own.token_ids) - 1  # all but the never-forwarded last token


def test_a_different_prefix_restarts_the_cache_and_stays_exact(small):
    a = draft(small, n=8, seed=1)
    first, second = a[0], next(d for d in a if d.token_ids != a[0].token_ids)
    draft(small, steps=[first], seed=2)  # the cache now holds prompt + first
    recorder = ForwardRecorder(small)
    other = draft(small, steps=[second], seed=3)  # a different history: start again
    prefix = small.prefix_ids(PROMPT, [second])
    assert recorder.lengths[0] == len(prefix)
    for d in other:
        assert d.logprob == pytest.approx(reference_logprob(small, prefix, d.token_ids), abs=1e-4)


def test_retokenizes_steps_from_a_model_with_another_vocabulary(small, other_tokenizer):
    other = TransformersStepModel(build_lm(other_tokenizer, seed=3, step_bias=4.0), other_tokenizer, name="other")
    assert other.vocab != small.vocab
    drafted = draft(small, seed=4)
    committed = [drafted[0]]
    candidates = draft(small, steps=committed, seed=5)
    scored = other.logprobs(PROMPT, committed, candidates, temperature=T)
    # the other model sees its own tokenization of the prompt and of every step's text
    prefix = other.prefix_ids(PROMPT, committed)
    template = other_tokenizer.apply_chat_template(
        [{"role": "system", "content": PROMPT.system}, {"role": "user", "content": PROMPT.problem}],
        tokenize=False, add_generation_prompt=True,
    )
    step_ids = tuple(other_tokenizer.encode(committed[0].text, add_special_tokens=False))
    assert step_ids != committed[0].token_ids
    assert prefix == tuple(other_tokenizer.encode(template, add_special_tokens=False)) + step_ids
    for value, c in zip(scored, candidates):
        ids = tuple(other_tokenizer.encode(c.text, add_special_tokens=False))
        assert value == pytest.approx(reference_logprob(other, prefix, ids), abs=1e-4)
    # and its drafts come back in its own vocabulary, which the small model re-tokenizes in turn
    back = other.draft(PROMPT, committed, 2, temperature=T, max_tokens=8, seed=1)
    assert all(d.vocab == other.vocab for d in back)
    assert small.logprobs(PROMPT, committed, back, temperature=T) == pytest.approx(
        [reference_logprob(small, small.prefix_ids(PROMPT, committed),
                           tuple(small.tokenizer.encode(d.text, add_special_tokens=False))) for d in back],
        abs=1e-4,
    )


def test_completions_of_continuations_of_different_lengths_equal_plain_forwards(small):
    """Rows of one batch hold continuations of different lengths (padding inside the sequence, masked): each
    completion's log-prob must be what a plain forward over prefix + its continuation + it gives."""
    committed = draft(small, seed=1)[:1]
    continuations = draft(small, steps=committed, n=3, seed=2, max_tokens=10)
    assert len({len(c.token_ids) for c in continuations}) > 1, "the test needs continuations of different lengths"
    completions = small.complete(PROMPT, committed, continuations, 2, temperature=T, max_tokens=15, seed=3)
    prefix = small.prefix_ids(PROMPT, committed)
    assert [len(c) for c in completions] == [2, 2, 2]
    for continuation, rows in zip(continuations, completions):
        for row in rows:
            assert 1 <= len(row.token_ids) <= 15
            assert row.logprob == pytest.approx(
                reference_logprob(small, prefix + continuation.token_ids, row.token_ids), abs=1e-3)


def test_completions_stop_when_asked(small):
    stopped = small.complete(PROMPT, [], draft(small, n=2, seed=4), 3, temperature=T, max_tokens=30, seed=5,
                             stop=lambda text: len(text) >= 5)
    for rows in stopped:
        for row in rows:
            assert row.finish_reason in ("stop", "eos")
            assert row.finish_reason == "eos" or len(small.tokenizer.decode(row.token_ids[:-1])) < 5
