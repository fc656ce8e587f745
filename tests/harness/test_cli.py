"""`python -m gsi_core run` as a user runs it: a preset of local model directories, JSON lines out."""

import json

import pytest

from support import cli


def test_run_prints_one_event_per_line_summary_last(tiny_presets_file):
    done = cli("run", "--preset", "tiny", "--method", "gsi", "--problem", "What is 12 + 30?", "--seed", "3",
               "--beta", "10", env={"GSI_PRESETS_FILE": tiny_presets_file})
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert events[0]["type"] == "start" and events[-1]["type"] == "summary"
    assert events[0]["config"]["beta"] == 10.0 and events[0]["config"]["n"] == 3
    assert all(e["type"] == "step" and len(e["candidates"]) == 3 for e in events[1:-1])
    assert events[-1]["steps"] == len(events) - 2 <= 3


def test_run_takes_the_official_codes_n_small_n_big_and_a_reward_floor(tiny_presets_file):
    done = cli("run", "--preset", "tiny", "--method", "gsi", "--problem", "What is 12 + 30?", "--n_small", "2",
               "--n-big", "4", "--threshold", "9", "--max-steps", "1", "--reward-floor", "off", "--step-delimiter",
               "line", env={"GSI_PRESETS_FILE": tiny_presets_file})
    assert done.returncode == 0, done.stderr
    start, step = (json.loads(line) for line in done.stdout.splitlines()[:2])
    assert (start["config"]["n_small"], start["config"]["n_big"], start["config"]["reward_floor"]) == (2, 4, None)
    assert len(step["candidates"]) == 2 and len(step["fallback"]) == 4
    assert start["config"]["step_delimiter"] == "line"
    for drafted in step["candidates"]:  # each ends at its first line break, in its last token
        assert "\n" not in "".join(drafted["token_texts"][:-1])
        assert drafted["finish_reason"] != "step" or "\n" in drafted["token_texts"][-1]
    floored = cli("run", "--preset", "tiny", "--problem", "What is 12 + 30?", "--reward-floor", "1",
                  env={"GSI_PRESETS_FILE": tiny_presets_file})
    assert floored.returncode == 0, floored.stderr
    summary = json.loads(floored.stdout.splitlines()[-1])
    assert summary["stop_reason"] == "reward_floor" and summary["steps"] == 0


def test_run_with_a_process_reward_model(tiny_presets_file):
    done = cli("run", "--preset", "tiny-prm", "--method", "rsd", "--rsd-threshold", "0.4", "--threshold", "0.3",
               "--problem", "What is 2 + 2?", env={"GSI_PRESETS_FILE": tiny_presets_file})
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert events[0]["reward_model"].endswith("prm") and events[0]["config"]["rsd_threshold"] == 0.4
    assert events[0]["config"]["threshold"] == 0.3  # the same flags in every command: --threshold is u
    # the old form, --threshold as RSD's δ in `run --method rsd`, still works, and says what the flag is called now
    old = cli("run", "--preset", "tiny-prm", "--method", "rsd", "--threshold", "0.4", "--max-steps", "1",
              "--problem", "What is 2 + 2?", env={"GSI_PRESETS_FILE": tiny_presets_file})
    assert old.returncode == 0 and json.loads(old.stdout.splitlines()[0])["config"]["rsd_threshold"] == 0.4
    assert "--rsd-threshold is its name in every command" in old.stderr
    rewards = [c["reward"] for e in events[1:-1] for c in e["candidates"]]
    assert rewards and all(0.0 <= r <= 1.0 for r in rewards) and len(set(rewards)) > 1


@pytest.mark.parametrize(
    "args, reason",
    [
        (["--problem", "  "], "error: the problem is empty"),
        (["--problem", "x", "--n", "0"], "error: n must be a whole number from 1"),
        (["--problem", "x", "--beta", "-2"], "error: beta must be a finite number ≥ 0"),
        (["--problem", "x", "--method", "nope"], "error: argument --method: invalid choice: 'nope'"),
        (["--problem", "x", "--preset", "nope"], "error: unknown preset 'nope'"),
        (["--problem", "x", "--n", "many"], "error: argument --n: invalid int value"),
        (["--problem", "x", "--n-big", "0"], "error: n_big must be a whole number from 1"),
        (["--problem", "x", "--reward-floor", "low"], "error: argument --reward-floor: expected a number in [0, 1] or 'off'"),
        (["--problem", "x", "--backend", "vllm", "--small-url", "http://h:1"], "error: --backend vllm needs --big-url"),
        (["--problem", "x", "--backend", "tgi"], "error: argument --backend: invalid choice: 'tgi'"),
        (["--problem", "x", "--reward", "oracle"], "error: unknown reward kind 'oracle'"),
        (["--problem", "x", "--step-delimiter", "tab"], "error: argument --step-delimiter: invalid choice: 'tab'"),
    ],
)
def test_bad_arguments_exit_nonzero_with_one_line(args, reason, tiny_presets_file):
    done = cli("run", "--preset", "tiny", *args, env={"GSI_PRESETS_FILE": tiny_presets_file}) if "--preset" not in args \
        else cli("run", *args, env={"GSI_PRESETS_FILE": tiny_presets_file})
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith(reason) and len(done.stderr.strip().splitlines()) == 1


def test_a_model_that_does_not_load_says_which(tmp_path):
    path = tmp_path / "presets.yaml"
    path.write_text(f"presets:\n  broken:\n    small: {tmp_path / 'missing'}\n    big: {tmp_path / 'missing'}\n")
    done = cli("run", "--preset", "broken", "--problem", "x", env={"GSI_PRESETS_FILE": str(path)})
    assert done.returncode == 1 and done.stderr.strip().splitlines()[-1].startswith("error: π_S (")


def test_run_scores_with_the_reward_given_instead_of_the_presets(tiny_presets_file):
    done = cli("run", "--preset", "tiny", "--problem", "What is 12 + 30?", "--max-steps", "1",
               "--reward", "calibrated-verifier", env={"GSI_PRESETS_FILE": tiny_presets_file})
    assert done.returncode == 0, done.stderr
    start, step = (json.loads(line) for line in done.stdout.splitlines()[:2])
    assert start["reward_model"] == "calibrated-verifier"
    assert all(c["reward_reasons"] and 0 < c["reward"] < 1 for c in step["candidates"])  # a probability, with why


def test_a_bad_model_free_reward_fails_before_any_model_loads(tmp_path):
    path = tmp_path / "presets.yaml"
    path.write_text(f"presets:\n  broken:\n    small: {tmp_path / 'missing'}\n    big: {tmp_path / 'missing'}\n")
    done = cli("run", "--preset", "broken", "--problem", "x", "--reward", "{kind: calibrated-verifier, weights: [1]}",
               env={"GSI_PRESETS_FILE": str(path)})
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1].startswith("error: reward (") and "needs 9 weights" in done.stderr


def test_a_vllm_server_that_is_not_running_is_named(tiny_presets_file):
    done = cli("run", "--preset", "tiny", "--problem", "x", "--backend", "vllm", "--small-url", "http://127.0.0.1:9",
               "--big-url", "http://127.0.0.1:9", env={"GSI_PRESETS_FILE": tiny_presets_file})
    assert done.returncode == 1
    assert "error: π_S (" in done.stderr and "cannot reach vLLM at http://127.0.0.1:9" in done.stderr
    assert "is the server running?" in done.stderr
