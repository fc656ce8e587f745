"""Labelled steps of our own models, the way Math-Shepherd-style process reward models are trained.

On a fixed part of GSM8K that the harness's evaluation slice never touches, a trajectory is walked step by step:
at each position the drafting model (π_S, or π_B on every `big_every`-th problem) drafts n candidate steps, and
every candidate is labelled by k completions rolled out from prefix + candidate by `roller` (π_B by default: the
0.5B π_S solved none of the first problems it rolled out, so its labels said little): its soft label is the share
of completions whose boxed answer is the gold one (`hard_any`: at least one; `hard_majority`: more than half). A candidate that already ends the solution (a boxed answer, or EOS) is labelled by its own
answer. The n candidates of one position are stored together in one JSON line, so that agreement among sibling
drafts can be measured; the trajectory continues with the first candidate (an unbiased draw of the drafter) until
an answer, EOS or `max_steps`.

The directory is a run directory like `eval`'s (`run.json` with provenance, append-only `results.jsonl`), and
the same command resumes it: finished positions are skipped and a trajectory continues where it stopped.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from .answers import extract_boxed_answer, has_boxed_answer
from .config import STEP_DELIMITERS, Preset
from .data import Problem
from .models import TransformersStepModel
from .vocabulary import Draft, Prompt

DEFAULT_START_ROW = 1000  # the harness evaluates the first rows (`--limit 20`); labels come from the far end


@dataclass(frozen=True)
class LabelSettings:
    """Everything that decides a label; a resumed directory must have been made with the same."""

    start_row: int = DEFAULT_START_ROW
    n: int = 4
    k: int = 4
    temperature: float = 0.7
    max_steps: int = 8
    max_step_tokens: int = 160
    rollout_tokens: int = 384
    big_every: int = 4  # π_B drafts the problems whose offset from start_row is ≡ big_every − 1 (mod big_every)
    seed: int = 0
    roller: str = "big"  # the role whose model rolls out the completions: "big" (π_B) or "small" (π_S)
    # Where a drafted step ends, a key of config.STEP_DELIMITERS; sets labelled before the key existed used blank-line.
    step_delimiter: str = "blank-line"

    def drafter(self, row: int) -> str:
        return "big" if self.big_every and (row - self.start_row) % self.big_every == self.big_every - 1 else "small"


def _seed(settings: LabelSettings, row: int, position: int, stage: int) -> int:
    return int(np.random.SeedSequence([settings.seed, row, position, stage]).generate_state(1)[0])


def _draft_record(draft: Draft) -> dict[str, Any]:
    return {"text": draft.text, "token_ids": list(draft.token_ids), "finish_reason": draft.finish_reason,
            "logprob": draft.logprob}


def _labels(correct: Sequence[bool]) -> dict[str, Any]:
    share = sum(correct) / len(correct)
    return {"soft_label": share, "hard_any": share > 0, "hard_majority": share > 0.5}


def regrade(positions: Sequence[dict[str, Any]], grade: Callable[[str | None, str], bool]) -> int:
    """Grade the stored answers of labelled positions again, in place, with today's grader (labels outlive grader
    fixes: `2:00 pm` against the gold `2`). Returns how many candidates' labels changed."""
    changed = 0
    for position in positions:
        for candidate in position["candidates"]:
            if candidate["terminal"]:
                correct = [grade(candidate["answer"], position["gold"])]
            else:
                for rollout in candidate["rollouts"]:
                    rollout["correct"] = grade(rollout["answer"], position["gold"])
                correct = [rollout["correct"] for rollout in candidate["rollouts"]]
            labels = _labels(correct)
            changed += any(candidate[key] != value for key, value in labels.items())
            candidate.update(labels)
    return changed


def _ends_solution(draft: Draft) -> bool:
    return has_boxed_answer(draft.text) or draft.finish_reason == "eos"


def label_position(
    problem: Problem, row: int, position: int, previous: Sequence[Draft], drafter_role: str,
    models: Callable[[str], TransformersStepModel], grade: Callable[[str | None, str], bool], settings: LabelSettings,
) -> dict[str, Any]:
    """One JSON record: the n candidates drafted after `previous`, each with its rollouts and labels."""
    started = time.perf_counter()
    prompt = Prompt(problem.question)
    drafter, roller = models(drafter_role), models(settings.roller)
    drafts = drafter.draft(prompt, previous, settings.n, temperature=settings.temperature,
                           max_tokens=settings.max_step_tokens, seed=_seed(settings, row, position, 0),
                           step_end=STEP_DELIMITERS[settings.step_delimiter])
    drafted = time.perf_counter()
    prefix_text = "".join(step.text for step in previous)
    open_drafts = [d for d in drafts if not _ends_solution(d)]
    completions = iter(roller.complete(
        prompt, previous, open_drafts, settings.k, temperature=settings.temperature,
        max_tokens=settings.rollout_tokens, seed=_seed(settings, row, position, 1), stop=has_boxed_answer,
    ) if open_drafts else [])
    candidates = []
    for draft in drafts:
        record = _draft_record(draft)
        if _ends_solution(draft):
            answer = extract_boxed_answer(prefix_text + draft.text)
            record.update(terminal=True, answer=answer, rollouts=[], **_labels([grade(answer, problem.gold)]))
        else:
            rollouts = []
            for completion in next(completions):
                answer = extract_boxed_answer(prefix_text + draft.text + completion.text)
                rollouts.append({"answer": answer, "correct": grade(answer, problem.gold),
                                 "num_tokens": len(completion.token_ids), "finish_reason": completion.finish_reason})
            record.update(terminal=False, rollouts=rollouts, **_labels([r["correct"] for r in rollouts]))
        candidates.append(record)
    continued = drafts[0]
    end = ("answer" if has_boxed_answer(continued.text) else "eos" if continued.finish_reason == "eos"
           else "max_steps" if position + 1 >= settings.max_steps else None)
    return {
        "problem_id": problem.id, "row": row, "question": problem.question, "gold": problem.gold,
        "position": position, "drafter": drafter_role, "drafter_model": drafter.name, "rollout_model": roller.name,
        "previous": [step.text for step in previous], "candidates": candidates, "continued_with": 0, "end": end,
        "seconds": {"draft": drafted - started, "total": time.perf_counter() - started},
    }


def read_positions(path: Path | str) -> list[dict[str, Any]]:
    """The labelled positions of a directory (or its results file); a torn last line is ignored."""
    path = Path(path)
    file = path / "results.jsonl" if path.is_dir() else path
    positions = []
    for line in file.read_text(encoding="utf-8").splitlines() if file.exists() else []:
        try:
            positions.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return positions


def _committed(record: dict[str, Any], vocab: str) -> Draft:
    """The step a trajectory continued with at this position, as drafted (token ids included)."""
    chosen = record["candidates"][record["continued_with"]]
    return Draft(chosen["text"], tuple(chosen["token_ids"]), vocab, chosen["logprob"], chosen["finish_reason"])


def _ended(records: Sequence[dict[str, Any]]) -> bool:
    return any(record["end"] is not None for record in records)


def label_problems(
    problems: Sequence[tuple[int, Problem]], done: Sequence[dict[str, Any]],
    models: Callable[[str], TransformersStepModel], grade: Callable[[str | None, str], bool],
    settings: LabelSettings, log: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
) -> Iterator[dict[str, Any]]:
    """Label trajectory after trajectory, yielding each position's record; resumes after the `done` records.
    Logs the rate after each position and an ETA for the rest of the problems."""
    by_problem: dict[str, list[dict[str, Any]]] = {}
    for record in done:
        by_problem.setdefault(record["problem_id"], []).append(record)
    todo = [(row, problem) for row, problem in problems if not _ended(by_problem.get(problem.id, []))]
    finished_lengths = [len(records) for records in by_problem.values() if _ended(records)]
    seconds, positions = 0.0, 0
    for number, (row, problem) in enumerate(todo):
        role = settings.drafter(row)
        vocab = models(role).vocab
        steps = [_committed(r, vocab) for r in sorted(by_problem.get(problem.id, []), key=lambda r: r["position"])]
        for position in range(len(steps), settings.max_steps):
            record = label_position(problem, row, position, steps, role, models, grade, settings)
            yield record
            seconds += record["seconds"]["total"]
            positions += 1
            steps.append(_committed(record, vocab))
            per_position = seconds / positions
            per_problem = np.mean(finished_lengths) if finished_lengths else settings.max_steps * 0.75
            remaining = (len(todo) - number - 1) * per_problem + max(0.0, per_problem - position - 1)
            log(f"[label] row {row} ({role}) step {position}: soft labels "
                f"{[round(c['soft_label'], 2) for c in record['candidates']]} in {record['seconds']['total']:.0f} s; "
                f"{3600 / per_position * settings.n:.0f} candidates/hour; "
                f"ETA for all {len(problems)} problems ≈ {remaining * per_position / 3600:.1f} h")
            if record["end"]:
                finished_lengths.append(position + 1)
                break



def run_labelling(out: Path | str, problems: Sequence[tuple[int, Problem]], preset: Preset, settings: LabelSettings,
                  command: str) -> bool:
    """Label every pending position of a run directory, resuming what is on disk (`run.json` records the settings,
    which must match, and each session's provenance). Returns False when a signal stopped it, True when done.
    The models load when first needed (π_B only for the problems it drafts)."""
    from .evaluation import RunDirectory, run_info, until_stopped
    from .loading import load_step_model

    directory = RunDirectory(out)
    info = run_info(command, "gsm8k", preset, asdict(settings))
    directory.open(info)
    done = read_positions(directory.path)
    print(f"[label] {len(problems)} problems from row {settings.start_row}, {len(done)} positions already "
          f"labelled → {directory.results}", file=sys.stderr)
    loaded: dict[str, TransformersStepModel] = {}

    def models(role: str) -> TransformersStepModel:
        if role not in loaded:
            loaded[role] = load_step_model(getattr(preset, role))
        return loaded[role]

    def label_all(grader) -> None:
        def grade(answer: str | None, gold: str) -> bool:
            return grader.grade(answer, gold, "gsm8k")

        changed = regrade(done, grade)
        if changed:
            directory.rewrite_json(done)
            directory.note_regraded(info, changed)
            print(f"[label] graded the stored answers again: {changed} candidates' labels changed", file=sys.stderr)
        for record in directory.resumed_on_first(label_problems(problems, done, models, grade, settings), info,
                                                 resuming=bool(done)):
            directory.append_json(record)

    return until_stopped(label_all)


SPLITS = ("all", "train", "heldout")


def split_positions(positions: Sequence[dict[str, Any]], part: str) -> list[dict[str, Any]]:
    """A fixed split by problem: `heldout` holds the problems whose GSM8K row is ≡ 2 (mod 3), never used to fit a
    reward; `train` the others; `all` both. Splitting by problem keeps sibling positions on one side."""
    if part not in SPLITS:
        raise ValueError(f"unknown split {part!r}; choose one of: {', '.join(SPLITS)}")
    return [p for p in positions if part == "all" or (p["row"] % 3 == 2) == (part == "heldout")]
