"""The five benchmarks: each row becomes a problem statement to pose and the gold answer to grade against."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from .answers import extract_boxed_answer

BENCHMARKS_DIR = Path(os.environ.get("GSI_BENCHMARKS_DIR") or Path(__file__).resolve().parents[1] / "data" / "benchmarks")
FILES = {"gsm8k": "gsm8k.jsonl", "math500": "math500.jsonl", "minerva": "minerva_math.jsonl",
         "mmlu_stem": "mmlu_stem.jsonl", "olympiadbench": "olympiadbench.jsonl"}


@dataclass(frozen=True)
class Problem:
    dataset: str
    id: str
    question: str  # what the models are asked, with the dataset's instructions
    gold: str


def _problem(dataset: str, number: int, row: dict) -> Problem:
    if dataset == "gsm8k":
        return Problem(dataset, str(row.get("idx", number)), row["question"],
                       row["answer"].split("####")[-1].strip().replace(",", ""))
    if dataset == "math500":
        return Problem(dataset, row.get("unique_id", str(number)), row["problem"], row["answer"])
    if dataset == "minerva":
        question = row["problem"] + "\n\nPut only the final number or expression in \\boxed{}, without units."
        return Problem(dataset, str(row.get("idx", number)), question, extract_boxed_answer(row["solution"]) or "")
    if dataset == "olympiadbench":
        context = f"{row['context']}\n\n" if row.get("context") else ""
        answers = row["final_answer"] if isinstance(row["final_answer"], list) else [row["final_answer"]]
        return Problem(dataset, str(row.get("id", number)), context + row["question"], ", ".join(answers))
    if dataset == "mmlu_stem":
        choices = "\n".join(f"({letter}) {choice}" for letter, choice in zip("ABCD", row["choices"]))
        question = f"{row['question']}\n\n{choices}\n\nAnswer with the letter of the correct choice in \\boxed{{}}."
        return Problem(dataset, str(number), question, "ABCD"[row["answer"]])
    raise ValueError(f"unknown dataset {dataset!r}; choose one of: {', '.join(FILES)}")


def load_problems(dataset: str, path: Path | str | None = None, limit: int | None = None,
                  offset: int = 0) -> list[Problem]:
    """Problems of `dataset` from `path` (default: the repository's data/benchmarks, or `GSI_BENCHMARKS_DIR`),
    from row `offset` on (each keeps its row number as its id)."""
    if dataset not in FILES:
        raise ValueError(f"unknown dataset {dataset!r}; choose one of: {', '.join(FILES)}")
    problems = []
    with open(Path(path) if path else BENCHMARKS_DIR / FILES[dataset]) as lines:
        for number, line in enumerate(lines):
            if number < offset:
                continue
            problems.append(_problem(dataset, number, json.loads(line)))
            if limit and len(problems) >= limit:
                break
    return problems
