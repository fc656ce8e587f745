"""The benchmark harness: every (problem, method, seed) run through the engine's events, one JSON line each.

A run directory holds `run.json` (what was run, where and when) and `results.jsonl` (one record per finished
(problem, method, seed), appended and flushed the moment it finishes), and `events/` (each run's events).
Re-running the same command resumes: finished pairs are skipped, and a line cut short by a kill is dropped. The
summary and the chart (`report.py`) are computed from the records alone, so they can be rebuilt from a directory at
any time (`python -m gsi_core report DIR`, or `report.summarize(read_records(dir))`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from .config import ConfigError, DecodingConfig, Preset, RewardSpec
from .costs import estimated_flops
from .data import Problem
from .methods import METHODS, run_method
from .provenance import machine_label, provenance  # noqa: F401  (importable from here, as before)
from .rewards import CALIBRATED_WEIGHTS
from .run import Run

SAVED_RUNS_DIR = Path(__file__).resolve().parent.parent / "assets" / "eval"
RESULTS_FILE = "results.jsonl"
RUN_FILE = "run.json"
EVENTS_DIR = "events"  # each finished run's events, one JSON-lines file per (problem, method, seed)
UNRECORDED_REWARD = {"kind": "step-verifier"}  # what a run saved without a reward key scored with


@dataclass(frozen=True)
class Record:
    """One (problem, method, seed) outcome: what a results line holds."""

    dataset: str
    problem_id: str
    method: str
    seed: int
    prediction: str | None
    gold: str
    correct: bool
    stop_reason: str
    steps: int
    accepted: int
    fallbacks: int
    tokens_small: int
    tokens_big: int
    tokens_scored_big: int
    flops: float
    wall_time: float
    stage_times: dict[str, float]
    # How the reward told a step's drafts apart (the frontier's reads them); None in records saved before.
    differing_steps: int | None = None  # steps whose drafts' rewards are not all equal
    reward_counts: dict[str, int] | None = None  # how many drafts got each reward value (4 decimals)

    @property
    def key(self) -> tuple[str, str, int]:
        return self.problem_id, self.method, self.seed


def make_record(problem: Problem, seed: int, run: Run, correct: bool) -> Record:
    start, summary = run.start, run.summary
    return Record(
        dataset=problem.dataset, problem_id=problem.id, method=summary.method, seed=seed,
        prediction=summary.answer, gold=problem.gold, correct=correct, stop_reason=summary.stop_reason,
        steps=summary.steps, accepted=summary.accepted, fallbacks=summary.fallbacks,
        tokens_small=summary.tokens_small, tokens_big=summary.tokens_big, tokens_scored_big=summary.tokens_scored_big,
        flops=estimated_flops(start, summary)["total"], wall_time=summary.wall_time,
        stage_times=dataclasses.asdict(summary.timings), **reward_spread(run),
    )


def reward_spread(run: Run) -> dict[str, Any]:
    """Of a run's steps, how many had drafts with different rewards, and how many drafts got each reward value:
    a reward that gives every draft the same value cannot tilt the choice, whatever u is."""
    differing, counts = 0, Counter()
    for step in run.steps:
        rewards = [f"{round(c.reward, 4):g}" for c in step.candidates if c.reward is not None]
        differing += len(set(rewards)) > 1
        counts.update(rewards)
    return {"differing_steps": differing, "reward_counts": dict(counts)}


def run_info(command: str, dataset: str, preset: Preset, config: dict[str, Any],
             reward: RewardSpec | None = None) -> dict[str, Any]:
    """What `run.json` records. `settings` must match on resume; the rest describes the first session.

    Latency through vLLM servers is not comparable with in-process latency, so a served run says so in its
    settings and cannot be resumed in-process (or the reverse). In-process runs carry no backend key, so runs
    saved before the vLLM backend existed still resume. Int8 decoding changes latency (and the sampled tokens'
    last bits) too, so the roles decoded on int8 weights are recorded and must match; runs without the key ran
    none. A run that scores with `reward` records it (the calibrated verifier with its weights), so a preset whose
    reward changed cannot resume it; runs without the key scored with the step verifier, the only reward then."""
    settings = {"dataset": dataset, "preset": preset.name, "config": config}
    if reward is not None:
        settings["reward"] = reward_settings(reward)
    if preset.served:
        settings["backend"] = "vllm"
    int8_roles = [role for role in ("small", "big") if getattr(preset, role).int8_decode]
    if int8_roles:
        settings["int8_decode"] = int8_roles
    return {"settings": settings, **provenance(command, preset)}


def reward_settings(reward: RewardSpec) -> dict[str, Any]:
    """The reward as a run's settings name it: its spec, with the calibrated verifier's weights written out."""
    if reward.kind == "calibrated-verifier" and reward.weights is None:
        return {**reward.to_config(), "weights": list(CALIBRATED_WEIGHTS)}
    return reward.to_config()


def comparable(settings: dict[str, Any]) -> dict[str, Any]:
    """Settings as a resume compares them: a decoding setting added since a run was saved takes its default,
    which is what that run did (n_small and n_big = n, no reward floor); the seed is left out, as each record
    carries its own (`--seeds` adds seeds to a directory); a run without a reward key used the step verifier."""
    defaults = {f.name: f.default for f in dataclasses.fields(DecodingConfig)}
    config = {**defaults, **settings.get("config", {})}
    config.pop("seed", None)
    return {"reward": UNRECORDED_REWARD, **settings, "config": config}


class RunDirectory:
    """`run.json` + `results.jsonl` of one evaluation; appends survive Ctrl-C and kills."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.results = self.path / RESULTS_FILE

    def info(self) -> dict[str, Any] | None:
        file = self.path / RUN_FILE
        return json.loads(file.read_text()) if file.exists() else None

    def open(self, info: dict[str, Any]) -> None:
        """Create the directory, or check that an existing one was made with the same settings."""
        existing = self.info()
        if existing is None:
            self.path.mkdir(parents=True, exist_ok=True)
            self._write_info(info)
        elif comparable(existing["settings"]) != comparable(info["settings"]):
            raise ValueError(
                f"{self.path} holds a run with other settings ({json.dumps(existing['settings'])}); "
                "resume it with the same dataset, preset and decoding flags, or choose another --out"
            )
        self._drop_torn_tail()

    def note_resumed(self, info: dict[str, Any]) -> None:
        """Add this session (date, machine, commit) to `run.json`'s `resumed` list, so a run spread over days,
        commits or machines is labelled with all of them."""
        self._note("resumed", {key: info[key] for key in ("date", "machine", "commit") if key in info})

    def resumed_on_first(self, records: Iterable[Any], info: dict[str, Any], resuming: bool) -> Iterator[Any]:
        """Pass `records` through, noting this session (when `resuming`) as the first one arrives: `resumed` then
        names only the sessions that added results, not a start that failed to load or was stopped before a run."""
        for record in records:
            if resuming:
                self.note_resumed(info)
                resuming = False
            yield record

    def note_regraded(self, info: dict[str, Any], changed: int) -> None:
        """Record in `run.json` that this session graded the stored answers again, and how many results changed."""
        self._note("regraded", {key: info[key] for key in ("date", "commit") if key in info} | {"changed": changed})

    def _note(self, key: str, entry: dict[str, Any]) -> None:
        existing = self.info()
        self._write_info({**existing, key: [*existing.get(key, []), entry]})

    def _write_info(self, info: dict[str, Any]) -> None:
        (self.path / RUN_FILE).write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n")

    def _drop_torn_tail(self) -> None:
        """A process killed mid-write can leave a last line without its newline: cut it off."""
        if not self.results.exists():
            return
        data = self.results.read_bytes()
        if data and not data.endswith(b"\n"):
            with open(self.results, "r+b") as file:
                file.truncate(data.rfind(b"\n") + 1)

    def records(self) -> list[Record]:
        return read_records(self.path)

    def save_events(self, key: tuple[str, str, int], run: Run) -> None:
        """The run's whole event stream (what its record sums up), for reading a run step by step later."""
        folder = self.path / EVENTS_DIR
        folder.mkdir(exist_ok=True)
        (folder / "{}-{}-{}.jsonl".format(*key)).write_text(run.to_jsonl(), encoding="utf-8")

    def saved_events(self) -> dict[tuple[str, str, int], Run]:
        """(problem, method, seed) → its run, for every run whose events were saved."""
        runs = {}
        for file in sorted((self.path / EVENTS_DIR).glob("*.jsonl")):
            problem, rest = file.stem.split("-", 1)  # problem ids hold no dash; method names may
            method, seed = rest.rsplit("-", 1)
            runs[problem, method, int(seed)] = Run.from_jsonl(file.read_text(encoding="utf-8"))
        return runs

    def append(self, record: Record) -> None:
        self.append_json(dataclasses.asdict(record))

    def rewrite_json(self, lines: list[dict[str, Any]]) -> None:
        """Replace the results with these lines in one atomic rename, so a kill leaves the old file or the new."""
        temporary = self.results.with_suffix(".tmp")
        temporary.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
        os.replace(temporary, self.results)

    def append_json(self, data: dict[str, Any]) -> None:
        """One line, flushed and synced before returning, so a kill never loses a finished line."""
        line = json.dumps(data, ensure_ascii=False) + "\n"
        with open(self.results, "a", encoding="utf-8") as file:
            file.write(line)
            file.flush()
            os.fsync(file.fileno())


def read_records(path: Path | str) -> list[Record]:
    """The records of a run directory (or a results file); a torn last line is ignored."""
    path = Path(path)
    file = path / RESULTS_FILE if path.is_dir() else path
    if not file.exists():
        return []
    records = []
    for line in file.read_text(encoding="utf-8").splitlines():
        try:
            records.append(Record(**json.loads(line)))
        except (json.JSONDecodeError, TypeError):
            continue
    return records


def pending(problems: Sequence[Problem], methods: Sequence[str], seeds: Sequence[int],
            done: Iterable[tuple[str, str, int]]) -> list[tuple[Problem, str, int]]:
    """What is left to run, seed by seed and within a seed problem by problem (all methods of a problem before
    the next problem), so a run stopped early still compares every method on the same problems and seeds."""
    finished = set(done)
    return [(problem, method, seed) for seed in seeds for problem in problems for method in methods
            if (problem.id, method, seed) not in finished]


Runner = Callable[[Problem, str, int], Run]


def evaluate(
    directory: RunDirectory,
    todo: Sequence[tuple[Problem, str, int]],
    run: Runner,
    grade: Callable[[str | None, str, str], bool],
) -> Iterator[Record]:
    """Run and record each pending (problem, method, seed), yielding each record once it is safely on disk."""
    for problem, method, seed in todo:
        finished = run(problem, method, seed)
        correct = grade(finished.summary.answer, problem.gold, problem.dataset)
        record = make_record(problem, seed, finished, correct)
        directory.save_events(record.key, finished)
        directory.append(record)
        yield record


class EvalProgress:
    """What `run_eval` reports as it goes, for a caller to show (the CLI prints it); every hook is optional."""

    def planned(self, directory: RunDirectory, problems: int, methods: int, seeds: int, done: int, todo: int) -> None:
        """The runs already on disk and those left to run, before anything loads."""

    def advanced(self, problem: Problem, method: str, run: Run) -> None:
        """The pair's run took another event."""

    def recorded(self, record: Record) -> None:
        """A pair finished and its record is on disk."""


def check_seeds(seeds: Sequence[int]) -> list[int]:
    """The seeds to evaluate, refused when empty, repeated or not a valid seed."""
    if not seeds or len(set(seeds)) != len(seeds):
        raise ConfigError(f"give one or more different seeds (got {list(seeds)})")
    for seed in seeds:
        DecodingConfig(seed=seed)  # the same range check as a single --seed
    return list(seeds)


def check_methods(methods: Sequence[str]) -> list[str]:
    """The method names to evaluate, refused when empty or not in the registry."""
    unknown = [m for m in methods if m not in METHODS]
    if not methods or unknown:
        raise ConfigError(f"unknown method(s) {unknown}; choose from: {', '.join(METHODS)}")
    return list(methods)


def _stop_on_signals() -> dict[int, Any]:
    """Ctrl-C, and `kill -INT` / `kill -TERM` of a run started in the background (where a shell ignores SIGINT),
    all end a run the same way: finished pairs (or labelled positions) are on disk, the one in flight is dropped.
    Returns the handlers it replaced."""

    def interrupt(*_):
        raise KeyboardInterrupt

    return {signal.SIGINT: signal.signal(signal.SIGINT, signal.default_int_handler),
            signal.SIGTERM: signal.signal(signal.SIGTERM, interrupt)}


def run_eval(
    out: Path | str,
    dataset: str,
    problems: Sequence[Problem],
    methods: Sequence[str],
    preset: Preset,
    config: DecodingConfig,
    command: str,
    progress: EvalProgress | None = None,
    seeds: Sequence[int] | None = None,
) -> bool:
    """Run every pending (problem, method, seed) of a run directory, resuming what is on disk; `seeds` default to
    the config's one. Returns False when a signal stopped it (every finished run is saved; the same call
    resumes), True when all are done. More seeds can be added to a directory later: the seed is not a setting.

    `run.json` records the settings (which must match on resume) and each session's provenance; the models
    load and the grader starts only when something is left to run, and the grader is always shut down."""
    from .loading import load_components

    progress = progress or EvalProgress()
    methods = check_methods(methods)
    seeds = check_seeds([config.seed] if seeds is None else seeds)
    directory = RunDirectory(out)
    info = run_info(command, dataset, preset, dataclasses.asdict(config.replace(seed=seeds[0])), preset.reward)
    directory.open(info)
    todo = pending(problems, methods, seeds, (r.key for r in directory.records()))
    total = len(problems) * len(methods) * len(seeds)
    progress.planned(directory, len(problems), len(methods), len(seeds), total - len(todo), len(todo))
    if not todo:
        return True
    parts = load_components(preset)

    def run(problem: Problem, method: str, seed: int) -> Run:
        folded = Run()
        seeded = config.replace(seed=seed)
        for event in run_method(method, problem.question, parts.small, parts.big, parts.reward, seeded):
            folded = folded.add(event)
            progress.advanced(problem, method, folded)
        return folded

    def record_all(grader) -> None:
        runs = directory.resumed_on_first(evaluate(directory, todo, run, grader.grade), info, len(todo) < total)
        for record in runs:
            progress.recorded(record)

    return until_stopped(record_all)


def until_stopped(work: Callable[[Any], None]) -> bool:
    """Run `work(grader)` with a fresh grader and with Ctrl-C / `kill` turned into a clean stop: False when a
    signal stopped it (what was appended is on disk), True when it finished. The grader is always shut down and
    the signal handlers restored."""
    from .grading import Grader

    grader = Grader()
    replaced = _stop_on_signals()
    try:
        work(grader)
    except KeyboardInterrupt:
        return False
    finally:
        grader.close()
        for number, handler in replaced.items():
            signal.signal(number, handler)
    return True
