"""Rewards behind one call, `score_candidates(question, previous, candidates) -> one Scored per candidate`:
a reward in [0, 1] with the reasons for it (the claims checked, numbers from nowhere, sibling agreement…).

`StepVerifier` needs no weights: it checks the arithmetic a step states. `CalibratedVerifier` adds evidence
features to those checks and maps them to a fitted probability that the step is right. `ProcessRewardModel`
wraps a Qwen2.5-Math-PRM-style model (its reasons are empty: it does not say why). All implement
`RewardModel` (gsi_core/vocabulary.py); methods never know which they have.
"""

from __future__ import annotations

import math
import re
from abc import abstractmethod
from dataclasses import dataclass
from typing import Any, Sequence

import sympy
from sympy.parsing.sympy_parser import (
    implicit_multiplication,
    parse_expr,
    rationalize,
    standard_transformations,
)

from .answers import extract_boxed_answer, has_boxed_answer
from .config import SYSTEM_PROMPT, ConfigError
from .vocabulary import RewardModel, RewardScale, Scored  # the interface every reward implements; importable here too


# --- the offline step verifier -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """An equality a step states, e.g. `5 * 4 = 20`, and whether it holds."""

    left: str
    right: str
    holds: bool


_TRANSFORMS = standard_transformations + (implicit_multiplication, rationalize)
_ARITHMETIC_RUN = re.compile(r"(?:sqrt|[0-9.\s+\-*/()=])+")
_DECIMAL = re.compile(r"^-?\d+\.(\d+)$")
_OPERATOR = re.compile(r"[+*/]|sqrt|(?<=[\d)\s])-")
_UNIT_PRODUCT = re.compile(r"(?:\b[xX]|\btimes|[-+*/]\s*[A-Za-z]+)\s*$")
_PERCENT = re.compile(r"^\((\d+(?:\.\d+)?)/100\)$")
_BIG_EXPONENT = re.compile(r"\*\*\s*\(?\s*\d{3,}")
_UNIT = r"[A-Za-z]{2,}(?:/[A-Za-z]+|\s+per\s+[A-Za-z]+)?"  # sheep, hours/week, players per team
_REWRITES = [
    (r"<<[^<>]*>>", " "),  # GSM8K calculator annotations; the text around them states the same claim
    (r"\\left|\\right|\\!|\\,|\\;|\\ ", ""),
    (r"\\(?:text|textrm|mathrm|mbox)\s*\{([^{}]*)\}", r" \1 "),  # `20 \text{ minutes}`: the unit as a plain word
    (r"\\[dt]frac", r"\\frac"),
    (r"\\(times|cdot)|[×·∗]", "*"),
    (r"\\div|÷", "/"),
    (r"[−–]", "-"),
    (r"\\\$|\$", ""),
    (r"\\%", "%"),
    (r"\\approx|≈|\\sim|~", " ≈ "),  # approximations are not claims of equality: keep them out of runs
    (r"(?m)^\s*\d+[.)]\s+", " "),  # list numbering "1. " / "2) "
    (r"(?<=\d),(?=\d{3}(?!\d))", ""),  # thousands separators
    (r"(?<![\d/])(\d{1,3}(?: \d{3})+)(?![\d/]|\.\d)", lambda m: m.group(1).replace(" ", "")),  # 350 000
    (r"(?<=\d)\.(?=\s)", " ; "),  # a sentence ends: "… 120. 3/4 * …" holds two runs, not one
    ("½", "(1/2)"), ("¼", "(1/4)"), ("¾", "(3/4)"), ("⅓", "(1/3)"), ("⅔", "(2/3)"),
    (r"(?<![\d.])\.(?=\d)", "0."),  # .20 → 0.20
    (r"(?<=[\d)])\s*[xX]\s*(?=[\d(])", "*"),
    (r"(?<=\d)/[A-Za-z]+\b", ""),  # rates: $20/hour
    # Units inside a computation: `20 sheep + 160 sheep = 180` → `20 + 160 = 180`; `4 * 20 sheep = 80`.
    # A quantity stated before "=" keeps its unit: `4 students drank 1.5 quarts = 4 * 1.5` claims nothing.
    (rf"(\d)\s+{_UNIT}\s+[xX]\s*(?=[\d(])", r"\1 * "),  # 43 brownies x 3
    (rf"(\d)\s+{_UNIT}\s*(?=[-+*/](?![A-Za-z]))", r"\1 "),
    (rf"([-+*/]\s*\d+(?:\.\d+)?)\s+{_UNIT}\s*(?==)", r"\1 "),
    (rf"(\d)\s+{_UNIT}\s*(?=\}})", r"\1"),  # `\frac{64 boxes}{8 boxes per box}`
    (r"(?<![\d.])(\d+)\s+(\d+)/(\d+)(?![\d.])", r"(\1+\2/\3)"),  # mixed numbers: 3 1/2
    (r"(?<=/)\s+(\d+)/(\d+)(?![\d.])", r" (\1/\2)"),  # 3 / 1/2 divides by a half
    (r"(\d+(?:\.\d+)?)\s*%", r"(\1/100)"),
]


def _normalize(text: str) -> str:
    """Rewrite LaTeX and everyday notation into plain arithmetic (`\\frac{6}{3}` → `((6)/(3))`, `$5` → `5`)."""
    for pattern, replacement in _REWRITES:
        text = re.sub(pattern, replacement, text)
    previous = None
    while previous != text:  # innermost first, so nested fractions unfold
        previous = text
        text = re.sub(r"\\frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}", r"((\1)/(\2))", text)
        text = re.sub(r"\\sqrt\s*\{([^{}]*)\}", r"sqrt(\1)", text)
        text = re.sub(r"\^\s*\{([^{}]*)\}", r"**(\1)", text)
    text = text.replace("^", "**").replace("{", "(").replace("}", ")")
    return text


def _evaluate(side: str) -> sympy.Expr | None:
    if not re.search(r"\d", side) or len(side) > 120 or _BIG_EXPONENT.search(side):
        return None
    try:
        value = parse_expr(side, local_dict={"sqrt": sympy.sqrt}, transformations=_TRANSFORMS, evaluate=True)
    except Exception:  # malformed fragments are simply not claims
        return None
    if not getattr(value, "is_number", False) or value.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo):
        return None
    return value


def _tolerance(left: str, right: str) -> float:
    """A stated decimal may be rounded: `10/3 = 3.33` holds to half a unit of its last digit."""
    decimals = [len(m.group(1)) for s in (left, right) if (m := _DECIMAL.match(s))]
    return 0.5 * 10.0 ** -min(decimals) + 1e-12 if decimals else 0.0


def _equal(left: str, right: str, a: sympy.Expr, b: sympy.Expr) -> bool:
    if sympy.simplify(a - b) == 0:
        return True
    if (percent := _PERCENT.match(right)) and _equal(left, percent.group(1), a, _evaluate(percent.group(1))):
        return True  # `18 / 450 * 100 = 4%` states the number of percent
    a_value, b_value = complex(a), complex(b)
    tolerance = max(_tolerance(left, right), 1e-9 * max(1.0, abs(b_value)))
    return abs(a_value - b_value) <= tolerance


def find_claims(step: str) -> list[Claim]:
    """Every equality `A = B` (or chain `A = B = C`) between arithmetic expressions the step states, where at
    least one side computes something. `x = 5` or `2 + 3x = 11` state nothing checkable and are skipped."""
    claims = []
    text = _normalize(step)
    for run in _ARITHMETIC_RUN.finditer(text):
        sides = [s.strip().strip(".").strip() for s in run.group().split("=")]
        # A run glued to a word (`2x + 3 = 7x`) starts or ends inside a larger expression: drop that side.
        body = run.group()
        if run.start() > 0 and not body[0].isspace() and (text[run.start() - 1].isalnum() or text[run.start() - 1] in "_\\]|"):
            sides[0] = ""
        if run.end() < len(text) and not body[-1].isspace() and (text[run.end()].isalnum() or text[run.end()] in "_\\[|"):
            sides[-1] = ""
        if re.match(r"[+*/]|-\s", sides[0]) or _UNIT_PRODUCT.search(text[: run.start()]):
            sides[0] = ""  # `2x + 3 = 7`, `15 pages x 1/3 = 5`, `25 + his 1 + 1 = 27`: only part of the left side
        for left, right in zip(sides, sides[1:]):
            if not (_OPERATOR.search(left) or _OPERATOR.search(right)):
                continue
            a, b = _evaluate(left), _evaluate(right)
            if a is not None and b is not None:
                claims.append(Claim(left, right, _equal(left, right, a, b)))
    return claims


def _canonical(step: str) -> str:
    return " ".join(step.split())


def describe_claim(claim: Claim) -> str:
    return f"{claim.left} = {claim.right} {'✓' if claim.holds else '✗'}"


def _progress_reason(step: str, seen: set[str]) -> str | None:
    """Why a step makes no progress (empty, or a repeat of an earlier step), or None when it may."""
    canonical = _canonical(step)
    return "empty step" if not canonical else "repeats an earlier step" if canonical in seen else None


class StepVerifier(RewardModel):
    """A reward with no weights: it checks every arithmetic claim a step makes with sympy.

    - a step with c claims that all hold: (c + ½)/(c + 1) — ¾ for one, ⅚ for two, rising toward 1;
    - a step with f > 0 false claims: ½ · ½^f — ¼ for one, ⅛ for two (one false claim makes a step wrong);
    - a step with nothing to check: ½, neither evidence for nor against it;
    - an empty step, or one that repeats an earlier step: 0 (it makes no progress).
    """

    name = "step-verifier"
    # From one false claim (¼) to two true ones (⅚); most steps state nothing checkable and score ½.
    scale = RewardScale(typical=(0.25, 5 / 6), neutral=0.5, meaning="whether the step's arithmetic checks out: "
                        "¾ one true claim, ¼ one false, ½ nothing to check")

    def score(self, question: str, steps: Sequence[str]) -> list[float]:
        return [self._judge(step, steps[:i]).reward for i, step in enumerate(steps)]

    def score_candidates(self, question: str, previous: Sequence[str], candidates: Sequence[str]) -> list[Scored]:
        return [self._judge(candidate, previous) for candidate in candidates]

    def _judge(self, step: str, previous: Sequence[str]) -> Scored:
        stalled = _progress_reason(step, {_canonical(p) for p in previous})
        if stalled:
            return Scored(0.0, (stalled,))
        claims = find_claims(step)
        return Scored(self.score_claims(claims), tuple(map(describe_claim, claims)) or ("nothing to check",))

    @staticmethod
    def score_claims(claims: Sequence[Claim]) -> float:
        if not claims:
            return 0.5
        false = sum(not claim.holds for claim in claims)
        return 0.5 * 0.5**false if false else (len(claims) + 0.5) / (len(claims) + 1)


# --- the calibrated verifier: evidence features → a fitted probability ---------------------------------------


_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
    "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "thousand": 1000, "dozen": 12, "half": 2,
    "twice": 2, "double": 2, "triple": 3, "thrice": 3, "quarter": 4, "third": 3,
}
# Numbers a step may use without a source: counting, percent, and everyday unit conversions.
_CONSTANTS = frozenset({0.0, 1.0, 2.0, 10.0, 100.0, 1000.0, 60.0, 24.0, 7.0, 12.0, 52.0, 365.0, 30.0, 0.5})


def _key(value: float) -> float:
    return round(float(value), 6)


def numbers_in(text: str) -> list[float]:
    """The numbers a text states, after the verifier's normalisation (`1,000` → 1000, `$5` → 5, `20%` → 20, 100)."""
    return [_key(float(n)) for n in _NUMBER.findall(_normalize(text))]


def _word_numbers(text: str) -> set[float]:
    return {float(_NUMBER_WORDS[w]) for w in re.findall(r"[a-z]+", text.lower()) if w in _NUMBER_WORDS}


def _claim_values(claims: Sequence[Claim]) -> list[float]:
    """The value of every side of every claim, in order: what a step computed."""
    values = []
    for claim in claims:
        for side in (claim.left, claim.right):
            value = _evaluate(side)
            if value is not None and value.is_real:
                values.append(_key(value))
    return values


def _boxed_value(step: str) -> float | None:
    answer = extract_boxed_answer(step)
    numbers = numbers_in(answer) if answer else []
    return numbers[0] if len(numbers) == 1 else None


def step_result(step: str) -> float | None:
    """What a step arrives at: its boxed number, else the last value its claims compute, else its last number."""
    boxed = _boxed_value(step)
    if boxed is not None:
        return boxed
    computed = _claim_values(find_claims(step))
    if computed:
        return computed[-1]
    numbers = numbers_in(step)
    return numbers[-1] if numbers else None


@dataclass(frozen=True)
class StepEvidence:
    """What `CalibratedVerifier` knows about one candidate step; `features` feeds its logistic model."""

    claims: tuple[Claim, ...]
    unsupported: tuple[float, ...]  # numbers in no earlier text, no computed result and no everyday constant
    boxed_disagrees: float | None  # the last computed quantity, when a boxed answer differs from it
    boxed: bool
    result: float | None
    agreeing: int  # other drafts of the same step that arrive at the same result
    siblings: int
    stalled: str | None  # "empty step" / "repeats an earlier step"

    FEATURES = ("true_claims", "false_claims", "unsupported", "boxed_disagrees", "boxed", "agreement", "no_result",
                "stalled")

    @property
    def features(self) -> list[float]:
        true = sum(c.holds for c in self.claims)
        agreement = self.agreeing / self.siblings if self.siblings else 0.5
        return [min(true, 3), min(len(self.claims) - true, 3), min(len(self.unsupported), 3),
                float(self.boxed_disagrees is not None), float(self.boxed), agreement, float(self.result is None),
                float(self.stalled is not None)]

    def reasons(self) -> list[str]:
        if self.stalled:
            return [self.stalled]
        reasons = [describe_claim(c) for c in self.claims] or ["no arithmetic to check"]
        if self.unsupported:
            reasons.append("numbers from nowhere: " + ", ".join(f"{n:g}" for n in self.unsupported))
        if self.boxed_disagrees is not None:
            reasons.append(f"boxed answer differs from the last computed {self.boxed_disagrees:g}")
        if self.result is not None and self.siblings:
            reasons.append(f"{self.agreeing} of {self.siblings} other drafts also reach {self.result:g}")
        return reasons


def gather_evidence(question: str, previous: Sequence[str], candidates: Sequence[str]) -> list[StepEvidence]:
    """The evidence for each candidate as the next step after `previous`, the other candidates as its siblings."""
    earlier_text = question + "\n" + "\n".join(previous)
    earlier_claims = [c for step in previous for c in find_claims(step)]
    known = {*numbers_in(earlier_text), *_word_numbers(earlier_text), *_claim_values(earlier_claims), *_CONSTANTS}
    seen = {_canonical(p) for p in previous}
    results = [step_result(c) for c in candidates]
    evidence = []
    for i, step in enumerate(candidates):
        claims = tuple(find_claims(step))
        computed = _claim_values(claims)
        supported = known | set(computed)
        unsupported = tuple(dict.fromkeys(n for n in numbers_in(step) if n not in supported))
        last = (computed or _claim_values(earlier_claims) or [None])[-1]
        boxed = _boxed_value(step)
        disagrees = last if boxed is not None and last is not None and abs(boxed - last) > 1e-6 else None
        others = [r for j, r in enumerate(results) if j != i]
        agreeing = sum(r is not None and r == results[i] for r in others) if results[i] is not None else 0
        evidence.append(StepEvidence(claims, unsupported, disagrees, has_boxed_answer(step), results[i], agreeing,
                                     len(others), _progress_reason(step, seen)))
    return evidence


# Intercept first, then StepEvidence.FEATURES in order. PRIOR_WEIGHTS are hand-set: their signs say what each
# piece of evidence means. The fit (`python scripts/fit_calibrated_verifier.py <labels>`: logistic regression on
# soft labels of the train split, L2 = 1 toward the prior) moves the weights the labels speak to and leaves the
# others at the prior; a weight never crosses to the side EVIDENCE_SIGNS forbids.
PRIOR_WEIGHTS = (0.0, 0.6, -1.5, -0.7, -1.5, 0.3, 1.5, -0.3, -3.0)
# The side each feature's weight must stay on (0: either), so that the reward is monotone in its evidence.
EVIDENCE_SIGNS = (1, -1, -1, -1, 0, 1, 0, -1)
# Fitted 2026-12-01 on assets/labels/gsm8k-offline-steps-pib: 108 candidates (27 positions, GSM8K rows 1002, 1003,
# 1005, 1006) of the train split; no labelled step had a false claim, a disagreeing boxed answer or a stall, so
# those weights are the prior's. Held out (rows 1001, 1004; 52 candidates): AUROC 0.766 (majority label) and
# 0.643 (any), against the step verifier's 0.559 and 0.484.
CALIBRATED_WEIGHTS = (-2.614, 0.015, -1.500, 0.000, -1.500, 0.694, 1.457, 1.146, -3.000)


class CalibratedVerifier(RewardModel):
    """A stand-in for a PRM with no weights of its own: the step verifier's sympy checks plus evidence that a step
    is right — numbers from nowhere, a boxed answer that disagrees with the last computed quantity, agreement
    among the n drafts of the step, an empty or repeated step — mapped to a probability by a logistic model
    fitted on steps of our own models labelled by rollouts (`CALIBRATED_WEIGHTS`)."""

    name = "calibrated-verifier"

    def __init__(self, weights: Sequence[float] = CALIBRATED_WEIGHTS):
        if len(weights) != len(StepEvidence.FEATURES) + 1:
            raise ConfigError(f"the calibrated verifier needs {len(StepEvidence.FEATURES) + 1} weights "
                              f"(intercept, {', '.join(StepEvidence.FEATURES)}); got {len(weights)}")
        self.weights = tuple(float(w) for w in weights)

    def probability(self, evidence: StepEvidence) -> float:
        return self._probability(evidence.features)

    def _probability(self, features: Sequence[float]) -> float:
        logit = self.weights[0] + sum(w * f for w, f in zip(self.weights[1:], features))
        return 1.0 / (1.0 + math.exp(-logit))

    @property
    def scale(self) -> RewardScale:
        """From its weights: a step whose result no other draft reaches (low) to a boxed answer every other draft
        reaches (high); neutral, a step that checks nothing and reaches the result every other draft reaches —
        in GSI runs on the offline pair the most common value (0.239 with the fitted weights; 0.187 for a step
        with no number at all). With the fitted weights: 0.068 to 0.386, the labelled set's 5th to 95th
        percentile."""
        def features(**present: float) -> list[float]:
            return [present.get(name, 0.0) for name in StepEvidence.FEATURES]

        low, high = self._probability(features()), self._probability(features(boxed=1, agreement=1))
        return RewardScale(typical=(low, high), neutral=self._probability(features(agreement=1)),
                           meaning="a fitted probability that the step leads to the right answer (fitted on the "
                                   "offline pair, which rarely gets there: about 0.2 for most steps)")

    def score(self, question: str, steps: Sequence[str]) -> list[float]:
        """Each step alone, with no sibling drafts to compare (agreement counts as ½)."""
        return [self.score_candidates(question, steps[:i], [step])[0].reward for i, step in enumerate(steps)]

    def score_candidates(self, question: str, previous: Sequence[str], candidates: Sequence[str]) -> list[Scored]:
        return [Scored(self.probability(e), tuple(e.reasons())) for e in gather_evidence(question, previous, candidates)]


# --- process reward models -----------------------------------------------------------------------------------


class StepTokenPRM(RewardModel):
    """A Qwen2.5-Math-PRM-style reward: the steps are joined with its step token in its chat format, and each
    step's reward is the probability of the positive class at that step's token. Subclasses say where the
    model runs (`_step_probabilities`); the input format is built here once for every backend.

    Steps are stripped of surrounding whitespace (our steps end in a blank line); an empty step is never sent
    to the model, so no empty trailing step is scored, and gets reward 0 like in the step verifier.
    """

    def __init__(self, tokenizer: Any, *, name: str, step_token: str = "<extra_0>", system: str = SYSTEM_PROMPT):
        self.tokenizer, self.name, self.step_token, self.system = tokenizer, name, step_token, system
        self.step_token_id = tokenizer.convert_tokens_to_ids(step_token)
        if self.step_token_id is None or self.step_token_id == tokenizer.unk_token_id:
            raise ConfigError(f"reward model {name!r}: its tokenizer has no step token {step_token!r}")

    def _conversation(self, question: str, steps: Sequence[str]) -> str:
        response = "".join(step + self.step_token for step in steps)
        messages = [
            {"role": "system", "content": self.system},
            {"role": "user", "content": question},
            {"role": "assistant", "content": response},
        ]
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=False)

    @abstractmethod
    def _step_probabilities(self, texts: list[str]) -> list[list[float]]:
        """For each conversation text, the positive-class probability at each step token, in order."""

    def score(self, question: str, steps: Sequence[str]) -> list[float]:
        cleaned = [step.strip() for step in steps]
        kept = [step for step in cleaned if step]
        if not kept:
            return [0.0] * len(steps)
        probabilities = iter(self._step_probabilities([self._conversation(question, kept)])[0])
        return [next(probabilities) if step else 0.0 for step in cleaned]

    def score_candidates(self, question: str, previous: Sequence[str], candidates: Sequence[str]) -> list[Scored]:
        kept_previous = [step for step in (s.strip() for s in previous) if step]
        texts = {c.strip(): self._conversation(question, [*kept_previous, c.strip()]) for c in candidates if c.strip()}
        scored = dict(zip(texts, (p[-1] for p in self._step_probabilities(list(texts.values())))))
        return [Scored(scored.get(c.strip(), 0.0)) for c in candidates]


class ProcessRewardModel(StepTokenPRM):
    """A PRM run in-process with transformers (a token-classification head, or remote code returning logits)."""

    def __init__(self, model: Any, tokenizer: Any, *, name: str = "prm", step_token: str = "<extra_0>",
                 system: str = SYSTEM_PROMPT, positive_label: int = 1, batch_size: int = 8):
        super().__init__(tokenizer, name=name, step_token=step_token, system=system)
        self.model, self.positive_label, self.batch_size = model.eval(), positive_label, batch_size

    def _step_probabilities(self, texts: list[str]) -> list[list[float]]:
        import torch

        results = []
        for start in range(0, len(texts), self.batch_size):
            batch = self.tokenizer(texts[start : start + self.batch_size], return_tensors="pt", padding=True,
                                   add_special_tokens=False).to(self.model.device)
            with torch.inference_mode():
                output = self.model(**batch)
            logits = output.logits if hasattr(output, "logits") else output[0]
            positive = torch.softmax(logits.float(), dim=-1)[..., self.positive_label]
            is_step = (batch["input_ids"] == self.step_token_id) & batch["attention_mask"].bool()
            results.extend(positive[row][is_step[row]].tolist() for row in range(len(positive)))
        return results
