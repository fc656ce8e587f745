"""A frontier: GSI at many settings, each against soft best-of-n with π_S and π_B on the same cells.

A plan (YAML) lists points; a point is GSI with overrides of any `DecodingConfig` field (u as `threshold`,
`n_small`, `n_big`, …) and optionally its own `reward`. `run_frontier` runs every pending (run, problem, seed) of
every point, problem by problem within a seed, so a frontier stopped early still compares every point on the
same problems. Each run is an ordinary eval run directory (`evaluation.RunDirectory`: `run.json` with settings
and provenance, `results.jsonl`), so each resumes, refuses other settings and reads with `report`:

    DIR/frontier.json              the plan, each point's run directories, the pinned commit, the sessions
    DIR/points/<name>/             the point's GSI runs
    DIR/baselines/<method>-…/      sbon-small / sbon-big for one reward and n, shared by every point with them

Soft best-of-n depends on the reward, β, the temperature and its own n, never on u or the other model's n, so
points that differ only in those share one baseline directory: u swept over six values costs the baselines once.
The whole frontier is pinned to the engine that started it (its commit, `+changes` where gsi_core had uncommitted
edits): latencies measured on two engines do not compare.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import yaml

from .config import ConfigError, DecodingConfig, Preset, RewardSpec
from .data import Problem
from .evaluation import EvalProgress, RunDirectory, check_seeds, evaluate, reward_settings, run_info, until_stopped
from .provenance import provenance
from .run import Run

FRONTIER_FILE = "frontier.json"
POINT_METHOD = "gsi"
BASELINES = {"sbon-small": "small", "sbon-big": "big"}  # method → the role whose n it draws
_PLAN_KEYS = {"dataset", "preset", "limit", "seeds", "decoding", "points", "description"}
_POINT_KEYS = {"name", "reward", "seeds"}  # besides DecodingConfig fields
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class FrontierPoint:
    """One GSI configuration: `overrides` of the plan's decoding, its own `reward` (else the preset's) and
    `seeds` (else the plan's)."""

    name: str
    overrides: dict[str, Any]
    reward: dict[str, Any] | None = None
    seeds: tuple[int, ...] | None = None


@dataclass(frozen=True)
class FrontierPlan:
    points: tuple[FrontierPoint, ...]
    dataset: str = "gsm8k"
    preset: str | None = None
    limit: int | None = None
    seeds: tuple[int, ...] = (0,)
    decoding: dict[str, Any] = dataclasses.field(default_factory=dict)


def load_plan(path: Path | str) -> FrontierPlan:
    """Read and check a plan: unknown keys, unknown decoding fields, bad rewards and repeated names are refused
    here, before any model loads."""
    try:
        raw = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"cannot read the plan {path}: {error}") from None
    if not isinstance(raw, dict) or not raw.get("points"):
        raise ConfigError(f"{path}: a plan is a mapping with a non-empty `points` list")
    unknown = set(raw) - _PLAN_KEYS
    if unknown:
        raise ConfigError(f"{path}: unknown plan keys {sorted(unknown)}; known: {', '.join(sorted(_PLAN_KEYS))}")
    points = tuple(_point(body) for body in raw["points"])
    names = [p.name for p in points]
    if len(set(names)) != len(names):
        raise ConfigError(f"{path}: point names repeat: {sorted({n for n in names if names.count(n) > 1})}")
    plan = FrontierPlan(points=points, dataset=raw.get("dataset", "gsm8k"), preset=raw.get("preset"),
                        limit=raw.get("limit"), seeds=tuple(check_seeds(raw.get("seeds", [0]))),
                        decoding=dict(raw.get("decoding") or {}))
    for point in points:
        try:
            DecodingConfig().replace(**{**plan.decoding, **point.overrides})  # unknown fields and bad values fail
        except ConfigError as error:
            raise ConfigError(f"{path}: point {point.name}: {error}") from None
    return plan


def _point(body: Any) -> FrontierPoint:
    if not isinstance(body, dict) or not _NAME.match(str(body.get("name", ""))):
        raise ConfigError(f"each point needs a `name` of letters, digits, '.', '_' or '-' (got {body!r})")
    try:
        reward = None if body.get("reward") is None else RewardSpec.from_config(body["reward"]).to_config()
        seeds = None if body.get("seeds") is None else tuple(check_seeds(body["seeds"]))
    except ConfigError as error:
        raise ConfigError(f"point {body['name']}: {error}") from None
    overrides = {k: v for k, v in body.items() if k not in _POINT_KEYS}
    return FrontierPoint(str(body["name"]), overrides, reward, seeds)


@dataclass(frozen=True)
class RunSpec:
    """One run directory of a frontier: a method at a config with a reward, under `path` (relative)."""

    path: str
    method: str
    config: DecodingConfig
    reward: RewardSpec


def point_runs(plan: FrontierPlan, point: FrontierPoint, preset: Preset) -> dict[str, RunSpec]:
    """The point's GSI run and the baselines it is measured against, by method."""
    config = preset.decoding.override(**{**plan.decoding, **point.overrides})
    reward = RewardSpec.from_config(point.reward) if point.reward is not None else preset.reward
    runs = {POINT_METHOD: RunSpec(f"points/{point.name}", POINT_METHOD, config, reward)}
    for method, role in BASELINES.items():
        own = config.replace(n=config.candidates(role), n_small=None, n_big=None,
                             threshold=DecodingConfig.threshold, rsd_threshold=DecodingConfig.rsd_threshold)
        key = json.dumps([method, dataclasses.asdict(own), reward_settings(reward)], sort_keys=True)
        digest = hashlib.sha256(key.encode()).hexdigest()[:8]
        runs[method] = RunSpec(f"baselines/{method}-{reward.kind}-n{own.n}-{digest}", method, own, reward)
    return runs


@dataclass(frozen=True)
class Cell:
    """One pending run: a run directory's method on a problem at a seed."""

    run: RunSpec
    problem: Problem
    seed: int


def plan_cells(plan: FrontierPlan, preset: Preset, problems: Sequence[Problem]) -> list[Cell]:
    """Every (run, problem, seed) of the plan, seed by seed, then problem by problem, then point by point (its
    GSI run, then its baselines); a baseline shared by several points appears once."""
    seeds = list(dict.fromkeys(s for p in plan.points for s in (p.seeds or plan.seeds)))
    runs = {p.name: point_runs(plan, p, preset) for p in plan.points}
    cells, seen = [], set()
    for seed in seeds:
        for problem in problems:
            for point in plan.points:
                for spec in runs[point.name].values() if seed in (point.seeds or plan.seeds) else ():
                    if (spec.path, problem.id, seed) not in seen:
                        seen.add((spec.path, problem.id, seed))
                        cells.append(Cell(spec, problem, seed))
    return cells


def pending_cells(cells: Sequence[Cell], out: Path) -> list[Cell]:
    """The cells whose record is not yet in their run directory under `out`."""
    done = {path: {r.key for r in RunDirectory(out / path).records()} for path in {c.run.path for c in cells}}
    return [c for c in cells if (c.problem.id, c.run.method, c.seed) not in done[c.run.path]]


def engine_version(commit: str | None) -> str | None:
    """The commit, marked `+changes` where the engine's tracked files differ from it: an engine edited in the
    middle of a long run would change its latencies under the same commit."""
    import subprocess

    try:
        changed = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", "."], cwd=Path(__file__).parent,
                                 capture_output=True, timeout=10).returncode == 1
    except (OSError, subprocess.TimeoutExpired):
        changed = False
    return f"{commit}+changes" if commit and changed else commit


def check_engine(out: Path, engine: str | None, allow_other_commit: bool) -> bool:
    """Whether `out` already holds a frontier; one started on another engine (commit, or uncommitted changes to
    gsi_core) is refused unless `allow_other_commit` (each run.json's `resumed` then names the sessions' commits)."""
    file = out / FRONTIER_FILE
    pinned = json.loads(file.read_text()).get("engine") if file.exists() else engine
    if pinned != engine and not allow_other_commit:
        raise ConfigError(f"{out} is pinned to engine {pinned}, this checkout is {engine}: latencies of two engines "
                          "do not compare. Check that commit out (with no changes to gsi_core) to resume, start "
                          "another --out, or pass --allow-other-commit to mix them knowingly (each run.json names "
                          "its sessions' commits).")
    return file.exists()


def write_frontier(out: Path, plan: FrontierPlan, preset: Preset, here: dict[str, Any]) -> None:
    """Write (or update) `frontier.json`: the plan's points with their run directories; the first session's
    provenance (command, commit, machine, date) stays."""
    file = out / FRONTIER_FILE
    existing = json.loads(file.read_text()) if file.exists() else here
    points = []
    for point in plan.points:
        runs = point_runs(plan, point, preset)
        points.append({"name": point.name, "overrides": point.overrides, "reward": runs[POINT_METHOD].reward.to_config(),
                       "seeds": list(point.seeds or plan.seeds), "runs": {m: spec.path for m, spec in runs.items()}})
    info = {**existing, "dataset": plan.dataset, "preset": preset.name, "points": points}
    file.write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n")


def note_session(out: Path, here: dict[str, Any]) -> None:
    """Name this session (date, machine, commit) in `frontier.json`, as `run.json` names an eval's."""
    file = out / FRONTIER_FILE
    info = json.loads(file.read_text())
    session = {key: here[key] for key in ("date", "machine", "commit", "engine") if key in here}
    file.write_text(json.dumps({**info, "resumed": [*info.get("resumed", []), session]}, indent=2,
                               ensure_ascii=False) + "\n")


class FrontierProgress(EvalProgress):
    """`EvalProgress`, with the frontier's plan announced by `planned_frontier` instead of `planned`."""

    def planned_frontier(self, out: Path, points: int, problems: int, done: int, todo: int) -> None:
        """The cells on disk and those left to run, before anything loads."""


def run_frontier(out: Path | str, plan: FrontierPlan, problems: Sequence[Problem], preset: Preset, command: str,
                 progress: FrontierProgress | None = None, allow_other_commit: bool = False) -> bool:
    """Run every pending cell of the plan; the models load once, each reward once. Returns False when a signal
    stopped it (every finished run is on disk; the same call resumes), True when all are done."""
    out, progress = Path(out), progress or FrontierProgress()
    here = provenance(command, preset)
    here["engine"] = engine_version(here["commit"])
    resuming = check_engine(out, here["engine"], allow_other_commit)
    cells = plan_cells(plan, preset, problems)
    directories = _open_runs(out, {cell.run.path: cell.run for cell in cells}, plan, preset, command)
    write_frontier(out, plan, preset, here)
    todo = pending_cells(cells, out)
    progress.planned_frontier(out, len(plan.points), len(problems), len(cells) - len(todo), len(todo))
    if not todo:
        return True
    runner = _Runner(preset, progress)

    def record_all(grader) -> None:
        started = set()
        for cell in todo:
            directory, info, existed = directories[cell.run.path]
            for record in evaluate(directory, [(cell.problem, cell.run.method, cell.seed)],
                                   lambda p, m, s: runner.run(cell.run, p, s), grader.grade):
                if resuming and not started:
                    note_session(out, here)
                if existed and cell.run.path not in started:
                    directory.note_resumed(info)
                started.add(cell.run.path)
                progress.recorded(record)

    return until_stopped(record_all)


def _open_runs(out: Path, specs: dict[str, RunSpec], plan: FrontierPlan, preset: Preset, command: str,
               ) -> dict[str, tuple[RunDirectory, dict[str, Any], bool]]:
    """Open every run directory of the plan, its settings checked against its run.json, before a model loads or
    `frontier.json` changes: a point whose settings changed since it ran is refused, not silently relabelled."""
    opened = {}
    for path, spec in specs.items():
        directory = RunDirectory(out / path)
        existed = directory.info() is not None
        info = run_info(command, plan.dataset, dataclasses.replace(preset, reward=spec.reward),
                        dataclasses.asdict(spec.config), spec.reward)
        directory.open(info)
        opened[path] = (directory, info, existed)
    return opened


class _Runner:
    """The preset's models, loaded on the first run, and each reward loaded on its first use. Before a method's
    first timed run with a reward, one untimed step of it warms the kernels and caches that path needs, so the
    first cell of a session is not timed cold (about one step's time per method and reward, once a session)."""

    def __init__(self, preset: Preset, progress: EvalProgress):
        self.preset, self.progress, self.parts, self.rewards, self.warmed = preset, progress, None, {}, set()

    def reward(self, spec: RewardSpec):
        from .loading import load_components, load_reward

        if self.parts is None:
            self.parts = load_components(self.preset)
            self.rewards[json.dumps(self.preset.reward.to_config(), sort_keys=True)] = self.parts.reward
        key = json.dumps(spec.to_config(), sort_keys=True)
        if key not in self.rewards:
            self.rewards[key] = load_reward(spec, {"small": self.parts.small, "big": self.parts.big})
        return self.rewards[key]

    def run(self, spec: RunSpec, problem: Problem, seed: int) -> Run:
        from .methods import run_method

        reward = self.reward(spec.reward)
        warm_up = (spec.method, json.dumps(spec.reward.to_config(), sort_keys=True))
        if warm_up not in self.warmed:
            for _ in run_method(spec.method, problem.question, self.parts.small, self.parts.big, reward,
                                spec.config.replace(seed=seed, max_steps=1)):
                pass
            self.warmed.add(warm_up)
        folded = Run()
        for event in run_method(spec.method, problem.question, self.parts.small, self.parts.big, reward,
                                spec.config.replace(seed=seed)):
            folded = folded.add(event)
            self.progress.advanced(problem, spec.method, folded)
        return folded
