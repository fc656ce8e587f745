"""`python -m gsi_core bench --measures memory` on tiny models: peak RSS per stage of the app's default run."""

import json

from gsi_core.loading import auto_cpu_dtype

from support import cli


def test_bench_memory_reports_peak_rss_per_stage_of_the_default_run(tmp_path, tiny_presets_file):
    out = tmp_path / "bench.json"
    done = cli("bench", "--preset", "tiny", "--measures", "memory", "--out", str(out),
               env={"GSI_PRESETS_FILE": tiny_presets_file})
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    memory = result["memory"]
    peaks = memory["peak_rss_gib"]
    assert list(peaks) == ["models_loaded", "first_step", "whole_run"]
    assert 0.1 < peaks["models_loaded"] <= peaks["first_step"] <= peaks["whole_run"] < 64  # GiB: a process, sane
    assert 0 < memory["rss_after_gib"] <= peaks["whole_run"] + 0.01
    assert memory["problem"] == "gsm8k/0" and 1 <= memory["steps"] <= 3  # the tiny preset's step cap
    weights = memory["weights"]  # the tiny preset: π_S in the CPU's dtype, π_B in fp32, int8 decoding off
    assert weights["small"]["dtype"] == str(auto_cpu_dtype()).removeprefix("torch.")  # what auto loads here
    assert weights["big"]["dtype"] == "float32" and weights["big"]["int8_copy_gib"] is None
    assert 0 < weights["small"]["loaded_gib"] < weights["big"]["loaded_gib"] * 1.01
    assert {"batching", "headline", "int8_decoding"}.isdisjoint(result)
    assert "| peak RSS, whole run |" in done.stdout and done.stdout == result["table"] + "\n"
