"""The real app on 127.0.0.1 with tiny local models, driven through gradio_client."""

import json
import re
import os
import time

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from support import HoldBeforeStep, launch

PROBLEM = "Natalia sold 48 clips in April and half as many in May. How many clips did she sell?"


@pytest.fixture
def client(tiny_app):
    return Client(tiny_app.local_url, verbose=False)


def run_args(problem=PROBLEM, method="gsi", n=3, beta=20, u=0.5, temperature=0.7, seed=0, max_steps=3, n_big=None):
    """The Explore run's inputs in order; n is n_small, and n_big too unless given."""
    return (problem, method, n, n if n_big is None else n_big, beta, u, temperature, seed, max_steps)


def events_of(export_path) -> list[dict]:
    with open(export_path) as lines:
        return [json.loads(line) for line in lines]


def test_a_run_streams_step_by_step_and_ends_with_complete_events(client):
    job = client.submit(*run_args(), api_name="/run")
    job.result(timeout=120)
    updates = job.outputs()
    assert len(updates) >= 3  # loading, then one update per step, then the summary
    statuses = [u[4] for u in updates]
    assert statuses[0].startswith("Loading") and any(s.startswith("**Running** — step 1") for s in statuses)
    assert statuses[-1].startswith("**Done**")
    events = events_of(updates[-1][5])
    assert [e["type"] for e in events][0] == "start" and events[-1]["type"] == "summary"
    steps = [e for e in events if e["type"] == "step"]
    assert len(steps) == events[-1]["steps"] >= 1 and all(len(s["candidates"]) == 3 for s in steps)
    assert all(s["text"].strip()[:10] in updates[-1][0] or not s["text"].strip() for s in steps[:1])
    # the per-step chart is a Plotly figure with the reward and weight bars of the last step
    plot = json.loads(updates[-1][1]["plot"])
    assert {trace["name"] for trace in plot["data"]} >= {"reward r", "selection weight", "tilted reward r̃"}


@pytest.mark.parametrize(
    "args, message",
    [
        (run_args(problem="   "), "The problem is empty"),
        (run_args(problem="x" * 100_000), "100,000 characters long"),
        # sliders refuse out-of-range values themselves, naming the bound
        (run_args(n=0), "Value 0 is less than minimum value 1"),
        (run_args(n=500), "Value 500 is greater than maximum value 32"),
        (run_args(n_big=0), "Value 0 is less than minimum value 1"),
        (run_args(beta=-1), "Value -1 is less than minimum value 0"),
        (run_args(u=7), "Value 7 is greater than maximum value 1.5"),
        (run_args(seed=-3), "seed must be a whole number from 0"),
        (run_args(method="best"), "Value: 'best' .* is not in the list of choices"),
    ],
)
def test_bad_input_gets_a_clear_message_and_the_app_keeps_serving(client, args, message):
    with pytest.raises(AppError, match=message):
        client.predict(*args, api_name="/run")
    assert client.predict(*run_args(max_steps=1), api_name="/run")[4].startswith("**Done**")


def test_n_small_n_big_and_the_step_delimiter_reach_the_engine(client):
    finished = client.predict(*run_args(n=2, n_big=4, u=1.5, max_steps=1), "line", api_name="/run")  # u above any r̃
    start, step = events_of(finished[5])[:2]
    assert (start["config"]["n_small"], start["config"]["n_big"], start["config"]["step_delimiter"]) == (2, 4, "line")
    assert len(step["candidates"]) == 2 and len(step["fallback"]) == 4
    assert all("\n" not in "".join(c["token_texts"][:-1]) for c in step["candidates"])  # one line per step
    _, _, table, _ = client.predict(["sample-small"], PROBLEM, 2, 2, 20, 0.5, 0.7, 0, 1, "line", api_name="/compare")
    assert len(table["data"]) == 1  # Compare takes it too; a call without it keeps the preset's (the other tests)


def test_replaying_an_export_shows_the_same_run_without_models(client):
    finished = client.predict(*run_args(seed=3), api_name="/run")
    replayed = client.predict(handle_file(finished[5]), api_name="/replay")
    assert replayed[0] == finished[0] and replayed[4].startswith("**Done**")
    assert events_of(replayed[5]) == events_of(finished[5])


def test_compare_runs_each_method_and_reports_the_latency_ratio(client):
    job = client.submit(["gsi", "sbon-big", "rsd"], *run_args()[:1], 3, 3, 20, 0.5, 0.7, 0, 2, api_name="/compare")
    progress, ratio, table, _ = job.result(timeout=180)
    assert progress.startswith("**Done** — 3 of 3 methods finished")
    # a race: the progress line names each method (and step) in flight, rows arrive one method at a time
    lines = [update[0] for update in job.outputs()]
    assert any(line.startswith("**Running sbon-big** (2 of 3) — step 1 done") for line in lines)
    row_counts = [len(update[2]["data"]) for update in job.outputs() if update[2] and "data" in update[2]]
    assert {1, 2, 3} <= set(row_counts)
    assert re.search(r"GSI took \*\*\d+\.\d\d×\*\* the wall time of soft best-of-n with π_B", ratio)
    assert [row[0] for row in table["data"]] == ["gsi", "sbon-big", "rsd"]
    assert all(row[-1] == "–" for row in table["data"])  # a typed problem has no gold answer


def test_compare_grades_an_example_against_its_gold_answer(client):
    from gsi_ui.runs import load_examples

    example = load_examples()[0]
    _, _, table, _ = client.predict(["sample-small"], example.question, 3, 3, 20, 0.5, 0.7, 0, 1, api_name="/compare")
    row = table["data"][0]
    assert row[-1] in ("yes", "no") if row[-2] != "–" else row[-1] == "no"


def test_compare_shows_a_saved_benchmark_run_with_where_and_when_it_was_measured(client, tiny_results_dir):
    from gsi_core.evaluation import RunDirectory
    from support import record

    directory = RunDirectory(tiny_results_dir / "gsm8k-test-run")  # saved after start-up: found by name
    directory.open({"settings": {"dataset": "gsm8k", "preset": "tiny", "config": {"n": 3, "beta": 20.0, "max_steps": 3}},
                    "machine": "Test CPU, 2 cores", "date": "2026-01-02"})
    for problem, correct in (("0", True), ("1", False)):
        directory.append(record(problem, "sbon-big", correct, 10.0))
        directory.append(record(problem, "gsi", True, 6.0, accepted=2, fallbacks=1))
    text, chart = client.predict("gsm8k-test-run", api_name="/saved_run")
    assert "gsm8k · preset tiny · n=3" in text and "measured 2026-01-02 on Test CPU, 2 cores" in text
    assert "| gsi | 2 × 1 | 100.0% | – | 0.0% | 6.0 | 6.0 | 0.60 |" in text and "| sbon-big | 2 × 1 | 50.0% | – | 35.4% |" in text
    assert "| sbon-big | 2 | 2 | -50.0% |" in text  # paired against gsi
    assert chart is not None
    missing, _ = client.predict("no-such-run", api_name="/saved_run")
    assert missing.startswith("No saved run by that name")


def test_compare_shows_a_saved_frontier_as_its_figure_and_table(client, tiny_results_dir):
    import shutil

    from testkit.tiny import REPO

    shutil.copytree(REPO / "tests" / "data" / "frontier-tiny", tiny_results_dir / "frontier-tiny")  # after start-up
    text, chart = client.predict("frontier-tiny", api_name="/saved_run")
    assert text.startswith("**Frontier of gsm8k · preset tiny · 3 GSI points · commit ")
    assert "3 GSI points take" in text and "| sv-u0.3 | step-verifier | threshold=0.3 | 2 × 2 |" in text
    assert "| sbon-big · calibrated-verifier · n=3 |" in text and "measured 20" in text
    plot = json.loads(chart["plot"])
    assert {trace["name"] for trace in plot["data"]} >= {"gsi · step-verifier", "sbon-big · step-verifier",
                                                          "Pareto set"}
    assert "GSI's frontier" in plot["layout"]["title"]["text"]


def test_stop_cancels_the_run_and_frees_the_worker(tiny_presets_file):
    demo = launch("tiny-long", tiny_presets_file)
    try:
        client = Client(demo.local_url, verbose=False)
        client.predict(*run_args(max_steps=1, n=2), api_name="/run")  # load the models first
        job = client.submit(*run_args(n=16, max_steps=45), api_name="/run")
        while len(job.outputs()) < 2:  # wait until the run is stepping
            time.sleep(0.05)
        job.cancel()
        cancelled_at = time.perf_counter()
        while not job.done():
            time.sleep(0.05)
        assert job.status().code.name == "CANCELLED"
        assert not job.outputs()[-1][4].startswith("**Done**")
        # the worker is free again: a short run goes through at once, not after the 45-step run
        client.predict(*run_args(max_steps=1, n=2), api_name="/run")
        assert time.perf_counter() - cancelled_at < 5.0
    finally:
        demo.close()


def test_stop_ends_a_comparison_between_steps_and_keeps_the_finished_rows(tiny_presets_file):
    demo = launch("tiny-long", tiny_presets_file)
    try:
        client = Client(demo.local_url, verbose=False)
        client.predict(*run_args(max_steps=1, n=2), api_name="/run")  # load the models first
        job = client.submit(["sample-small", "gsi", "sbon-big"], PROBLEM, 16, 16, 20, 0.5, 0.7, 0, 45, api_name="/compare")
        while not any(update[0].startswith("**Running gsi** (2 of 3) — step 1 done") for update in job.outputs()):
            assert not job.done(), job.outputs()[-1][0]
            time.sleep(0.05)
        job.cancel()
        while not job.done():
            time.sleep(0.05)
        assert job.status().code.name == "CANCELLED"
        last = job.outputs()[-1]
        assert [row[0] for row in last[2]["data"]] == ["sample-small"]  # the finished method's row stays
        assert not any(update[0].startswith("**Done**") for update in job.outputs())
        assert client.predict(*run_args(max_steps=1, n=2), api_name="/run")[4].startswith("**Done**")  # worker free
    finally:
        demo.close()


def test_a_step_is_inspected_while_the_run_goes_on(tiny_presets_file, monkeypatch):
    """The inspector's list grows with every step; picking one mid-run answers at once and the run streams on."""
    hold = HoldBeforeStep(3, monkeypatch)  # a run waits before drafting step 3 until released
    demo = launch("tiny-long", tiny_presets_file)
    try:
        # a loaded shared CPU can take more than httpx's default 5 s to answer while the run computes
        client = Client(demo.local_url, verbose=False, httpx_kwargs={"timeout": 120})
        client.predict(*run_args(max_steps=1, n=2), api_name="/run")  # load the models first
        job = client.submit(*run_args(n=4, u=1.5, max_steps=45), api_name="/run")  # u above any r̃: all rejected
        assert hold.held.wait(timeout=120), "the run never reached step 3"
        while len(job.outputs()) < 3:  # the start, then two steps decided
            time.sleep(0.05)
        live = job.outputs()[-1]
        assert live[4].startswith("**Running** — step 2") and "2 rejected (step 1, 2)" in live[8]
        explanation, tokens, plot, summary, drafts, fallback = client.predict(1, api_name="/inspect")
        assert not job.done()
        assert explanation.startswith("Draft #") and "**rejected**" in explanation
        assert summary.startswith("Step 2: 4 drafts") and len(drafts["data"]) == 4 and len(fallback["data"]) == 4
        assert tokens.count('class="gsi-draft"') == 4 and 'class="gsi-token" style="background:#' in tokens
        seen = len(job.outputs())
        hold.released.set()
        while len(job.outputs()) == seen and not job.done():  # the run streams on after the pick
            time.sleep(0.05)
        assert job.outputs()[-1][4].startswith("**Running** — step 3")
        job.cancel()
    finally:
        hold.released.set()
        demo.close()


def test_the_tilted_policy_lab_answers_a_slider_change_with_exact_figures(client):
    from gsi_core.theory import WORLDS, method_distributions

    world = "draft misses a good step"
    bars, curves, text = client.predict(world, 20, 4, 0.5, 1, api_name="/tilted_policy")
    traces = {t["name"]: t["y"] for t in json.loads(bars["plot"])["data"]}
    exact = method_distributions(WORLDS[world], 20, 4, 0.5)
    assert traces["gsi"] == pytest.approx(list(exact["gsi"].distribution))
    assert "accepts 57% of steps" in text
    moved = client.predict(world, 20, 64, 0.5, 1, api_name="/tilted_policy")
    assert json.loads(moved[0]["plot"])["data"] != json.loads(bars["plot"])["data"]
    assert "accepts 100% of steps" in moved[2] or "accepts 99% of steps" in moved[2]


def test_two_visitors_never_see_each_others_runs(tiny_app):
    first, second = Client(tiny_app.local_url, verbose=False), Client(tiny_app.local_url, verbose=False)
    jobs = [first.submit(*run_args(problem="What is 2 + 2?"), api_name="/run"),
            second.submit(*run_args(problem="What is 3 * 3?"), api_name="/run")]
    exports = [events_of(job.result(timeout=120)[5]) for job in jobs]
    assert [e[0]["problem"] for e in exports] == ["What is 2 + 2?", "What is 3 * 3?"]
    assert jobs[0].result()[5] != jobs[1].result()[5]


def test_a_model_that_fails_to_load_is_named_in_the_page(tmp_path):
    path = tmp_path / "presets.yaml"
    path.write_text(f"presets:\n  broken:\n    small: {tmp_path / 'missing'}\n    big: {tmp_path / 'missing'}\n")
    demo = launch("broken", str(path))
    try:
        client = Client(demo.local_url, verbose=False)
        for args, endpoint in ((run_args(), "/run"), ((["gsi"], PROBLEM, 3, 3, 20, 0.5, 0.7, 0, 2), "/compare")):
            with pytest.raises(AppError, match=r"Models failed to load — π_S \("):
                client.predict(*args, api_name=endpoint)
    finally:
        demo.close()
