"""`python -m gsi_core bench` on tiny models: every measure present and coherent, JSON written with its provenance."""

import json
import statistics

import pytest
import torch

from gsi_core.bench import ForwardClock, TimedReward, cpu_flags
from gsi_core.cost_model import TokenCosts, Workload, break_even_acceptance, floor_ratio
from gsi_core.provenance import cpu_fields, vector_extensions

from support import cli


def test_forward_clock_counts_only_forward_time(small):
    clock = ForwardClock([small.model])
    ids = torch.tensor([[1, 2, 3]], device=small.device)
    with clock.running():
        small.model(input_ids=ids)
    counted = clock.seconds
    small.model(input_ids=ids)  # outside: not counted, and the hooks are gone
    assert counted > 0 and clock.seconds == counted and not small.model._forward_hooks


def test_timed_reward_gives_the_same_scores(verifier):
    timed = TimedReward(verifier)
    steps = ["3 + 4 = 7\n\n", "3 + 4 = 8\n\n"]
    assert timed.score_candidates("q", [], steps) == verifier.score_candidates("q", [], steps)
    assert timed.seconds > 0 and timed.name == verifier.name


def test_bench_prints_ratios_and_writes_json(tmp_path, tiny_presets_file):
    out = tmp_path / "bench.json"
    done = cli("bench", "--preset", "tiny", "--problems", "1", "--steps", "2", "--out", str(out),
               env={"GSI_PRESETS_FILE": tiny_presets_file})
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    assert result["command"].startswith("python -m gsi_core bench --preset tiny") and result["date"] and result["machine"]
    assert result["preset"] == "tiny" and set(result["models"]) == {"small", "big", "reward"}
    overhead = result["headline"]["overhead"]
    assert 0 < overhead["forwards"] < overhead["wall"] and 0 <= overhead["share"] < 1
    growth = result["prefix_growth"]
    assert growth["prefix_tokens"]["20"] > growth["prefix_tokens"]["1"] + 100
    assert set(result["batching"]["seconds"]) == {"1", "4", "16"}
    assert result["headline"]["totals"]["gsi"]["steps"] <= 2 and result["headline"]["wall_ratio"] > 0
    assert "| engine overhead" in done.stdout and "GSI / sbon-big wall time" in done.stdout
    assert done.stdout == result["table"] + "\n"
    int8 = result["int8_decoding"]  # the tiny preset has int8 decoding off: the bench builds the decoders
    assert int8["cpu"]["torch_cpu_capability"] and 0 < int8["rss_loaded_gib"] <= int8["peak_rss_gib"]
    assert set(vector_extensions(cpu_fields().get("flags", ""))) <= set(int8["cpu"]["flags"])  # one reading of the CPU
    for mode in ("off", "on"):
        assert set(int8[mode]["drafting"]) == {"small", "big"} and int8[mode]["scoring"] > 0
        assert int8[mode]["vs_generate"]["small"] == int8[mode]["drafting"]["small"] / int8[mode]["generate"]["small"]
        assert int8[mode]["headline"]["totals"]["gsi"]["steps"] <= 2
    # Off, the loaded weights drafted: the drafts' log-probs match the same weights scoring them up to the
    # rounding of a one-token decoding forward against a prefill, which bf16 (loaded natively on CPUs with
    # AVX512-BF16/AMX, or forced with GSI_CPU_DTYPE) makes larger than fp32; on, the int8 copy drafted.
    rounding = {"float32": 1e-4, "bfloat16": 0.05}
    for role in ("small", "big"):
        off, on = int8["off"]["vs_loaded_weights"][role], int8["on"]["vs_loaded_weights"][role]
        assert off["token_max"] < rounding[int8["dtype"][role]], (role, int8["dtype"][role], off)
        assert 0 < on["token_max"] < 0.5 and off["token_mean"] < on["token_mean"], (role, off, on)
    assert "int8 on: π_S drafting per token / plain `generate`" in done.stdout


def test_bench_runs_only_the_measures_asked_for(tmp_path, tiny_presets_file):
    out = tmp_path / "bench.json"
    done = cli("bench", "--preset", "tiny", "--steps", "1", "--problems", "1", "--measures", "batching",
               "--out", str(out), env={"GSI_PRESETS_FILE": tiny_presets_file})
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    assert "batching" in result and not {"headline", "prefix_growth", "int8_decoding"} & set(result)
    assert "batching: drafting n = 4" in done.stdout and "GSI / sbon-big" not in done.stdout
    refused = cli("bench", "--preset", "tiny", "--measures", "speed", env={"GSI_PRESETS_FILE": tiny_presets_file})
    assert refused.returncode == 2 and refused.stderr.startswith("error: --measures takes a comma-separated list")


def test_bench_times_one_decoding_forward_per_width_on_both_weight_copies(tmp_path, tiny_presets_file):
    out = tmp_path / "bench.json"
    done = cli("bench", "--preset", "tiny", "--measures", "int8_width", "--out", str(out),
               env={"GSI_PRESETS_FILE": tiny_presets_file})
    assert done.returncode == 0, done.stderr
    width = json.loads(out.read_text())["int8_width"]
    for role in ("small", "big"):
        assert set(width[role]["off"]) == set(width[role]["on"]) == {"1", "4", "16"}
        assert all(seconds > 0 for mode in ("off", "on") for seconds in width[role][mode].values())
    assert "one decoding forward of π_B, 16 rows: int8 / loaded weights" in done.stdout


def test_bench_refuses_zero_problems(tiny_presets_file):
    done = cli("bench", "--preset", "tiny", "--problems", "0", env={"GSI_PRESETS_FILE": tiny_presets_file})
    assert done.returncode == 2 and done.stderr.startswith("error: --problems and --steps must be at least 1")


def test_bench_refuses_a_preset_served_by_vllm():
    done = cli("bench", "--preset", "paper-vllm")
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
    assert done.stderr.startswith("error: preset paper-vllm serves its models on vLLM") and "measure_vllm_step" in done.stderr


def test_bench_measures_costs_and_the_economics_they_make(tmp_path, tiny_presets_file):
    out = tmp_path / "bench.json"
    done = cli("bench", "--preset", "tiny", "--measures", "costs", "--problems", "1", "--steps", "3",
               "--out", str(out), env={"GSI_PRESETS_FILE": tiny_presets_file})
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    costs = result["costs"]
    token_costs = TokenCosts.from_dict(costs["token_costs"])
    assert token_costs.to_dict() == costs["token_costs"] and all(v >= 0 for v in costs["token_costs"].values())
    assert token_costs.small_decode > 0 and token_costs.big_decode > 0
    assert token_costs.scoring_call_seconds(64) > 0 and costs["measured"]["scoring_call_seconds"]["64"] > 0
    # each decoding cost is the median of the recorded iterations, batched and of one row
    iterations = costs["measured"]["big_decode_iteration_seconds"]
    assert len(iterations["1"]) == 5 and token_costs.big_decode_single == statistics.median(iterations["1"])
    assert token_costs.big_decode == pytest.approx(statistics.median(iterations[str(costs["n_big"])]) / costs["n_big"])
    work = Workload(costs["n_small"], costs["n_big"], costs["tokens"], costs["recomputed_per_committed_token"]["small"],
                    costs["recomputed_per_committed_token"]["big"])
    assert costs["floor_ratio"] == pytest.approx(floor_ratio(token_costs, work))
    assert costs["break_even_acceptance"] == break_even_acceptance(token_costs, work)
    assert costs["ratio_by_acceptance"]["1.0"] == pytest.approx(costs["floor_ratio"])
    n_small, n_big = costs["n_small"], costs["n_big"]
    assert {(w["n_small"], w["n_big"]) for w in costs["widths"]} >= {(2, n_big), (n_small, 2 * n_big)}
    assert costs["gpu_like"]["floor_ratio"] < costs["floor_ratio"] or token_costs.big_scoring <= 0.1 * token_costs.big_decode
    # K/V kept: no committed token computed twice; switched off, most of them are
    assert costs["recomputed_per_committed_token"] == {"small": 0.0, "big": 0.0}
    before = costs["recomputation_without_kept_kv"]["recomputed_per_committed_token"]
    assert before["big"] > 0.5 and costs["recomputation"]["committed_tokens"] > 0
    assert costs["prefix_copy"]["deepcopy_seconds"] > 0 and costs["cpu"]["flags"] == cpu_flags()["flags"]
    assert "tokens computed again per committed token" in done.stdout and done.stdout == result["table"] + "\n"
