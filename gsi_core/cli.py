"""`python -m gsi_core run …`: one JSON event per line on stdout, the summary last; progress on stderr."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .config import (BACKENDS, ROLES, STEP_DELIMITERS, ConfigError, DecodingConfig, MissingServerSetting, Preset,
                     get_preset, load_presets, parse_reward, parse_rewards)
from .data import FILES
from .evaluation import EvalProgress, check_seeds
from .events import to_json
from .frontier import FrontierProgress
from .methods import DEFAULT_METHODS, METHODS, run_method
from .vocabulary import check_problem

# The DecodingConfig fields a command line sets by flag (`--max-steps` sets max_steps). `--threshold` is GSI's u
# and `--rsd-threshold` RSD's δ in every command.
DECODING_FLAGS = ("n", "n_small", "n_big", "beta", "threshold", "rsd_threshold", "temperature", "seed", "max_steps",
                  "max_step_tokens", "reward_floor", "step_delimiter")
OFF = "off"


class _Parser(argparse.ArgumentParser):
    """Bad arguments end with one line saying what is wrong (exit 2), not a usage dump."""

    def error(self, message: str):
        self.exit(2, f"error: {message}\n")


@dataclass(frozen=True)
class Command:
    """A subcommand: its one-line help, what adds its arguments, and what runs it (returning the exit status),
    given the parsed arguments and the command line as typed (recorded beside what it writes)."""

    help: str
    arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, str], int]


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m gsi_core", description="Guided Speculative Inference engine")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name, command in COMMANDS.items():
        command.arguments(commands.add_parser(name, help=command.help))
    return parser


def _run_arguments(run: argparse.ArgumentParser) -> None:
    run.add_argument("--method", default="gsi", choices=list(METHODS))
    run.add_argument("--preset", default=None, help="a preset of spaces_config.yaml (default: offline-cpu without a GPU)")
    run.add_argument("--problem", required=True, help="the question to solve")
    _add_decoding_flags(run)
    _add_reward_flag(run)
    _add_backend_flags(run)


def _eval_arguments(evaluate: argparse.ArgumentParser) -> None:
    evaluate.add_argument("--dataset", required=True, choices=list(FILES))
    evaluate.add_argument("--data", help="the dataset's JSON-lines file (default: data/benchmarks, or GSI_BENCHMARKS_DIR)")
    evaluate.add_argument("--methods", default=",".join(DEFAULT_METHODS), help="comma-separated method names")
    evaluate.add_argument("--preset", default=None, help="a preset of spaces_config.yaml")
    evaluate.add_argument("--limit", type=int, help="the first N problems (from --offset)")
    evaluate.add_argument("--offset", type=int, default=0,
                          help="skip the first N problems: check a setting on problems outside the slice it was tuned on")
    evaluate.add_argument("--out", required=True, help="the run directory: results.jsonl, run.json, summary, chart")
    evaluate.add_argument("--seeds", type=_seed_list,
                          help="comma-separated seeds, e.g. 0,1,2: every (problem, method) once per seed (not with --seed)")
    _add_decoding_flags(evaluate)
    _add_reward_flag(evaluate)
    _add_backend_flags(evaluate)


def _label_arguments(label: argparse.ArgumentParser) -> None:
    label.add_argument("--data", help="GSM8K's JSON-lines file (default: data/benchmarks, or GSI_BENCHMARKS_DIR)")
    label.add_argument("--preset", default="offline-cpu", help="its π_S drafts and rolls out, its π_B drafts some")
    label.add_argument("--start-row", type=int, default=1000, help="the first GSM8K row labelled (the harness uses the first)")
    label.add_argument("--limit", type=int, help="at most this many problems from --start-row")
    label.add_argument("--k", type=int, default=4, help="rollouts per candidate")
    label.add_argument("--max-steps", type=int, default=8, help="positions per trajectory at most")
    label.add_argument("--rollout-tokens", type=int, default=384, help="a rollout's token cap")
    label.add_argument("--roller", choices=["small", "big"], default="big",
                       help="which of the preset's models rolls out the completions (π_B's labels carry more signal)")
    label.add_argument("--out", required=True, help="the run directory: results.jsonl (a line per position), run.json")
    _add_step_delimiter_flag(label)


def _reward_eval_arguments(judge: argparse.ArgumentParser) -> None:
    judge.add_argument("--reward", required=True,
                       help="comma-separated rewards: a kind (step-verifier, calibrated-verifier, judge), a preset's "
                            "name (its reward), or a mapping like '{kind: prm, model: Qwen/Qwen2.5-Math-PRM-7B}'")
    judge.add_argument("--data", required=True, help="a label-steps directory or its results.jsonl")
    judge.add_argument("--split", default="all", choices=["all", "train", "heldout"])
    judge.add_argument("--bins", type=int, default=5, help="bins of the reliability table")
    judge.add_argument("--threshold", type=float, default=0.5,
                       help="the u of the acceptance ceiling (the share of steps a perfect reward would accept)")
    judge.add_argument("--preset", default=None, help="whose models a judge reward asks (default: offline-cpu "
                       "without a GPU); loaded only for a judge")


def _frontier_arguments(frontier: argparse.ArgumentParser) -> None:
    frontier.add_argument("--plan", required=True, help="the plan (YAML): its points, and dataset, preset, limit, "
                          "seeds and decoding unless given here; docs/frontier.md")
    frontier.add_argument("--out", required=True, help="the frontier directory: frontier.json, points/, baselines/")
    frontier.add_argument("--dataset", choices=list(FILES))
    frontier.add_argument("--data", help="the dataset's JSON-lines file (default: data/benchmarks, or GSI_BENCHMARKS_DIR)")
    frontier.add_argument("--preset", help="a preset of spaces_config.yaml (default: the plan's)")
    frontier.add_argument("--limit", type=int, help="the first N problems (default: the plan's)")
    frontier.add_argument("--seeds", type=_seed_list, help="comma-separated seeds of points that name none")
    frontier.add_argument("--allow-other-commit", action="store_true",
                          help="resume a frontier started on another commit (each run.json names its sessions')")


def _report_arguments(report: argparse.ArgumentParser) -> None:
    report.add_argument("directory")
    report.add_argument("--predict-costs", metavar="COSTS.json[,COSTS.json…]",
                        help="instead: predict each saved run's wall time from its events and these measured costs "
                             "(a `bench --measures costs` JSON; several, comma-separated, are averaged: benches run "
                             "before and after the runs) and compare with what it measured")
    report.add_argument("--points", metavar="NAME[,NAME…]",
                        help="with --predict-costs on a frontier: only these points and their baselines (the runs "
                             "of one session, say, beside its benches)")
    report.add_argument("--seeds", metavar="SEED[,SEED…]", type=_seed_list,
                        help="with --predict-costs: only the runs of these seeds (a frontier's later seeds may have "
                             "run in another session than seed 0)")


def _bench_arguments(bench: argparse.ArgumentParser) -> None:
    bench.add_argument("--preset", default=None)
    bench.add_argument("--problems", type=int, default=2, help="GSM8K problems for the GSI / sbon-big ratio")
    bench.add_argument("--steps", type=int, default=4, help="at most this many steps per problem in that ratio")
    bench.add_argument("--out", help="also write the measurements as JSON here (with command, machine and date)")
    bench.add_argument("--measures", default="batching,prefix_growth,headline,int8_decoding,int8_width",
                       help="comma-separated, of batching, prefix_growth, headline, int8_decoding, int8_width "
                            "(default: these), memory (peak RSS per stage of the app's default run), costs "
                            "(per-token costs and GSI's economics)")
    _add_step_delimiter_flag(bench)


def _theory_arguments(theory: argparse.ArgumentParser) -> None:
    theory.add_argument("--beta", type=float, default=20.0)
    theory.add_argument("--threshold", type=float, default=0.5, help="GSI's u")
    theory.add_argument("--runs", type=int, default=4000, help="engine-sampled runs per check")


def _names(text: str) -> list[str]:
    """A comma-separated list of names, blanks dropped."""
    return [part.strip() for part in text.split(",") if part.strip()]


def _seed_list(text: str) -> list[int]:
    try:
        return [int(part) for part in _names(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected whole numbers separated by commas, got {text!r}") from None


def _reward_floor(text: str) -> float | str:
    """A number, or `off` to switch off a preset's floor."""
    if text.strip().lower() == OFF:
        return OFF
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1] or 'off', got {text!r}") from None


def _add_decoding_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n", type=int, help="candidates per step, both models (unless --n-small / --n-big)")
    parser.add_argument("--n-small", "--n_small", type=int, dest="n_small", help="π_S drafts per step")
    parser.add_argument("--n-big", "--n_big", type=int, dest="n_big",
                        help="π_B candidates per step: the fallback's, and sbon-big's / bon-big's n")
    parser.add_argument("--reward-floor", type=_reward_floor,
                        help="end a run when a step's best reward is below this (official: 0.1); 'off' to disable")
    parser.add_argument("--beta", type=float, help="β, the reward's weight in the tilt")
    parser.add_argument("--threshold", type=float, help="GSI's u: a draft is kept when its tilted reward r̃ ≥ u")
    parser.add_argument("--rsd-threshold", type=float, help="RSD's δ: a draft is kept when its reward r ≥ δ")
    parser.add_argument("--temperature", type=float)
    parser.add_argument("--seed", type=int, help="the same seed for every (problem, method)")
    parser.add_argument("--max-steps", type=int)
    parser.add_argument("--max-step-tokens", type=int)
    _add_step_delimiter_flag(parser)


def _add_step_delimiter_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--step-delimiter", choices=list(STEP_DELIMITERS),
                        help="where a step ends: blank-line (the paper's, \\n\\n) or line (\\n); default: the preset's")


def _add_reward_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reward", help="score with this reward instead of the preset's: step-verifier, judge, "
                        "calibrated-verifier, a preset's name (its reward) or a mapping such as '{kind: prm, model: …}'")


def _add_backend_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("models on vLLM servers (the preset's models, served elsewhere)")
    group.add_argument("--backend", choices=list(BACKENDS), help="override the preset's backend")
    for role in ROLES:
        group.add_argument(f"--{role}-url", help=f"the vLLM server of the {role} model, e.g. http://host:8000")
        group.add_argument(f"--{role}-model", help="its served name and tokenizer (default: the preset's model)")


def _preset(args: argparse.Namespace) -> Preset:
    """The preset named by --preset, scoring with --reward if given, with --backend vllm pointing its models at
    the given servers."""
    preset = get_preset(args.preset)
    if getattr(args, "reward", None):
        preset = dataclasses.replace(preset, reward=parse_reward(args.reward))
    if getattr(args, "backend", None) != "vllm":
        return preset
    try:
        return preset.on_vllm({role: getattr(args, f"{role}_url") for role in ROLES},
                              {role: getattr(args, f"{role}_model") for role in ROLES})
    except MissingServerSetting as missing:
        flag = f"--{missing.role}-{missing.setting}"
        raise ConfigError(f"--backend vllm needs {flag}" if missing.setting == "url"
                          else f"--backend vllm: give {flag}, the name the server serves") from None


def _decoding(args: argparse.Namespace, preset: Preset) -> DecodingConfig:
    overrides = {name: getattr(args, name) for name in DECODING_FLAGS if getattr(args, name, None) is not None}
    if overrides.get("reward_floor") == OFF:
        overrides["reward_floor"] = None
    return preset.decoding.override(**overrides)


def run_command(args: argparse.Namespace, command: str) -> int:
    from .loading import load_components

    check_problem(args.problem)  # before any model loads
    if args.method == "rsd" and args.threshold is not None and args.rsd_threshold is None:
        print("[gsi] --threshold with --method rsd sets δ as it used to; --rsd-threshold is its name in every command",
              file=sys.stderr)
        args.rsd_threshold, args.threshold = args.threshold, None
    preset = _preset(args)
    config = _decoding(args, preset)
    parts = load_components(preset)
    for event in run_method(args.method, args.problem, parts.small, parts.big, parts.reward, config):
        print(to_json(event), flush=True)
    return 0


class _PrintedProgress(EvalProgress):
    """The evaluation's progress on stderr: a bar, and one line per finished pair (stdout holds only the table)."""

    def __init__(self, dataset: str):
        self.dataset, self.bar, self.results = dataset, None, None

    def planned(self, directory, problems: int, methods: int, seeds: int, done: int, todo: int) -> None:
        from tqdm import tqdm

        self.results = directory.results
        print(f"[gsi] {self.dataset}: {problems} problems × {methods} methods × {seeds} seeds, {done} already done, "
              f"{todo} to run → {directory.results}", file=sys.stderr)
        if todo:
            self.bar = tqdm(total=done + todo, initial=done, unit="run", dynamic_ncols=True, file=sys.stderr)

    def advanced(self, problem, method: str, run) -> None:
        self.bar.set_postfix_str(f"{problem.id} {method} step {len(run.steps)}")

    def recorded(self, record) -> None:
        self.bar.update(1)
        self.bar.write(f"{record.problem_id:>8} {record.method:17} seed {record.seed} {'✓' if record.correct else '✗'} "
                       f"{record.prediction!s:>12.12} (gold {record.gold}) {record.wall_time:7.1f} s "
                       f"{record.steps} steps", file=sys.stderr)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _problems(dataset: str, data: str | None, limit: int | None, offset: int = 0) -> list:
    """`limit` problems of a benchmark from row `offset`, refused with one line where a number or the file is
    wrong."""
    from .data import load_problems

    if limit is not None and limit < 1:
        raise ConfigError("--limit must be at least 1")
    if offset < 0:
        raise ConfigError("--offset must be at least 0")
    try:
        return load_problems(dataset, data, limit, offset)
    except OSError as error:
        raise ConfigError(f"cannot read the {dataset} problems: {error}") from None


def _finished(work: Callable[[], bool], progress: _PrintedProgress, out: str) -> int:
    """Run `work` (an eval or a frontier) with its progress bar, then the report of `out`; 130 if a signal stopped
    it, with where its finished runs are and how to resume."""
    try:
        finished = work()
    finally:
        progress.close()  # before any message, so the bar does not redraw over it
    if not finished:
        print(f"\n[gsi] stopped; every finished run is saved under {out}. Run the same command to resume.",
              file=sys.stderr)
        return 130
    return report_directory(out)


def eval_command(args: argparse.Namespace, command: str) -> int:
    """Run every pending (problem, method) pair, then print the summary and write the report files."""
    from .evaluation import check_methods, check_seeds, run_eval

    methods = check_methods(_names(args.methods))
    if args.seeds is not None and args.seed is not None:
        raise ConfigError("give --seed or --seeds, not both")
    seeds = None if args.seeds is None else check_seeds(args.seeds)
    problems = _problems(args.dataset, args.data, args.limit, args.offset)
    preset = _preset(args)
    config = _decoding(args, preset)
    progress = _PrintedProgress(args.dataset)
    return _finished(lambda: run_eval(args.out, args.dataset, problems, methods, preset, config, command, progress,
                                      seeds), progress, args.out)


def label_steps_command(args: argparse.Namespace, command: str) -> int:
    """Label positions until every problem's trajectory has ended; Ctrl-C or kill stops it, the same resumes."""
    from .data import load_problems
    from .step_labels import LabelSettings, run_labelling

    preset = get_preset(args.preset)
    decoding = preset.decoding  # drafts as the preset's methods draft: n, temperature, step cap, delimiter
    settings = LabelSettings(start_row=args.start_row, n=decoding.n, k=args.k, temperature=decoding.temperature,
                             max_steps=args.max_steps, max_step_tokens=decoding.max_step_tokens,
                             rollout_tokens=args.rollout_tokens, roller=args.roller,
                             step_delimiter=args.step_delimiter or decoding.step_delimiter)
    rows = load_problems("gsm8k", args.data)[settings.start_row :]
    problems = list(enumerate(rows, start=settings.start_row))[: args.limit]
    if run_labelling(args.out, problems, preset, settings, command):
        return 0
    print(f"[label] stopped; every finished position is in {args.out}; the same command resumes", file=sys.stderr)
    return 130


def reward_eval_command(args: argparse.Namespace, command: str) -> int:
    from .calibration import ceiling_report, judge_reward, judgement_report
    from .loading import load_reward, load_step_model
    from .step_labels import read_positions, split_positions

    positions = split_positions(read_positions(args.data), args.split)
    if not positions:
        raise ConfigError(f"{args.data} holds no labelled positions in split {args.split!r}")
    specs = parse_rewards(args.reward)
    problems = len({p["problem_id"] for p in positions})
    print(f"{len(positions)} positions of {problems} problems (split {args.split}) from {args.data}\n")
    judged_by = {spec.judge for spec in specs if spec.kind == "judge"}
    preset = get_preset(args.preset) if judged_by else None
    # a judge only reads logits of the loaded weights: no int8 decoding copy
    models = {role: load_step_model(dataclasses.replace(getattr(preset, role), int8_decode=False))
              for role in judged_by}
    print(judgement_report([judge_reward(load_reward(spec, models), positions, args.bins) for spec in specs]))
    print("\n" + ceiling_report(positions, args.threshold))
    return 0


class _PrintedFrontierProgress(_PrintedProgress, FrontierProgress):
    """The frontier's progress on stderr: the eval's bar and lines, with the frontier's plan first."""

    def planned_frontier(self, out, points: int, problems: int, done: int, todo: int) -> None:
        from tqdm import tqdm

        print(f"[gsi] frontier of {self.dataset}: {points} GSI points × {problems} problems with their baselines, "
              f"{done} runs already done, {todo} to run → {out}", file=sys.stderr)
        if todo:
            self.bar = tqdm(total=done + todo, initial=done, unit="run", dynamic_ncols=True, file=sys.stderr)


def frontier_command(args: argparse.Namespace, command: str) -> int:
    """Run every pending cell of the plan, then print the frontier's table and write its figure."""
    from .frontier import load_plan, run_frontier

    plan = load_plan(args.plan)
    plan = dataclasses.replace(plan, dataset=args.dataset or plan.dataset, preset=args.preset or plan.preset,
                               limit=args.limit or plan.limit, seeds=tuple(check_seeds(args.seeds or plan.seeds)))
    problems = _problems(plan.dataset, args.data, plan.limit)
    preset = get_preset(plan.preset)
    progress = _PrintedFrontierProgress(plan.dataset)
    return _finished(lambda: run_frontier(args.out, plan, problems, preset, command, progress, args.allow_other_commit),
                     progress, args.out)


def frontier_report_command(path) -> int:
    """The frontier's table on stdout; its figure (HTML) beside it."""
    from .figures import frontier_figure, frontier_summary
    from .frontier_report import FRONTIER_CHART, frontier_report, frontier_text

    label, entries = frontier_report(path)
    if not entries:
        raise ConfigError(f"{path} holds no finished GSI runs yet")
    text = f"{label}\n\n{frontier_text(entries)}\n\n{frontier_summary(entries)}"
    print(text)
    written = Path(path) / FRONTIER_CHART
    frontier_figure(entries, label).write_html(written, include_plotlyjs=True)
    (Path(path) / "summary.md").write_text(f"{text}\n", encoding="utf-8")
    print(f"[gsi] html: {written}", file=sys.stderr)
    return 0


def report_command(args: argparse.Namespace, command: str) -> int:
    if args.predict_costs:
        return predict_costs_command(args.directory, args.predict_costs, _names(args.points) if args.points else None,
                                     args.seeds)
    if args.points or args.seeds:
        raise ConfigError("--points and --seeds choose the runs --predict-costs predicts; the report shows every run")
    return report_directory(args.directory)


def report_directory(path) -> int:
    """An eval directory's summary table, or a frontier's, printed, with its report files rewritten."""
    from .frontier_report import is_frontier
    from .report import report_text, saved_run_report, write_report

    if is_frontier(path):
        return frontier_report_command(path)
    label, summaries, differences = saved_run_report(path)
    if not summaries:
        raise ConfigError(f"{path} holds no finished runs (no results.jsonl lines)")
    print(report_text(summaries, differences))
    for kind, written in write_report(path, label, summaries, differences).items():
        print(f"[gsi] {kind}: {written}", file=sys.stderr)
    return 0


def predict_costs_command(directory, costs_files: str, points: list[str] | None = None,
                          seeds: list[int] | None = None) -> int:
    import json

    from .cost_check import prediction_report, predictions, saved_runs, summary
    from .cost_model import TokenCosts
    from .where_time_goes import load_costs

    measured = {}
    for path in costs_files.split(","):
        if (costs := load_costs(path)) is None:
            raise ValueError(f"--predict-costs {path}: no such file")
        measured[path] = costs.token_costs
    runs = saved_runs(directory, points, seeds)
    rows = predictions(runs, TokenCosts.mean(list(measured.values())))
    numbers = summary(rows, directory, points)
    print(prediction_report(rows, numbers))
    if len(measured) > 1:
        for path, costs in measured.items():
            alone = summary(predictions(runs, costs))
            print(f"With {path} alone: median {alone['median_error']:.1%}, worst {alone['worst_error']:.1%}.")
    print(json.dumps(numbers))
    return 0


def bench_command(args: argparse.Namespace, command: str) -> int:
    import json

    from .bench import MEASURES, report, run_bench
    from .loading import load_components
    from .provenance import provenance

    if args.problems < 1 or args.steps < 1:
        raise ConfigError("--problems and --steps must be at least 1")
    measures = _names(args.measures)
    if not measures or set(measures) - set(MEASURES):
        raise ConfigError(f"--measures takes a comma-separated list of {', '.join(MEASURES)} (got {args.measures!r})")
    preset = get_preset(args.preset)
    if preset.served:
        raise ConfigError(f"preset {preset.name} serves its models on vLLM; the engine bench times in-process "
                          "forwards and the prefix cache. Time a step through vLLM with scripts/measure_vllm_step.py")
    config = preset.decoding.replace(step_delimiter=args.step_delimiter or preset.decoding.step_delimiter)
    result = run_bench(load_components(preset), config, args.problems, args.steps, measures)
    table = report(result)
    print(table)
    if args.out:
        about = {"preset": preset.name, **provenance(command, preset)}
        Path(args.out).write_text(json.dumps({**about, **result, "table": table}, indent=2, ensure_ascii=False) + "\n")
    return 0


def theory_command(args: argparse.Namespace, command: str) -> int:
    """Per named world: exact KL(method ‖ π_{β,B}) and GSI's acceptance against n, then the engine's own GSI
    sampled `runs` times at n = 4 and 16 and compared with the exact distribution."""
    from .theory import (EXACT_METHODS, WORLDS, curves_against_n, goodness_of_fit, method_distributions,
                         sample_with_engine)

    for world in WORLDS.values():
        print(f"\n{world.name}: π_S={world.small} π_B={world.big} r={world.reward} β={args.beta:g} u={args.threshold:g}")
        print(f"{'n':>4} " + " ".join(f"{'KL ' + m:>20}" for m in EXACT_METHODS) + f" {'GSI accept':>11} {'π_B gens':>9}")
        for point in curves_against_n(world, args.beta, args.threshold):
            kls = " ".join(f"{point.kl[m]:20.3f}" for m in EXACT_METHODS)
            gsi = point.exact["gsi"]
            print(f"{point.n:>4} {kls} {gsi.acceptance:11.3f} {gsi.big_generations:9.3f}")
        for n in (4, 16):
            counts = sample_with_engine(world, "gsi", args.beta, n, args.threshold, args.runs)
            exact = method_distributions(world, args.beta, n, args.threshold)["gsi"].distribution
            print(f"engine gsi, n={n}, {args.runs} runs: counts {counts.tolist()} vs exact "
                  f"{[round(float(x) * args.runs, 1) for x in exact]} — χ² p = {goodness_of_fit(counts, exact):.3f}")
    return 0


def methods_command(args: argparse.Namespace, command: str) -> int:
    for info in METHODS.values():
        print(f"{info.name:18} {info.description}")
    return 0


def presets_command(args: argparse.Namespace, command: str) -> int:
    for preset in load_presets().values():
        print(f"{preset.name:14} {preset.description}")
    return 0


def _no_arguments(parser: argparse.ArgumentParser) -> None:
    pass


COMMANDS: dict[str, Command] = {
    "run": Command("decode one problem and print its events as JSON lines", _run_arguments, run_command),
    "eval": Command("run methods over a benchmark; resumable; ends with a summary table", _eval_arguments, eval_command),
    "label-steps": Command("label drafted steps by rollouts (Math-Shepherd style); resumable", _label_arguments,
                           label_steps_command),
    "reward-eval": Command("score labelled steps with rewards: AUROC, same-step order, share at the commonest value, "
                           "cost", _reward_eval_arguments, reward_eval_command),
    "frontier": Command("GSI at each point of a plan against sbon-small and sbon-big on the same problems and seeds; "
                        "resumable, pinned to one commit", _frontier_arguments, frontier_command),
    "report": Command("the summary table and chart of an eval or frontier directory, running nothing",
                      _report_arguments, report_command),
    "bench": Command("engine speed: overhead, prefix growth, batching, GSI vs sbon-big, int8 decoding, memory, costs",
                     _bench_arguments, bench_command),
    "theory": Command("exact toy worlds: KL to the tilted target and acceptance against n", _theory_arguments,
                      theory_command),
    "methods": Command("list the decoding methods", _no_arguments, methods_command),
    "presets": Command("list the presets of spaces_config.yaml", _no_arguments, presets_command),
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command].run(args, "python -m gsi_core " + " ".join(argv))
    except (ConfigError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
