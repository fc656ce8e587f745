"""Rewards behind one call, `score(question, steps) -> one reward in [0, 1] per step`.

`StepVerifier` needs no weights: it checks the arithmetic a step states. `ProcessRewardModel` wraps a
Qwen2.5-Math-PRM-style model. Both implement `RewardModel` (gsi_core/vocabulary.py); methods never know which they have.
"""

from __future__ import annotations

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

from .config import SYSTEM_PROMPT, ConfigError
from .vocabulary import RewardModel  # the interface every reward implements; importable from here as before


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


class StepVerifier(RewardModel):
    """A reward with no weights: it checks every arithmetic claim a step makes with sympy.

    - a step with c claims that all hold: (c + ½)/(c + 1) — ¾ for one, ⅚ for two, rising toward 1;
    - a step with f > 0 false claims: ½ · ½^f — ¼ for one, ⅛ for two (one false claim makes a step wrong);
    - a step with nothing to check: ½, neither evidence for nor against it;
    - an empty step, or one that repeats an earlier step: 0 (it makes no progress).
    """

    name = "step-verifier"

    def score(self, question: str, steps: Sequence[str]) -> list[float]:
        seen: set[str] = set()
        rewards = []
        for step in steps:
            canonical = _canonical(step)
            rewards.append(0.0 if not canonical or canonical in seen else self.score_claims(find_claims(step)))
            seen.add(canonical)
        return rewards

    @staticmethod
    def score_claims(claims: Sequence[Claim]) -> float:
        if not claims:
            return 0.5
        false = sum(not claim.holds for claim in claims)
        return 0.5 * 0.5**false if false else (len(claims) + 0.5) / (len(claims) + 1)


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

    def score_candidates(self, question: str, previous: Sequence[str], candidates: Sequence[str]) -> list[float]:
        kept_previous = [step for step in (s.strip() for s in previous) if step]
        texts = {c.strip(): self._conversation(question, [*kept_previous, c.strip()]) for c in candidates if c.strip()}
        scored = dict(zip(texts, (p[-1] for p in self._step_probabilities(list(texts.values())))))
        return [scored.get(c.strip(), 0.0) for c in candidates]


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
