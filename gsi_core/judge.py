"""A judge reward: a loaded step model (π_B by default, the copy already in memory) is asked whether the next
step is correct, as SpecReason, GenPRM and ThinkPRM read a judge. The reward is P(Yes) ÷ (P(Yes) + P(No)) of the
model's next token.

The question continues the model's cached prefix (prompt + committed steps). After it, each draft's row holds
only the draft's tokens, then a fixed suffix that closes the assistant's turn, asks the question as the user,
and opens the assistant's answer. All n rows go through one batched forward
(`TransformersStepModel.next_token_logits`), so a step costs n × (draft + suffix) tokens, never the prefix again.

Verifier evidence (`verifier:`), one rule each:
- `calibrated-verifier` (the default): the two read as independent evidence, odds(r) = odds(P(Yes)) ×
  odds(calibrated). The calibrated verifier's sibling agreement and numbers from nowhere order the drafts of one
  step (a false claim or a stall lowers its odds too); the judge reads what no feature sees. On the labelled
  set's held-out split this beat both alone (docs/judge-reward.md).
- `step-verifier`: where the step verifier finds evidence against the step, the reward is capped at the
  verifier's value: ¼ for one false claim, ⅛ for two, 0 for an empty or repeated step. Claims that hold raise
  nothing: a right sum can still be the wrong step to take.
- `none`: P(Yes) alone.
"""

from __future__ import annotations

from typing import Sequence

import torch

from .config import SYSTEM_PROMPT, ConfigError
from .models import TransformersStepModel
from .rewards import CalibratedVerifier, StepVerifier
from .vocabulary import Draft, Prompt, RewardModel, RewardScale, Scored

DEFAULT_QUESTION = "Is the last step of the solution above correct? Answer Yes or No."
ANSWERS = ("Yes", "No")
_MARK = "\u2063judged step\u2063"  # stands for the solution while the chat template lays out the turns
# The 5th and 95th percentiles of π_B × calibrated verifier over the drafts (π_S's and π_B's) of the frontier's
# judge runs on the offline pair (GSM8K 0-19, assets/frontier/gsm8k-offline-cpu): 0.11-0.84 over the first 2,556,
# 0.12-0.84 over the 10,122 it holds now; tests recompute them (within 0.02).
MEASURED_RANGE = (0.11, 0.84)


def judge_scale(verifier: str) -> RewardScale:
    """Where a judge's rewards lie, by the evidence it is combined with. No evidence is a coin-flip judge,
    P(Yes) = ½, on a step its verifier has no evidence about: with the calibrated verifier (odds multiply), that
    verifier's own no-evidence value. Only the default's range is measured; the others keep a probability's."""
    if verifier == "calibrated-verifier":
        return RewardScale(typical=MEASURED_RANGE, neutral=CalibratedVerifier().scale.neutral,
                           meaning="π_B's P(Yes) that the step is correct, its odds times the calibrated "
                                   "verifier's (median 0.39 on the offline pair)")
    cap = ", capped at ¼ for a false claim and 0 for an empty or repeated step" if verifier == "step-verifier" else ""
    return RewardScale(meaning=f"the judge's P(Yes) that the step is correct{cap}")


def answer_token_ids(model: TransformersStepModel) -> tuple[int, int]:
    """The ids of "Yes" and "No", each a single token of the model's vocabulary; otherwise a ConfigError."""
    ids = []
    for word in ANSWERS:
        encoded = model.tokenizer.encode(word, add_special_tokens=False)
        if len(encoded) != 1 or encoded[0] == model.tokenizer.unk_token_id:
            raise ConfigError(f"the judge reward needs {' and '.join(map(repr, ANSWERS))} as single tokens, but "
                              f"{model.name!r} encodes {word!r} as {len(encoded)} tokens {encoded}: choose another "
                              "judge model or another reward")
        ids.append(encoded[0])
    return ids[0], ids[1]


def question_suffix(model: TransformersStepModel, question: str) -> tuple[int, ...]:
    """The ids that follow a solution to ask `question` in the model's chat format: the end of the assistant's
    turn, the user's question, the start of the assistant's answer. Found by laying out a conversation with a
    marker for the solution; a template that does not put the solution right after the prompt is refused."""
    tokenizer = model.tokenizer
    start = [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": "?"}]
    asked = [*start, {"role": "assistant", "content": _MARK}, {"role": "user", "content": question}]
    prompt = tokenizer.apply_chat_template(start, tokenize=False, add_generation_prompt=True)
    text = tokenizer.apply_chat_template(asked, tokenize=False, add_generation_prompt=True)
    if not text.startswith(prompt + _MARK):
        raise ConfigError(f"the judge reward cannot ask {model.name!r}: its chat template does not continue the "
                          "assistant's turn where a solution ends")
    return tuple(tokenizer.encode(text[len(prompt) + len(_MARK):], add_special_tokens=False))


class JudgeReward(RewardModel):
    """A step model asked, for every draft of a step in one batch, whether the step is correct."""

    def __init__(self, model: TransformersStepModel, *, question: str | None = None,
                 verifier: str = "calibrated-verifier", label: str = "judge"):
        evidence = {"step-verifier": (StepVerifier, capped), "calibrated-verifier": (CalibratedVerifier, odds_product)}
        self.model, (self.verifier, self.combine) = model, evidence.get(verifier, (None, None))
        if self.verifier is not None:
            self.verifier = self.verifier()
        self.yes, self.no = answer_token_ids(model)
        self.suffix = question_suffix(model, question or DEFAULT_QUESTION)
        self.name, self.scale = label, judge_scale(verifier)

    def score_drafts(self, prompt: Prompt, previous: Sequence[Draft], drafts: Sequence[Draft]) -> list[Scored]:
        rows = [self.model.step_ids(d) + self.suffix for d in drafts]
        logits = self.model.next_token_logits(prompt, previous, rows, (self.yes, self.no))
        judged = torch.sigmoid(logits[:, 0] - logits[:, 1]).tolist()  # P(Yes) ÷ (P(Yes) + P(No))
        reasons = [f"judge: P(Yes) {yes:.2f}" for yes in judged]
        if self.verifier is None:
            return [Scored(yes, (reason,)) for yes, reason in zip(judged, reasons)]
        checked = self.verifier.score_candidates(prompt.problem, [s.text for s in previous], [d.text for d in drafts])
        return [Scored(self.combine(yes, c.reward), (reason, *c.reasons))
                for yes, reason, c in zip(judged, reasons, checked)]

    def score_candidates(self, question: str, previous: Sequence[str], candidates: Sequence[str]) -> list[Scored]:
        """Texts only (a labelled set): the steps are tokenized again in the judge's vocabulary."""
        return self.score_drafts(Prompt(question), [_text_draft(t) for t in previous],
                                 [_text_draft(t) for t in candidates])

    def score(self, question: str, steps: Sequence[str]) -> list[float]:
        return [self.score_candidates(question, steps[:i], [step])[0].reward for i, step in enumerate(steps)]


def capped(judged: float, verified: float) -> float:
    """The judge's reward, capped where the step verifier has evidence against the step (its value below ½)."""
    return min(judged, verified) if verified < 0.5 else judged


def odds_product(judged: float, verified: float) -> float:
    """The probability whose odds are the product of both odds (both read as independent evidence)."""
    judged, verified = (min(max(p, 1e-6), 1 - 1e-6) for p in (judged, verified))
    agree = judged * verified
    return agree / (agree + (1 - judged) * (1 - verified))


def _text_draft(text: str) -> Draft:
    return Draft(text=text, token_ids=(), vocab="", logprob=0.0, finish_reason="step")
