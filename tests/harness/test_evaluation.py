"""The benchmark harness: summary maths on known records, and `python -m gsi_core eval` as a user runs it —
resumed, interrupted with Ctrl-C or kill, refused when the settings changed."""

import dataclasses
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gsi_core.config import ConfigError, RewardSpec, get_preset
from gsi_core.data import BENCHMARKS_DIR, load_problems
from gsi_core.evaluation import EvalProgress, Record, RunDirectory, pending, read_records, run_eval, run_info
from gsi_core.report import describe, difference_table, paired_differences, summarize, summary_table
from gsi_core.figures import accuracy_latency_figure
from gsi_core.rewards import CALIBRATED_WEIGHTS

from support import cli, record
from testkit.tiny import REPO


def test_summary_maths_on_known_records():
    records = [
        record("a", "sbon-big", True, 10.0, flops=100.0), record("b", "sbon-big", False, 30.0, flops=300.0),
        record("a", "gsi", True, 4.0, flops=20.0, accepted=3, fallbacks=1),
        record("b", "gsi", True, 8.0, flops=60.0, accepted=1, fallbacks=3),
        record("c", "gsi", False, 100.0, flops=1e6, accepted=0, fallbacks=2),  # sbon-big never ran c
    ]
    big, gsi = summarize(records)
    assert (big.method, big.problems, big.accuracy, big.latency_ratio, big.flops_ratio) == ("sbon-big", 2, 0.5, 1.0, 1.0)
    assert big.accuracy_se == pytest.approx(math.sqrt(0.25 / 2)) and big.acceptance is None
    assert (big.seeds, big.accuracy_sd) == (1, None)  # one seed: no spread over seeds to report
    assert gsi.problems == 3 and gsi.accuracy == pytest.approx(2 / 3)
    assert gsi.accuracy_se == pytest.approx(math.sqrt((2 / 3) * (1 / 3) / 3))
    assert gsi.mean_latency == pytest.approx(112 / 3) and gsi.median_latency == 8.0
    # paired: problem c, which the reference did not finish, stays out of the ratios
    assert gsi.latency_ratio == pytest.approx(12 / 40) and gsi.flops_ratio == pytest.approx(80 / 400)
    assert gsi.acceptance == pytest.approx(4 / 10)
    table = summary_table([big, gsi])
    assert "| gsi | 3 × 1 | 66.7% | – | 27.2% | 37.3 | 8.0 | 0.30 | 0.20 | 40% |" in table


def test_accuracy_over_seeds_is_the_mean_and_sd_of_each_seeds_accuracy():
    outcomes = {0: [True, False, False, False], 1: [True, True, False, False], 2: [True, True, True, False]}
    records = [record(str(p), "gsi", correct, 1.0, seed=seed)
               for seed, row in outcomes.items() for p, correct in enumerate(row)]
    (gsi,) = summarize(records)
    assert (gsi.problems, gsi.seeds) == (4, 3)
    assert gsi.accuracy == pytest.approx(0.5) and gsi.accuracy_sd == pytest.approx(0.25)  # of .25, .5, .75
    assert gsi.accuracy_se == pytest.approx(math.sqrt(0.25 / 12))
    assert "| gsi | 4 × 3 | 50.0% | 25.0% | 14.4% |" in summary_table([gsi])


def test_a_seed_stopped_part_way_is_left_out_of_the_mean_and_sd_until_finished():
    """Seeds run one after another; a run stopped in seed 1 after 1 of 4 problems must not average seed 0's four
    problems with seed 1's first (an easy one), nor count that seed in the sd."""
    records = [record(p, "gsi", p == "a", 2.0, seed=0) for p in "abcd"]
    records += [record(p, "sbon-big", p in "ab", 1.0, seed=0) for p in "abcd"]
    records += [record("a", "gsi", True, 2.0, seed=1), record("a", "sbon-big", True, 1.0, seed=1)]
    gsi, big = summarize(records)
    assert (gsi.problems, gsi.seeds, gsi.accuracy, gsi.accuracy_sd) == (4, 1, 0.25, None)
    assert gsi.partial_seeds == ((1, 1),) and gsi.accuracy_se == pytest.approx(math.sqrt(0.25 * 0.75 / 4))
    assert big.accuracy == 0.5 and gsi.latency_ratio == 2.0
    table = summary_table([gsi, big])
    assert "| gsi | 4 × 1 | 25.0% | – |" in table
    assert "Left out of this table until finished: gsi seed 1 (1 of 4 problems); sbon-big seed 1 (1 of 4" in table
    (gsi_vs_big,) = paired_differences(records, baseline="sbon-big")
    assert gsi_vs_big.pairs == 5  # the paired differences still use the unfinished seed's run
    finished = records + [record(p, m, True, 1.0, seed=1) for p in "bcd" for m in ("gsi", "sbon-big")]
    gsi, _ = summarize(finished)
    assert (gsi.seeds, gsi.partial_seeds, gsi.accuracy) == (2, (), pytest.approx((0.25 + 1.0) / 2))
    assert "Left out" not in summary_table([gsi])


def test_paired_differences_against_gsi_on_known_records():
    records = []
    for problem in "abcd":
        for seed in (0, 1):
            records.append(record(problem, "gsi", problem in "ab", 1.0, seed=seed))
            records.append(record(problem, "always", True, 1.0, seed=seed))
            records.append(record(problem, "same", problem in "ab", 1.0, seed=seed))
            records.append(record(problem, "seed-one", seed == 1 or problem in "ab", 1.0, seed=seed))
    records.append(record("e", "always", True, 1.0))  # gsi never ran e: not paired
    always, same, seed_one = paired_differences(records)
    assert (always.method, always.problems, always.pairs, always.difference) == ("always", 4, 8, 0.5)
    # every resample of problems draws some of c, d (+1 each) and of a, b (0 each): the interval lies in [0, 1]
    assert 0 <= always.low <= 0.5 <= always.high <= 1 and always.low < always.high
    assert (same.difference, same.low, same.high) == (0.0, 0.0, 0.0)
    assert seed_one.difference == 0.25 and seed_one.low <= 0.25 <= seed_one.high <= 0.5
    assert paired_differences(records) == paired_differences(records)  # seeded: the same report every time
    assert "| always | 4 | 8 | +50.0% | [" in difference_table([always])
    assert paired_differences([r for r in records if r.method != "gsi"]) == []


def test_the_interval_resamples_problems_not_runs():
    """Ten seeds of one problem that always differs and ten that never do: resampling runs would give a narrow
    interval; resampling problems with their seeds can only give 0 %, 50 % or 100 %."""
    records = [record(p, m, m == "other" and p == "x", 1.0, seed=s) for p in "xy" for m in ("gsi", "other")
               for s in range(10)]
    (other,) = paired_differences(records, resamples=2000)
    assert other.difference == 0.5 and (other.low, other.high) == (0.0, 1.0)


def test_ratios_are_empty_without_the_reference_method():
    (only,) = summarize([record("a", "gsi", True, 1.0)])
    assert only.latency_ratio is None and only.flops_ratio is None and only.accuracy_se == 0.0


def test_pending_runs_problem_by_problem_and_skips_what_is_done():
    class P:
        def __init__(self, id):
            self.id = id

    todo = pending([P("1"), P("2")], ["gsi", "sbon-big"], [0], [("1", "gsi", 0)])
    assert [(p.id, m, s) for p, m, s in todo] == [("1", "sbon-big", 0), ("2", "gsi", 0), ("2", "sbon-big", 0)]
    seeds = pending([P("1"), P("2")], ["gsi"], [0, 1], [("1", "gsi", 0), ("2", "gsi", 1)])
    assert [(p.id, m, s) for p, m, s in seeds] == [("2", "gsi", 0), ("1", "gsi", 1)]  # seed by seed


def test_a_torn_last_line_is_dropped_on_resume(tmp_path):
    directory = RunDirectory(tmp_path / "run")
    info = {"settings": {"dataset": "gsm8k", "preset": "p", "config": {}}}
    directory.open(info)
    directory.append(record("a", "gsi", True, 1.0))
    with open(directory.results, "a") as file:
        file.write('{"dataset": "gsm8k", "problem_id": "b"')  # a kill in the middle of a write
    assert [r.problem_id for r in read_records(directory.path)] == ["a"]
    directory.open(info)
    directory.append(record("c", "gsi", False, 2.0))
    assert [r.problem_id for r in directory.records()] == ["a", "c"]
    with pytest.raises(ValueError, match="other settings"):
        directory.open({"settings": {"dataset": "math500", "preset": "p", "config": {}}})


def test_a_label_names_every_day_and_machine_a_run_was_measured_on():
    info = {"settings": {"dataset": "gsm8k", "preset": "p", "config": {"n": 4, "beta": 20.0, "max_steps": 12}},
            "date": "2026-11-22", "machine": "CPU A, 2 cores"}
    assert describe(info).endswith("n=4, β=20.0, max 12 steps · measured 2026-11-22 on CPU A, 2 cores")
    same = {**info, "resumed": [{"date": "2026-11-22", "machine": "CPU A, 2 cores"}]}
    assert describe(same) == describe(info)
    later = {**info, "resumed": [{"date": "2026-11-24", "machine": "CPU A, 2 cores"},
                                 {"date": "2026-11-23", "machine": "CPU B, 8 cores"}]}
    assert describe(later).endswith("measured 2026-11-22 to 2026-11-24 on 2 machines (CPU A, 2 cores; CPU B, 8 cores)")
    served = {**info, "settings": {**info["settings"], "backend": "vllm"}}
    assert "preset p on vLLM servers ·" in describe(served)
    by_line = {**info, "settings": {**info["settings"], "config": {**info["settings"]["config"], "step_delimiter": "line"}}}
    assert "max 12 steps · a step per line · measured" in describe(by_line)


def test_accuracy_latency_figure_has_one_point_per_method_with_error_bars():
    summaries = summarize([record("a", "sbon-big", True, 10.0), record("a", "gsi", False, 5.0),
                           record("b", "gsi", True, 7.0)])
    figure = accuracy_latency_figure(summaries, "gsm8k · test")
    assert [trace.name for trace in figure.data] == ["sbon-big", "gsi"]
    assert figure.data[1].x == (6.0,) and figure.data[1].y == (50.0,) and figure.data[1].error_y.array == pytest.approx((100 * math.sqrt(0.25 / 2),))
    assert "gsm8k · test" in figure.layout.title.text and "binomial SE" in figure.data[1].hovertemplate
    # two seeds: the bar is the sd of the seeds' accuracies (100% and 0% on problem a), as the report gives it
    seeded = summarize([record("a", "gsi", True, 5.0, seed=0), record("a", "gsi", False, 5.0, seed=1)])
    bar = accuracy_latency_figure(seeded).data[0]
    assert bar.error_y.array == pytest.approx((100 * seeded[0].accuracy_sd,)) and "sd over 2 seeds" in bar.hovertemplate
    assert seeded[0].accuracy_sd != pytest.approx(seeded[0].accuracy_se)


@pytest.fixture
def gsm8k_slice(tmp_path):
    path = tmp_path / "gsm8k.jsonl"
    path.write_text("".join((BENCHMARKS_DIR / "gsm8k.jsonl").read_text().splitlines(keepends=True)[:3]))
    return path


def eval_args(out, data, *extra):
    return ["eval", "--preset", "tiny", "--dataset", "gsm8k", "--data", str(data), "--out", str(out),
            "--methods", "gsi,sbon-big", *extra]


def test_eval_writes_a_line_per_pair_and_resumes(tmp_path, tiny_presets_file, gsm8k_slice):
    env = {"GSI_PRESETS_FILE": tiny_presets_file}
    out = tmp_path / "run"
    first = cli(*eval_args(out, gsm8k_slice, "--limit", "2"), env=env)
    assert first.returncode == 0, first.stderr
    records = read_records(out)
    assert sorted(r.key for r in records) == sorted((p, m, 0) for p in ("0", "1") for m in ("gsi", "sbon-big"))
    assert {r.gold for r in records} == {"18", "3"} and all(r.wall_time > 0 for r in records)
    assert all(r.flops > 0 and r.tokens_big > 0 and sum(r.stage_times.values()) <= r.wall_time for r in records)
    assert "| gsi | 2 × 1 |" in first.stdout and "| sbon-big | 2 × 1 |" in first.stdout
    assert "| sbon-big | 2 | 2 |" in first.stdout  # paired against gsi
    assert (out / "summary.md").exists() and (out / "accuracy_vs_latency.html").stat().st_size > 100_000
    info = json.loads((out / "run.json").read_text())
    assert info["settings"]["config"]["n"] == 3 and "cores" in info["machine"] and info["date"]
    assert info["settings"]["config"]["step_delimiter"] == "blank-line"  # the provenance names the step granularity
    assert "backend" not in info["settings"] and info["models"]["small"]["model"].endswith("small")

    second = cli(*eval_args(out, gsm8k_slice, "--limit", "3"), env=env)
    assert second.returncode == 0, second.stderr
    assert "4 already done, 2 to run" in second.stderr
    assert [r.key for r in read_records(out)][:4] == [r.key for r in records]  # earlier lines untouched
    assert len(read_records(out)) == 6

    report = cli("report", str(out))
    assert report.returncode == 0 and report.stdout == second.stdout and "| gsi | 3 × 1 |" in report.stdout
    assert len(read_records(out)) == 6  # a report runs nothing
    finished = cli(*eval_args(out, gsm8k_slice, "--limit", "3"), env=env)
    assert finished.returncode == 0 and "6 already done, 0 to run" in finished.stderr
    resumed = json.loads((out / "run.json").read_text())
    assert resumed["resumed"] == [{"date": info["date"], "machine": info["machine"], "commit": info["commit"]}]
    assert {k: v for k, v in resumed.items() if k != "resumed"} == info  # the first session's record is kept
    empty = cli("report", str(tmp_path / "empty"))
    assert empty.returncode == 2 and empty.stderr.startswith("error: ") and "holds no finished runs" in empty.stderr

    changed = cli(*eval_args(out, gsm8k_slice, "--n", "2"), env=env)
    assert changed.returncode == 2 and "holds a run with other settings" in changed.stderr


def test_eval_offset_runs_problems_outside_the_first_ones(tmp_path, tiny_presets_file, gsm8k_slice):
    """`--offset 2` skips the first two rows; the problem keeps its row number, so it never mixes with row 0."""
    env = {"GSI_PRESETS_FILE": tiny_presets_file}
    done = cli(*eval_args(tmp_path / "run", gsm8k_slice, "--offset", "2", "--limit", "1", "--max-steps", "1"), env=env)
    assert done.returncode == 0, done.stderr
    third = load_problems("gsm8k", gsm8k_slice)[2]
    assert {(r.problem_id, r.gold) for r in read_records(tmp_path / "run")} == {(third.id, third.gold)} and third.id == "2"
    refused = cli(*eval_args(tmp_path / "other", gsm8k_slice, "--offset", "-1"), env=env)
    assert refused.returncode == 2 and "--offset must be at least 0" in refused.stderr


def test_only_a_session_that_adds_runs_is_named_resumed(tmp_path, tiny_presets_file, gsm8k_slice):
    """A resume whose models fail to load adds no `resumed` entry; the next one, which adds runs, adds one."""
    out = tmp_path / "run"
    first = cli(*eval_args(out, gsm8k_slice, "--limit", "1"), env={"GSI_PRESETS_FILE": tiny_presets_file})
    assert first.returncode == 0, first.stderr
    text = Path(tiny_presets_file).read_text()
    small = text.split("small: ", 1)[1].split("\n", 1)[0]
    broken = tmp_path / "presets.yaml"  # the same preset, its π_S moved away
    broken.write_text(text.replace(f"small: {small}\n", f"small: {tmp_path / 'gone'}\n", 1))
    failed = cli(*eval_args(out, gsm8k_slice, "--limit", "2"), env={"GSI_PRESETS_FILE": str(broken)})
    assert failed.returncode != 0 and "2 already done, 2 to run" in failed.stderr
    assert "resumed" not in json.loads((out / "run.json").read_text()) and len(read_records(out)) == 2
    added = cli(*eval_args(out, gsm8k_slice, "--limit", "2"), env={"GSI_PRESETS_FILE": tiny_presets_file})
    assert added.returncode == 0, added.stderr
    assert len(json.loads((out / "run.json").read_text())["resumed"]) == 1 and len(read_records(out)) == 4


def test_eval_over_seeds_reports_their_spread_and_the_paired_differences(tmp_path, tiny_presets_file, gsm8k_slice):
    env = {"GSI_PRESETS_FILE": tiny_presets_file}
    out = tmp_path / "run"
    done = cli(*eval_args(out, gsm8k_slice, "--limit", "1", "--max-steps", "2", "--seeds", "0,1"), env=env)
    assert done.returncode == 0, done.stderr
    assert sorted(r.key for r in read_records(out)) == sorted(("0", m, s) for m in ("gsi", "sbon-big") for s in (0, 1))
    assert "| gsi | 1 × 2 |" in done.stdout and "| sbon-big | 1 | 2 |" in done.stdout
    assert "95% bootstrap interval" in (out / "summary.md").read_text()
    both = cli(*eval_args(out, gsm8k_slice, "--seed", "0", "--seeds", "0,1"), env=env)
    assert both.returncode == 2 and "give --seed or --seeds, not both" in both.stderr
    repeated = cli(*eval_args(out, gsm8k_slice, "--seeds", "1,1"), env=env)
    assert repeated.returncode == 2 and "one or more different seeds" in repeated.stderr


def test_a_directory_saved_before_seeds_and_the_n_split_still_resumes(tmp_path):
    """Its run.json has no n_small, n_big, reward_floor or step_delimiter (they reproduce what it did) and seed 0 in
    its settings."""
    directory = RunDirectory(tmp_path / "old")
    old = {"n": 4, "beta": 20.0, "threshold": 0.5, "rsd_threshold": 0.7, "temperature": 0.7, "max_steps": 45,
           "max_step_tokens": 160, "seed": 0, "system_prompt": "s"}
    directory.open({"settings": {"dataset": "gsm8k", "preset": "p", "config": old}})
    new = {**old, "n_small": None, "n_big": None, "reward_floor": None, "seed": 1, "step_delimiter": "blank-line"}
    directory.open({"settings": {"dataset": "gsm8k", "preset": "p", "config": new}})  # accepted
    for changed in ({"n_big": 8}, {"step_delimiter": "line"}):
        with pytest.raises(ValueError, match="other settings"):
            directory.open({"settings": {"dataset": "gsm8k", "preset": "p", "config": {**new, **changed}}})


def test_a_run_on_vllm_servers_is_never_resumed_in_process(tmp_path, tiny_presets_file, gsm8k_slice):
    env = {"GSI_PRESETS_FILE": tiny_presets_file}
    out = tmp_path / "run"
    served = cli(*eval_args(out, gsm8k_slice, "--backend", "vllm", "--small-url", "http://127.0.0.1:9",
                            "--big-url", "http://127.0.0.1:9"), env=env)
    assert served.returncode == 1 and "cannot reach vLLM at http://127.0.0.1:9" in served.stderr
    info = json.loads((out / "run.json").read_text())
    assert info["settings"]["backend"] == "vllm" and info["models"]["big"]["url"] == "http://127.0.0.1:9"
    local = cli(*eval_args(out, gsm8k_slice), env=env)
    assert local.returncode == 2 and "holds a run with other settings" in local.stderr


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "kill"])
def test_an_interrupted_run_keeps_every_finished_pair(stop, tmp_path, tiny_presets_file, gsm8k_slice):
    out = tmp_path / "run"
    args = eval_args(out, gsm8k_slice, "--max-steps", "8", "--max-step-tokens", "16")
    process = subprocess.Popen([sys.executable, "-m", "gsi_core", *args], cwd=REPO, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env={**__import__("os").environ, "GSI_PRESETS_FILE": tiny_presets_file})
    results = out / "results.jsonl"
    deadline = time.monotonic() + 240
    while not (results.exists() and results.read_text().count("\n") >= 1) and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(stop)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "Run the same command to resume" in stderr
    saved = read_records(out)
    assert 1 <= len(saved) < 6 and Path(results).read_text().endswith("\n")
    resumed = cli(*args, env={"GSI_PRESETS_FILE": tiny_presets_file})
    assert resumed.returncode == 0, resumed.stderr
    assert f"{len(saved)} already done, {6 - len(saved)} to run" in resumed.stderr
    keys = [r.key for r in read_records(out)]
    assert len(keys) == len(set(keys)) == 6


class RecordedProgress(EvalProgress):
    """What run_eval reported; `stop_at` sends this process SIGINT at that (problem, method)'s first event."""

    def __init__(self, stop_at=None):
        self.plans, self.records, self.stop_at = [], [], stop_at

    def planned(self, directory, problems, methods, seeds, done, todo):
        self.plans.append((problems, methods, seeds, done, todo))

    def advanced(self, problem, method, run):
        if (problem.id, method) == self.stop_at:
            os.kill(os.getpid(), signal.SIGINT)

    def recorded(self, record):
        self.records.append(record.key)


def test_run_eval_resumes_and_stops_in_process(tmp_path, tiny_presets_file, gsm8k_slice):
    preset = get_preset("tiny", tiny_presets_file)
    problems = load_problems("gsm8k", gsm8k_slice)
    out, methods = tmp_path / "run", ["gsi", "sbon-big"]

    def run(count, progress, seeds=None):
        return run_eval(out, "gsm8k", problems[:count], methods, preset, preset.decoding, "eval test", progress, seeds)

    first = RecordedProgress()
    assert run(1, first) is True
    assert first.plans == [(1, 2, 1, 0, 2)] and first.records == [("0", "gsi", 0), ("0", "sbon-big", 0)]
    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    stopped = RecordedProgress(stop_at=("1", "sbon-big"))
    assert run(2, stopped) is False  # a signal ends the session; the pair in flight is dropped
    assert stopped.plans == [(2, 2, 1, 2, 2)] and stopped.records == [("1", "gsi", 0)]
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == handlers  # restored
    resumed = RecordedProgress()
    assert run(2, resumed) is True and resumed.plans == [(2, 2, 1, 3, 1)] and resumed.records == [("1", "sbon-big", 0)]
    assert [r.key for r in read_records(out)] == [(p, m, 0) for p in ("0", "1") for m in methods]
    info = json.loads((out / "run.json").read_text())
    assert info["command"] == "eval test" and len(info["resumed"]) == 2
    done = RecordedProgress()
    assert run(2, done) is True and done.plans == [(2, 2, 1, 4, 0)] and done.records == []
    more = RecordedProgress(stop_at=("0", "sbon-big"))  # a second seed added later, stopped in its first problem
    assert run(1, more, seeds=[0, 5]) is False and more.plans == [(1, 2, 2, 2, 2)] and more.records == [("0", "gsi", 5)]
    rest = RecordedProgress()
    assert run(1, rest, seeds=[0, 5]) is True and rest.records == [("0", "sbon-big", 5)]
    assert len({r.key for r in read_records(out)}) == 6
    with pytest.raises(ConfigError, match=r"unknown method\(s\) \['nope'\]"):
        run_eval(out, "gsm8k", problems, ["nope"], preset, preset.decoding, "eval test")


def test_a_run_decoded_on_int8_weights_is_never_resumed_on_the_loaded_weights(tmp_path):
    """Int8 decoding changes latency, so a directory names the roles it decoded on int8 and a resume must match."""
    preset = get_preset("offline-cpu")
    assert preset.small.int8_decode and preset.big.int8_decode
    directory = RunDirectory(tmp_path / "run")
    directory.open(run_info("eval", "gsm8k", preset, {"n": 4}))
    assert json.loads((directory.path / "run.json").read_text())["settings"]["int8_decode"] == ["small", "big"]
    plain = dataclasses.replace(preset, small=dataclasses.replace(preset.small, int8_decode=False),
                                big=dataclasses.replace(preset.big, int8_decode=False))
    with pytest.raises(ValueError, match="other settings"):
        directory.open(run_info("eval", "gsm8k", plain, {"n": 4}))
    assert "int8_decode" not in run_info("eval", "gsm8k", plain, {"n": 4})["settings"]


def test_a_run_names_its_reward_and_is_never_resumed_with_another(tmp_path):
    """A preset's reward can change (or `--reward` overrides it), so a directory records the reward it scored
    with, the calibrated verifier with its weights, and a resume must match; a run saved without the key used
    the step verifier."""
    preset = get_preset("offline-cpu")
    verifier = RewardSpec.from_config("step-verifier")
    calibrated = RewardSpec.from_config("calibrated-verifier")
    directory = RunDirectory(tmp_path / "run")
    directory.open(run_info("eval", "gsm8k", preset, {"n": 4}, calibrated))
    recorded = json.loads((directory.path / "run.json").read_text())["settings"]["reward"]
    assert recorded == {"kind": "calibrated-verifier", "weights": list(CALIBRATED_WEIGHTS)}
    directory.open(run_info("eval", "gsm8k", preset, {"n": 4}, calibrated))  # the same reward resumes
    for other in (verifier, RewardSpec.from_config({"kind": "calibrated-verifier", "weights": [0.0] * 9})):
        with pytest.raises(ValueError, match="other settings"):
            directory.open(run_info("eval", "gsm8k", preset, {"n": 4}, other))
    older = RunDirectory(tmp_path / "older")  # saved before runs named their reward
    older.open(run_info("eval", "gsm8k", preset, {"n": 4}))
    older.open(run_info("eval", "gsm8k", preset, {"n": 4}, verifier))
    with pytest.raises(ValueError, match="other settings"):
        older.open(run_info("eval", "gsm8k", preset, {"n": 4}, calibrated))
    assert "reward calibrated-verifier" in describe(json.loads((directory.path / "run.json").read_text()))
