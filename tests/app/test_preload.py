"""The warm start's loader on its own: one load per process whoever waits, its stages on the page, and a failed
load shown to those who waited and tried again by the next caller."""

import threading

import gradio as gr
import pytest

from gsi_core.progress import report
from gsi_ui.preload import BackgroundLoader


def test_waiters_see_the_stages_then_a_failure_and_the_next_caller_loads_again():
    release, calls = threading.Event(), []

    def load():
        calls.append(len(calls))
        report("joining parts", "model-a", 0.5)
        assert release.wait(timeout=30)
        if len(calls) == 1:
            raise OSError("part 3 is not installed")
        return "parts"

    loader = BackgroundLoader(load)
    assert loader.status() == "Models load on the first run." and not loader.loading
    waiting = loader.waiting()
    first = next(waiting)
    while "joining" not in first:  # the stage reaches the waiter once the load reports it
        first = next(waiting)
    assert first.startswith("joining parts — model-a: 50% (") and loader.status().startswith("**Loading models** — ")
    release.set()
    with pytest.raises(gr.Error, match="Models failed to load — part 3 is not installed"):
        list(waiting)
    assert loader.status() == "**Models failed to load** — part 3 is not installed" and not loader.loading
    assert loader.get() == "parts" and loader.get() == "parts" and calls == [0, 1]  # tried again once, then kept
    assert loader.status().startswith("**Models loaded** in ") and list(loader.waiting()) == []
