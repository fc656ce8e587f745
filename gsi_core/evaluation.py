"""The benchmark harness: every (problem, method, seed) run through the engine's events, one JSON line each.

A run directory holds `run.json` (what was run, where and when) and `results.jsonl` (one record per finished
(problem, method, seed), appended and flushed the moment it finishes), and `events/` (each run's events). Re-running the same command resumes: finished
pairs are skipped, and a line cut short by a kill is dropped. The summary and the chart are computed from the
records alone, so they can be rebuilt from a directory at any time (`python -m gsi_core eval … ` again, or
`summarize(read_records(dir))`).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import signal
import statistics
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from .config import ConfigError, DecodingConfig, Preset, RewardSpec
from .costs import estimated_flops
from .data import Problem
from .methods import METHODS, REFERENCE_METHOD, run_method
from .provenance import machine_label, provenance  # noqa: F401  (importable from here, as before)
from .rewards import CALIBRATED_WEIGHTS
from .run import Run

SAVED_RUNS_DIR = Path(__file__).resolve().parent.parent / "assets" / "eval"
RESULTS_FILE = "results.jsonl"
RUN_FILE = "run.json"
EVENTS_DIR = "events"  # each finished run's events, one JSON-lines file per (problem, method, seed)
BASELINE_METHOD = "gsi"  # the paired differences are each method's accuracy minus this one's
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
        stage_times=dataclasses.asdict(summary.timings),
    )


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


# ----- summary -----


@dataclass(frozen=True)
class MethodSummary:
    method: str
    problems: int
    seeds: int
    accuracy: float  # the mean over seeds of each seed's accuracy (one seed: that seed's)
    accuracy_sd: float | None  # the standard deviation of the seeds' accuracies, as the paper reports; None for one
    accuracy_se: float  # binomial standard error over all its runs, sqrt(p(1-p)/N)
    mean_latency: float
    median_latency: float
    latency_ratio: float | None  # mean latency / the reference method's, over the (problem, seed) runs both finished
    flops_ratio: float | None
    acceptance: float | None  # accepted π_S steps / decided steps (GSI, RSD)
    mean_steps: float
    partial_seeds: tuple[tuple[int, int], ...] = ()  # (seed, problems it has) of seeds left out: see `complete_seeds`


RunKey = tuple[str, int]  # (problem, seed): what pairs two methods' runs


def _by_method(records: Sequence[Record]) -> dict[str, dict[RunKey, Record]]:
    by_method: dict[str, dict[RunKey, Record]] = {}
    for record in records:
        by_method.setdefault(record.method, {})[record.problem_id, record.seed] = record
    return by_method


def _ratio(records: dict[RunKey, Record], reference: dict[RunKey, Record], field: str) -> float | None:
    shared = sorted(set(records) & set(reference))
    denominator = sum(getattr(reference[k], field) for k in shared)
    if not shared or denominator <= 0:
        return None
    return sum(getattr(records[k], field) for k in shared) / denominator


def complete_seeds(records: Sequence[Record]) -> tuple[set[int], tuple[tuple[int, int], ...]]:
    """Of one method's runs, the seeds that cover the same problems, and (seed, problems) of the others.

    A mean ± sd over seeds compares like with like only when every seed ran the same problems; a run stopped in
    the middle of a seed (they run seed by seed) would otherwise average 20 problems with the first 3 of the next.
    The problems are the largest set any seed covers (the earliest seed among equals); a seed covering exactly
    those counts, the others are set aside until they are finished."""
    per_seed: dict[int, set[str]] = defaultdict(set)
    for r in records:
        per_seed[r.seed].add(r.problem_id)
    widest = max(per_seed.values(), key=len)
    kept = {seed for seed, problems in per_seed.items() if problems == widest}
    partial = tuple((seed, len(problems)) for seed, problems in per_seed.items() if seed not in kept)
    return kept, partial


def summarize(records: Sequence[Record], reference: str = REFERENCE_METHOD) -> list[MethodSummary]:
    """Per method, in first-seen order, over its complete seeds (`complete_seeds`). Ratios are paired: only
    (problem, seed) runs the reference also finished count. Records written before `--seeds` existed all carry
    seed 0, so they read as one seed."""
    by_method = _by_method(records)
    reference_records = by_method.get(reference, {})
    summaries = []
    for method, rows in by_method.items():
        kept, partial = complete_seeds(list(rows.values()))
        rows = {key: r for key, r in rows.items() if key[1] in kept}
        values = list(rows.values())
        per_seed: dict[int, list[bool]] = defaultdict(list)
        for r in values:
            per_seed[r.seed].append(r.correct)
        seed_accuracies = [sum(c) / len(c) for c in per_seed.values()]
        pooled = sum(r.correct for r in values) / len(values)
        decided = sum(r.accepted + r.fallbacks for r in values)
        latencies = [r.wall_time for r in values]
        summaries.append(MethodSummary(
            method=method,
            problems=len({r.problem_id for r in values}),
            seeds=len(per_seed),
            accuracy=statistics.fmean(seed_accuracies),
            accuracy_sd=statistics.stdev(seed_accuracies) if len(seed_accuracies) > 1 else None,
            accuracy_se=math.sqrt(pooled * (1 - pooled) / len(values)),
            mean_latency=statistics.fmean(latencies),
            median_latency=statistics.median(latencies),
            latency_ratio=_ratio(rows, reference_records, "wall_time"),
            flops_ratio=_ratio(rows, reference_records, "flops"),
            acceptance=sum(r.accepted for r in values) / decided if decided else None,
            mean_steps=statistics.fmean(r.steps for r in values),
            partial_seeds=partial,
        ))
    return summaries


@dataclass(frozen=True)
class PairedDifference:
    """A method's accuracy minus the baseline's over the (problem, seed) runs both finished, with a 95% interval."""

    method: str
    problems: int
    pairs: int
    difference: float
    low: float
    high: float


def paired_differences(records: Sequence[Record], baseline: str = BASELINE_METHOD, resamples: int = 10_000,
                       seed: int = 0) -> list[PairedDifference]:
    """Each other method against `baseline` on the same problems and seeds. The interval is a percentile bootstrap
    that resamples problems with all their seeds together: a problem's seeds share its difficulty, so resampling
    runs one by one would make the interval too narrow. Seeded, so a report is the same every time."""
    by_method = _by_method(records)
    reference = by_method.get(baseline, {})
    rng = np.random.default_rng(seed)
    differences = []
    for method, rows in by_method.items():
        shared = sorted(set(rows) & set(reference))
        if method == baseline or not shared:
            continue
        sums: dict[str, float] = defaultdict(float)
        counts: dict[str, int] = defaultdict(int)
        for problem, run_seed in shared:
            sums[problem] += rows[problem, run_seed].correct - reference[problem, run_seed].correct
            counts[problem] += 1
        problem_sums, problem_counts = np.array(list(sums.values())), np.array(list(counts.values()))
        drawn = rng.integers(0, len(problem_sums), size=(resamples, len(problem_sums)))
        boot = problem_sums[drawn].sum(axis=1) / problem_counts[drawn].sum(axis=1)
        low, high = np.percentile(boot, [2.5, 97.5])
        differences.append(PairedDifference(method, len(sums), len(shared), problem_sums.sum() / len(shared),
                                            float(low), float(high)))
    return differences


def _cell(value: float | None, spec: str) -> str:
    return "–" if value is None else format(value, spec)


def summary_table(summaries: Sequence[MethodSummary], reference: str = REFERENCE_METHOD) -> str:
    """A Markdown table (it reads as plain text in a terminal too)."""
    lines = [
        f"| method | problems × seeds | accuracy | ± sd over seeds | ± binomial SE | mean latency (s) "
        f"| median latency (s) | latency / {reference} | FLOPs / {reference} | acceptance | mean steps |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in summaries:
        lines.append(
            f"| {s.method} | {s.problems} × {s.seeds} | {s.accuracy:.1%} | {_cell(s.accuracy_sd, '.1%')} "
            f"| {s.accuracy_se:.1%} | {s.mean_latency:.1f} | {s.median_latency:.1f} | {_cell(s.latency_ratio, '.2f')} "
            f"| {_cell(s.flops_ratio, '.2f')} | {_cell(s.acceptance, '.0%')} | {s.mean_steps:.1f} |"
        )
    unfinished = [f"{s.method} seed {seed} ({count} of {s.problems} problems)"
                  for s in summaries for seed, count in s.partial_seeds]
    if unfinished:
        lines.append(f"\nLeft out of this table until finished: {'; '.join(unfinished)}. "
                     "The paired differences use every finished run.")
    return "\n".join(lines)


def difference_table(differences: Sequence[PairedDifference], baseline: str = BASELINE_METHOD) -> str:
    """The paired differences as a Markdown table; an interval that excludes 0 tells the methods apart."""
    if not differences:
        return f"No method shares a (problem, seed) run with {baseline}: no paired differences."
    lines = [f"| method | problems | paired runs | accuracy − {baseline} | 95% bootstrap interval |",
             "|---|---:|---:|---:|---:|"]
    for d in differences:
        lines.append(f"| {d.method} | {d.problems} | {d.pairs} | {d.difference:+.1%} | [{d.low:+.1%}, {d.high:+.1%}] |")
    return "\n".join(lines)


def report_text(summaries: Sequence[MethodSummary], differences: Sequence[PairedDifference]) -> str:
    """Both tables, as `report` prints them and `summary.md` holds them."""
    return (f"{summary_table(summaries)}\n\nPaired against {BASELINE_METHOD} (same problems and seeds; problems "
            f"resampled with their seeds):\n\n{difference_table(differences)}")


def write_report(directory: Path | str, label: str, summaries: Sequence[MethodSummary],
                 differences: Sequence[PairedDifference]) -> dict[str, Path]:
    """`summary.md` and the accuracy-vs-latency chart (HTML; PNG when a Plotly image renderer is installed)."""
    directory = Path(directory)
    written = {"summary": directory / "summary.md"}
    written["summary"].write_text(f"{label}\n\n{report_text(summaries, differences)}\n", encoding="utf-8")
    from .figures import accuracy_latency_figure

    figure = accuracy_latency_figure(summaries, label)
    written["html"] = directory / "accuracy_vs_latency.html"
    figure.write_html(written["html"], include_plotlyjs=True)
    try:
        figure.write_image(directory / "accuracy_vs_latency.png", width=900, height=520)
        written["png"] = directory / "accuracy_vs_latency.png"
    except Exception:  # no kaleido (or no browser for it): the HTML is the chart
        pass
    return written


def describe(info: dict[str, Any]) -> str:
    """`GSM8K · preset offline-cpu · n=4 · measured 2026-11-22 on <machine>`: how saved results are labelled.
    A run resumed on later days, or on other machines, names the span of dates and every machine."""
    settings = info.get("settings", {})
    config = settings.get("config", {})
    served = " on vLLM servers" if settings.get("backend") == "vllm" else ""
    sessions = [info, *info.get("resumed", [])]
    dates = sorted({s["date"] for s in sessions if s.get("date")}) or ["?"]
    machines = list(dict.fromkeys(s["machine"] for s in sessions if s.get("machine"))) or ["?"]
    when = dates[0] if len(dates) == 1 else f"{dates[0]} to {dates[-1]}"
    where = machines[0] if len(machines) == 1 else f"{len(machines)} machines ({'; '.join(machines)})"
    reward = settings.get("reward", UNRECORDED_REWARD)
    scored = "" if reward["kind"] == "step-verifier" else f" · reward {reward.get('model', reward['kind'])}"
    return (f"{settings.get('dataset', '?')} · preset {settings.get('preset', '?')}{served}{scored} · "
            f"n={config.get('n', '?')}, "
            f"β={config.get('beta', '?')}, max {config.get('max_steps', '?')} steps · measured {when} on {where}")


def saved_runs(roots: Iterable[Path | str] = ()) -> dict[str, Path]:
    """Run directories (holding `run.json` and results) under `GSI_RESULTS_DIR` (`:`-separated), the given roots
    and the repo's `assets/eval`, by name: what the app's Compare tab offers to show."""
    extra = [Path(p) for p in os.environ.get("GSI_RESULTS_DIR", "").split(os.pathsep) if p]
    found = {}
    for root in [*extra, *map(Path, roots), SAVED_RUNS_DIR]:
        for info in sorted(root.glob("**/" + RUN_FILE)) if root.is_dir() else []:
            if (info.parent / RESULTS_FILE).exists():
                found.setdefault(info.parent.name, info.parent)
    return found


def saved_run_report(path: Path | str) -> tuple[str, list[MethodSummary], list[PairedDifference]]:
    """The label (dataset, preset, machine, date), the per-method summary and the paired differences against
    GSI of a saved run."""
    info = RunDirectory(path).info() or {}
    records = read_records(path)
    return describe(info), summarize(records), paired_differences(records)
