"""Warm start on the real app with tiny models: with GSI_PRELOAD=1 the models load in the background from start-up,
the page says where loading stands, and a run pressed meanwhile waits with that status, then streams."""

import threading
import time

from gradio_client import Client
from transformers import AutoModelForCausalLM

import app  # noqa: F401  (its module-level demo is built here, without GSI_PRELOAD, before a test sets it)
from support import launch

PROBLEM = "Natalia sold 48 clips in April and half as many in May. How many clips did she sell?"


class HoldLoading:
    """Holds every causal LM's weights loading (the real `from_pretrained`, called once released) until the test
    releases it, so "during loading" lasts as long as the test needs on any machine."""

    def __init__(self, monkeypatch):
        self.held, self.released = threading.Event(), threading.Event()
        load = AutoModelForCausalLM.from_pretrained

        def held_load(*args, **kwargs):
            self.held.set()
            assert self.released.wait(timeout=300), "the test never released the load"
            return load(*args, **kwargs)

        monkeypatch.setattr(AutoModelForCausalLM, "from_pretrained", held_load)


def test_models_load_from_start_up_and_a_run_pressed_meanwhile_waits_then_streams(tiny_presets_file, monkeypatch):
    hold = HoldLoading(monkeypatch)
    monkeypatch.setenv("GSI_PRELOAD", "1")
    demo = launch("tiny", tiny_presets_file)
    try:
        assert hold.held.wait(timeout=60), "loading did not start with the app"
        client = Client(demo.local_url, verbose=False, httpx_kwargs={"timeout": 120})
        page_status, _ = client.predict(api_name="/load_status")
        assert page_status.startswith("**Loading models** — loading — ") and "small" in page_status
        job = client.submit(PROBLEM, "gsi", 3, 3, 20, 0.5, 0.7, 0, 2, api_name="/run")
        while not job.outputs():
            assert not job.done(), job.result()
            time.sleep(0.05)
        waiting = job.outputs()[0][4]
        assert waiting.startswith("Loading tiny: loading — ") and "small" in waiting
        assert not job.done()
        hold.released.set()
        job.result(timeout=120)
        statuses = [update[4] for update in job.outputs()]
        loading = [i for i, status in enumerate(statuses) if status.startswith("Loading tiny: ")]
        running = [i for i, status in enumerate(statuses) if status.startswith("**Running** — step")]
        assert loading[0] == 0 and running and loading[-1] < running[0]  # the run streams after loading, not before
        assert any(statuses[i].startswith("**Running** — step 1") for i in running)
        assert statuses[-1].startswith("**Done**")
        assert client.predict(api_name="/load_status")[0].startswith("**Models loaded** in ")
    finally:
        hold.released.set()
        demo.close()


def test_without_a_warm_start_the_page_says_models_load_on_the_first_run(tiny_presets_file, monkeypatch):
    monkeypatch.delenv("GSI_PRELOAD", raising=False)
    monkeypatch.delenv("SPACE_ID", raising=False)
    demo = launch("tiny", tiny_presets_file)
    try:
        client = Client(demo.local_url, verbose=False)
        assert client.predict(api_name="/load_status")[0] == "Models load on the first run."
        assert client.predict(PROBLEM, "gsi", 3, 3, 20, 0.5, 0.7, 0, 1, api_name="/run")[4].startswith("**Done**")
        assert client.predict(api_name="/load_status")[0].startswith("**Models loaded** in ")
    finally:
        demo.close()
