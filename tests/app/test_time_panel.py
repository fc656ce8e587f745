""""Where the time goes" and the lab's cost side in the real app: their numbers come from the run's events and
the costs file the app was pointed at (GSI_COSTS_FILE, a small JSON written here standing in for the bench's)."""

import json
import os

import pytest
from gradio_client import Client, handle_file

from gsi_core.cost_model import TokenCosts, Workload, ratio
from gsi_core.theory import WORLDS, curves_against_n, shifted
from support import launch

TOKEN_COSTS = {"small_decode": 0.02, "big_decode": 0.05, "big_scoring": 0.01, "reward": 0.002,
               "small_commit": 0.001, "big_commit": 0.004}
PROBLEM = "Natalia sold 48 clips in April and half as many in May. How many clips did she sell?"


@pytest.fixture(scope="module")
def costs_app(tiny_presets_file, tmp_path_factory):
    path = tmp_path_factory.mktemp("costs") / "costs.json"
    path.write_text(json.dumps({"machine": "Panel Test CPU, 2 cores", "date": "2026-12-05",
                                "costs": {"token_costs": TOKEN_COSTS, "tokens": 12.5,
                                          "recomputed_per_committed_token": {"small": 0.5, "big": 0.25}}}))
    previous = os.environ.get("GSI_COSTS_FILE")
    os.environ["GSI_COSTS_FILE"] = str(path)
    try:
        demo = launch("tiny", tiny_presets_file)
        yield demo
    finally:
        demo.close()
        os.environ.pop("GSI_COSTS_FILE") if previous is None else os.environ.update(GSI_COSTS_FILE=previous)


def predicted_ratio(events: list[dict], costs: TokenCosts) -> float:
    """The cost model at the run's own acceptance, n_small, n_big and mean draft length, read from the export."""
    config, steps = events[0]["config"], [e for e in events if e["type"] == "step"]
    lengths = [c["num_tokens"] for s in steps for c in s["candidates"]]
    work = Workload(config["n_small"], config["n_big"], sum(lengths) / len(lengths), 0.5, 0.25)
    acceptance = sum(s["decision"] == "accepted" for s in steps) / len(steps)
    return ratio(costs, work, acceptance)


def test_the_panel_shows_the_runs_stages_and_the_cost_models_ratio(costs_app):
    client = Client(costs_app.local_url, verbose=False)
    finished = client.predict(PROBLEM, "gsi", 3, 2, 20, 0.5, 0.7, 0, 3, api_name="/run")
    events = [json.loads(line) for line in open(finished[5])]
    text, plot = client.predict(0.1, api_name="/where_time_goes")  # this visitor's run, from its session
    here, gpu = TokenCosts(**TOKEN_COSTS), TokenCosts(**TOKEN_COSTS).gpu_like(0.1)
    machine = next(line for line in text.split("\n") if line.startswith("- **On this machine**"))
    assert "Panel Test CPU, 2 cores" in machine and f"**{predicted_ratio(events, here):.2f}×**" in machine
    assert f"**{predicted_ratio(events, gpu):.2f}×**" in text.split("**As on a GPU**")[1]
    summary = events[-1]
    assert f"| drafting | π_S writes the drafts | {summary['timings']['drafting']:.2f} s |" in text
    assert f"π_S wrote {summary['tokens_small']:,}; π_B wrote {summary['tokens_big']:,}" in text
    assert {t["name"] for t in json.loads(plot["plot"])["data"]} >= {"this machine", "GPU-like", "this run, GPU-like"}
    # the slider reprices the GPU-like case, and only it
    moved, _ = client.predict(0.5, api_name="/where_time_goes")
    slower = TokenCosts(**TOKEN_COSTS).gpu_like(0.5)
    assert f"**{predicted_ratio(events, slower):.2f}×**" in moved.split("**As on a GPU**")[1]
    assert moved.split("**As on a GPU**")[0] == text.split("**As on a GPU**")[0]
    # a replayed export in another visitor's session shows the same panel
    other = Client(costs_app.local_url, verbose=False)
    assert other.predict(0.1, api_name="/where_time_goes")[0].startswith("Run a problem")
    other.predict(handle_file(finished[5]), api_name="/replay")
    assert other.predict(0.1, api_name="/where_time_goes")[0] == text


def test_the_labs_against_n_chart_carries_gsis_time_against_sbon_big(costs_app):
    client = Client(costs_app.local_url, verbose=False)
    world = "draft misses a good step"
    _, curves, text = client.predict(world, 20, 4, 0.5, 1, "GPU-like", api_name="/tilted_policy")
    series = next(t for t in json.loads(curves["plot"])["data"] if t["name"] == "GSI time ÷ sbon-big's (GPU-like)")
    points = curves_against_n(shifted(WORLDS[world], 1.0), 20.0, 0.5)
    gpu = TokenCosts(**TOKEN_COSTS).gpu_like(0.1)
    expected = [ratio(gpu, Workload(p.n, p.n, 12.5, 0.5, 0.25), p.exact["gsi"].acceptance) for p in points]
    assert series["y"] == pytest.approx(expected, rel=1e-9)
    assert f"At n = 4 GSI takes **{expected[2]:.2f}×**" in text and "steps of 12.5 tokens" in text
    _, here, _ = client.predict(world, 20, 4, 0.5, 1, "this machine", api_name="/tilted_policy")
    mine = next(t for t in json.loads(here["plot"])["data"] if t["name"] == "GSI time ÷ sbon-big's (this machine)")
    assert mine["y"] != series["y"]
