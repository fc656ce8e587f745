"""Helpers every test layer shares: the CLI as a user runs it, the real app on 127.0.0.1, and saved records."""

import os
import subprocess
import sys
import threading

from gsi_core.evaluation import Record
from gsi_core.models import TransformersStepModel

from testkit.tiny import REPO


def cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "gsi_core", *args], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=300)


def launch(preset: str, presets_file: str, results_dirs=()):
    import app

    previous = os.environ.get("GSI_PRESETS_FILE")
    os.environ["GSI_PRESETS_FILE"] = presets_file
    try:
        demo = app.build_demo(preset, results_dirs)
    finally:
        os.environ.pop("GSI_PRESETS_FILE") if previous is None else os.environ.update(GSI_PRESETS_FILE=previous)
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True, css=app.CSS)
    return demo


class HoldBeforeStep:
    """Holds every transformers run before it drafts step `step` until the test releases it, so what a test does
    "while the run goes on" happens then however fast the machine is (a tiny run of 45 steps took 25 s on one CI
    machine). The app runs in the test's process (`launch`), so patching the model class reaches it."""

    def __init__(self, step: int, monkeypatch):
        self.step, self.held, self.released = step, threading.Event(), threading.Event()
        draft = TransformersStepModel.draft

        def held_draft(model, prompt, steps, *args, **kwargs):
            if len(steps) + 1 >= self.step:
                self.held.set()
                self.released.wait(timeout=300)
            return draft(model, prompt, steps, *args, **kwargs)

        monkeypatch.setattr(TransformersStepModel, "draft", held_draft)


def record(problem, method, correct, wall, flops=1.0, accepted=0, fallbacks=0, seed=0):
    return Record(dataset="gsm8k", problem_id=problem, method=method, seed=seed, prediction="1", gold="1",
                  correct=correct, stop_reason="answer", steps=accepted + fallbacks or 1, accepted=accepted,
                  fallbacks=fallbacks, tokens_small=0, tokens_big=0, tokens_scored_big=0, flops=flops, wall_time=wall,
                  stage_times={"drafting": wall, "reward": 0.0, "scoring": 0.0, "fallback": 0.0})
